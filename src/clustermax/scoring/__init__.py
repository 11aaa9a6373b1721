"""Scoring: rubrics, hardware references, attestations and evaluation of a bundle into a tier.

Entry points for the engine and report stages (bundles are read by :mod:`clustermax.bundle.io`)::

    from clustermax.scoring import load_rubric, score_bundle, rubric_ref

    rubric = load_rubric(None)              # the default rubric (rubrics/clustermax-v1.yaml)
    result = score_bundle(bundle, rubric)   # -> models.ScoreResult: tier range, reasons, advice
    bundle.rubric = rubric_ref(rubric)
    read_scores("scores.json")              # what `clustermax score --format json` wrote, version-checked
"""

from __future__ import annotations

from .attestations import Attestation, Attestations, load_attestations
from .engine import Trace, evaluate, explain_criterion, rubric_ref, score_bundle, tier_at_least
from .references import References, detect_profile
from .rubric import Criterion, Gate, Rubric, Threshold, TierRule
from .scorefile import read_scores
from .validate import Problem, check_rubric_file, default_rubric_path, load_rubric

__all__ = [
    "Attestation",
    "Attestations",
    "Criterion",
    "Gate",
    "Problem",
    "References",
    "Rubric",
    "Threshold",
    "TierRule",
    "Trace",
    "check_rubric_file",
    "default_rubric_path",
    "detect_profile",
    "evaluate",
    "explain_criterion",
    "load_attestations",
    "load_rubric",
    "read_scores",
    "rubric_ref",
    "score_bundle",
    "tier_at_least",
]
