"""Regenerate examples/reports/ from real tool outputs and real audits, with the current code.

    .venv/bin/python scripts/regen_examples.py          # rewrite the examples
    .venv/bin/python scripts/regen_examples.py --check  # exit 1 and list the stale files

Two kinds of example, each scored with the default rubric and rendered in every format:

- import: a bundle made by `clustermax import` (bundle.from_files.import_files) out of real outputs
  stored under tests/data/ (each with its .source provenance file). For byte-stable output the import
  clock is fixed and the machine-specific origin fields (Python version, OS, host name) are replaced by
  "example"; nothing else is touched.
- audit: a committed bundle written by a real `clustermax audit` (the recorded input), re-derived from
  its raw outputs with today's parsers (bundle.reparse.reparse_bundle, as `clustermax score --reparse`
  does) before scoring, so the reports follow parser changes while the input stays fixed.

A comparison report covers all of them. tests/reports/test_examples.py runs --check, so a change to
parsers, scoring or reports that changes an example fails the tests until this script is run.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "examples" / "reports"
CLOCK = datetime(2026, 1, 1, 0, 0, tzinfo=timezone.utc)


@dataclass(frozen=True)
class Example:
    name: str
    provider: str
    cluster: str
    files: tuple[str, ...]
    about: str


EXAMPLES = (
    Example(
        name="gcp-a3mega-h100-2node",
        provider="GCP",
        cluster="a3-mega-h100",
        files=("tests/data/nccl-tests/h100-2node-allreduce-mpirun.log",),
        about="nccl-tests all_reduce_perf over 2 nodes x 8 H100 (GCP A3 Mega), 8 B - 8 GiB",
    ),
    Example(
        name="h100-fabric-manager-down",
        provider="nccl-tests#264 reporter",
        cluster="h100x8-fm-down",
        files=(
            "tests/data/nvidia-smi/h100x8-560-persistence-off.txt",
            "tests/data/dcgmi-diag/dcgm338-h100x8-r3-cuda-fail-all.txt",
        ),
        about="8 x H100, fabric manager not running: nvidia-smi (persistence off), dcgmi diag -r 3 failing",
    ),
    Example(
        name="gh200-wrong-results",
        provider="nccl-tests#369 reporter",
        cluster="cray-ex-gh200",
        files=("tests/data/nccl-tests/gh200-2node-srun-wrong-issue369.log",),
        about="all_reduce_perf with srun on 2 x GH200 (Cray EX, Slingshot) reporting #wrong > 0",
    ),
    Example(
        name="a100-remap-pending",
        provider="A100 node (public issue)",
        cluster="a100x4",
        files=("tests/data/nvidia-smi/a100x4-555-q-remap-pending.txt",),
        about="nvidia-smi -q of 4 x A100 with a row remapping pending",
    ),
)


@dataclass(frozen=True)
class AuditExample:
    name: str
    bundle: str  # committed bundle.json of a real audit, relative to the repository root
    provenance: str  # the file saying how that audit was made
    about: str
    provider: str | None = None  # display label for a bundle recorded without --provider


AUDIT_EXAMPLES = (
    AuditExample(
        name="h100-local-audit",
        bundle="tests/data/captures/h100-fc-2026-11-26/audit-local/bundle.json",
        provenance="tests/data/captures/h100-fc-2026-11-26/SOURCE.md",
        about="`clustermax audit --local` on one real NVIDIA H100 80GB HBM3 machine (no Slurm, no "
        "InfiniBand; NCCL through the PyTorch fallback on 1 GPU)",
        provider="H100 device machine",
    ),
    AuditExample(
        name="testcluster-audit",
        bundle="examples/bundles/testcluster-audit/bundle.json",
        provenance="examples/bundles/testcluster-audit/README.md",
        about="`clustermax audit login1` of the project's test cluster: real sshd and Slurm 22.05 on 4 "
        "network-namespace nodes with fake GRES GPUs; nvidia-smi, dmesg and all_reduce_perf replay "
        "recorded real outputs (node4: a GPU fallen off the bus)",
    ),
)

SINGLE_FORMATS = {
    "report.md": "markdown",
    "report.html": "html",
    "report.txt": "terminal",
    "report.json": "json",
    "report.csv": "csv",
    "report.junit.xml": "junit",
    "report.prom": "prometheus",
}
COMPARE_FORMATS = {"compare.md": "markdown", "compare.html": "html", "compare.csv": "csv"}


def _bundle(example: Example):  # type: ignore[no-untyped-def]
    sys.path.insert(0, str(ROOT / "src"))
    from clustermax.bundle.from_files import import_files

    outcome = import_files(
        list(example.files),
        provider=example.provider,
        cluster=example.cluster,
        command_line="clustermax import " + " ".join(example.files),
        now=lambda: CLOCK,
    )
    bundle = outcome.bundle
    origin = bundle.origin.model_copy(update={"python": "example", "platform": "example", "run_from": None})
    return bundle.model_copy(update={"origin": origin})


def _audit_bundle(example: AuditExample):  # type: ignore[no-untyped-def]
    sys.path.insert(0, str(ROOT / "src"))
    from clustermax.bundle.io import load_bundle
    from clustermax.bundle.reparse import reparse_bundle

    bundle = reparse_bundle(load_bundle(ROOT / example.bundle))
    if example.provider and not bundle.target.provider:
        target = bundle.target.model_copy(update={"provider": example.provider})
        bundle = bundle.model_copy(update={"target": target})
    return bundle


def generate() -> dict[Path, str]:
    """Every example file, path -> content, rendered by the current code."""
    sys.path.insert(0, str(ROOT / "src"))
    from clustermax.reports import build_report, render_report
    from clustermax.scoring import score_bundle

    def _verdict(score: Any) -> str:
        return f"{score.summary}; score {score.score:.1f}, coverage {score.coverage:.0%}"

    files: dict[Path, str] = {}
    items = []
    index = [
        "# Example reports",
        "",
        "Generated by `scripts/regen_examples.py` with the current code. Each folder holds one report in",
        "every format (Markdown, HTML, terminal text, JSON, CSV, JUnit XML, Prometheus text).",
        "",
        "## From audits",
        "",
        "Made from the bundle a real `clustermax audit` wrote (kept in the repository as the recorded",
        "input), re-parsed from its raw outputs with today's parsers first (`clustermax score --reparse`",
        "does the same), so these reports follow parser changes while the audit itself stays as recorded.",
        "A bundle recorded without `--provider` gets a provider label for the comparison; nothing else",
        "in it is changed.",
        "",
    ]
    for audit in AUDIT_EXAMPLES:
        bundle = _audit_bundle(audit)
        score = score_bundle(bundle)
        items.append((bundle, score))
        folder = OUT / audit.name
        report = build_report([(bundle, score)])
        for name, fmt in SINGLE_FORMATS.items():
            files[folder / name] = render_report(report, fmt)
        index.append(
            f"- **audit** [{audit.name}]({audit.name}/report.md) ([HTML]({audit.name}/report.html)): "
            f"{audit.about}; "
            f"{_verdict(score)}. "
            f"Bundle: [`{audit.bundle}`](../../{audit.bundle}); how it was made: "
            f"[`{audit.provenance}`](../../{audit.provenance})."
        )
    index += [
        "",
        "## From `clustermax import`",
        "",
        "Made by `clustermax import` from real public tool outputs (provenance in each file's `.source`",
        "under `tests/data/`); the bundle scored is in each folder as `bundle.json`. They hold imported",
        "outputs only, not an audit of a live cluster, so coverage is low: most criteria need probes that",
        "an import cannot replace (Slurm, time to first job, monitoring).",
        "",
    ]
    for example in EXAMPLES:
        bundle = _bundle(example)
        score = score_bundle(bundle)
        items.append((bundle, score))
        folder = OUT / example.name
        files[folder / "bundle.json"] = bundle.model_dump_json(indent=1) + "\n"
        report = build_report([(bundle, score)])
        for name, fmt in SINGLE_FORMATS.items():
            files[folder / name] = render_report(report, fmt)
        index.append(
            f"- **import** [{example.name}]({example.name}/report.md) ([HTML]({example.name}/report.html)): "
            f"{example.about}; "
            f"{_verdict(score)}. "
            "Inputs: " + ", ".join(f"`{f}`" for f in example.files)
        )
    compare = build_report(items, compare=True)
    for name, fmt in COMPARE_FORMATS.items():
        files[OUT / name] = render_report(compare, fmt)
    index += [
        "",
        "## Comparison",
        "",
        f"- [All {len(items)} side by side](compare.md) ([HTML](compare.html), [CSV](compare.csv)): "
        f"{len(AUDIT_EXAMPLES)} audits and {len(EXAMPLES)} imports.",
        "",
    ]
    files[OUT / "README.md"] = "\n".join(index)
    return files


def stale(files: dict[Path, str]) -> list[Path]:
    """Files whose committed content differs from what the current code renders (or that are missing)."""
    out = [p for p, text in files.items() if not p.exists() or p.read_text(encoding="utf-8") != text]
    known = set(files)
    if OUT.exists():
        out += [p for p in OUT.rglob("*") if p.is_file() and p not in known]
    return sorted(out)


def main() -> int:
    parser = argparse.ArgumentParser(description="Regenerate examples/reports/.")
    parser.add_argument("--check", action="store_true", help="Only check; exit 1 when an example is stale.")
    args = parser.parse_args()
    files = generate()
    if args.check:
        bad = stale(files)
        for path in bad:
            print(f"stale: {path.relative_to(ROOT)}")
        if bad:
            print("run: .venv/bin/python scripts/regen_examples.py")
        return 1 if bad else 0
    for path in stale(files):
        if path not in files:
            path.unlink()
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    print(f"wrote {len(files)} files under {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
