"""Write rubrics/metrics.yaml, the metric catalog scoring reads, from the probe specs (probes/*/probe.yaml).

    .venv/bin/python scripts/make_metric_catalog.py          # rewrite rubrics/metrics.yaml
    .venv/bin/python scripts/make_metric_catalog.py --check  # exit 1 when it is out of date

Scoring is a function of the bundle, the rubric, its hardware references and this catalog: it never opens
a probe spec. The catalog holds, for every metric a shipped probe emits, its unit (what thresholds convert
to), its label keys (what a rubric may filter on) and the probe that emits it, and for every probe where it
runs and what it requires (for "not measured" reasons and tier-gap advice). tests/scoring/test_catalog.py
runs --check, so a probe spec change that is not carried into the catalog fails the tests.
"""

from __future__ import annotations

import argparse
import difflib
import json
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
PROBES = ROOT / "probes"
CATALOG = ROOT / "rubrics" / "metrics.yaml"

HEADER = """\
# clustermax metric catalog: every metric the shipped probes emit, with its unit, its label keys and the
# probe that emits it; and every probe, with where it runs and what it requires.
#
# GENERATED from probes/*/probe.yaml by scripts/make_metric_catalog.py; do not edit by hand
# (tests/scoring/test_catalog.py fails when this file and the probe specs disagree).
#
# Scoring reads this file, never the probe specs: a score is a function of the bundle, the rubric, its
# hardware references (references.yaml) and this catalog. A rubric names it with `metrics:`.
"""


def _flow(value: object) -> str:
    """One YAML flow value (JSON is valid YAML flow syntax; keys and strings are quoted)."""
    return json.dumps(value, ensure_ascii=False)


def build() -> str:
    sys.path.insert(0, str(ROOT / "src"))
    from clustermax.models.probe import ProbeSpec

    specs = []
    for folder in sorted(p for p in PROBES.iterdir() if p.is_dir() and not p.name.startswith(("_", "."))):
        spec_file = folder / "probe.yaml"
        if spec_file.is_file():
            specs.append(ProbeSpec.model_validate(yaml.safe_load(spec_file.read_text(encoding="utf-8"))))
    lines = [HEADER, "version: 1", "probes:"]
    for spec in specs:
        entry = {"title": spec.title, "scope": spec.scope, "requires": list(spec.requires)}
        lines.append(f"  {spec.id}: {_flow(entry)}")
    lines.append("metrics:")
    seen: dict[str, str] = {}
    rows = []
    for spec in specs:
        for metric in spec.metrics:
            if metric.name in seen:
                raise SystemExit(f"metric {metric.name} is declared by {seen[metric.name]} and {spec.id}")
            seen[metric.name] = spec.id
            rows.append(
                (
                    metric.name,
                    {
                        "probe": spec.id,
                        "unit": metric.unit.value,
                        "labels": list(metric.labels),
                        "description": " ".join(metric.description.split()),
                    },
                )
            )
    for name, entry in sorted(rows):
        lines.append(f"  {_flow(name)}: {_flow(entry)}")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare instead of writing; exit 1 when stale")
    args = parser.parse_args()
    text = build()
    if args.check:
        current = CATALOG.read_text(encoding="utf-8") if CATALOG.is_file() else ""
        if current != text:
            diff = difflib.unified_diff(
                current.splitlines(), text.splitlines(), "rubrics/metrics.yaml", "from probes/", lineterm=""
            )
            print("\n".join(list(diff)[:60]))
            print("rubrics/metrics.yaml is out of date: run .venv/bin/python scripts/make_metric_catalog.py")
            return 1
        print("rubrics/metrics.yaml up to date")
        return 0
    CATALOG.write_text(text, encoding="utf-8")
    print(f"wrote {CATALOG.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
