"""What changed between two audits of a cluster (``clustermax diff``, ``history diff``, ``score --baseline``).

    from clustermax.diff import diff_bundles, render

    result = diff_bundles(old_bundle, new_bundle, rubric)   # -> DiffResult (scores both with the rubric)
    print(render.terminal(result))
    result.regressions                                      # what the baseline gate fails on

Pure: the diff is a function of the two bundles and the rubric (see :mod:`clustermax.diff.compute`).
"""

from __future__ import annotations

from typing import Any

from ..models.bundle import Bundle
from .compute import DEFAULT_TOLERANCE, DIRECTION, KEY_METRICS, SPREADS, diff
from .model import DIFF_SCHEMA_VERSION, DiffResult

__all__ = [
    "DEFAULT_TOLERANCE",
    "DIFF_SCHEMA_VERSION",
    "DIRECTION",
    "KEY_METRICS",
    "SPREADS",
    "DiffResult",
    "diff",
    "diff_bundles",
]


def diff_bundles(old: Bundle, new: Bundle, rubric: Any = None, attestations: Any = None) -> DiffResult:
    """Score both bundles with ``rubric`` (default: the shipped one) and compare them."""
    from ..scoring import load_rubric, score_bundle

    rub = rubric if rubric is not None else load_rubric(None)
    return diff(
        old, new, score_bundle(old, rub, attestations), score_bundle(new, rub, attestations), rub.criteria
    )
