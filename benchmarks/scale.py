"""Benchmark: a 1,000-node audit bundle, loaded, scored and reported, in one run.

    .venv/bin/python benchmarks/scale.py [--nodes 1000]

The bundle is made first (not timed) by scripts/make_scale_bundle.py: every node's raw outputs are the
recorded real outputs of one H100 node, only the host names and their count are synthetic (the bundle
says so in options.synthetic). It is written to a temporary directory; a fresh Python process then does,
timed one after the other:

  load + score   load_bundle() (read, JSON parse, pydantic validation) and score_bundle() with the
                 default rubric
  html           build_report() + the HTML renderer (the single-file report an audit writes), and its size
  peak memory    the child's peak resident set (ru_maxrss), everything above included

Targets (issue 12): load + score <= 2 s, HTML <= 3 s and <= 5 MB, peak memory <= 1 GiB. The figures are
printed, not asserted; the exit status is 1 when one is missed, so a CI job can watch them.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "scripts"))

TARGETS = {"load_score_s": 2.0, "html_s": 3.0, "html_mb": 5.0, "peak_mib": 1024.0}


def measure(directory: Path) -> dict[str, float]:
    """In this (fresh) process: load + score, then the HTML report; peak RSS at the end."""
    import resource

    from clustermax.bundle.io import load_bundle
    from clustermax.reports import build_report, render_report
    from clustermax.scoring import load_rubric, score_bundle

    rubric = load_rubric(None)  # the shipped rubric file, read once (not the bundle's work)
    t0 = time.perf_counter()
    bundle = load_bundle(directory)
    t_load = time.perf_counter() - t0
    score = score_bundle(bundle, rubric)
    t1 = time.perf_counter()
    report = build_report([(bundle, score)])
    html = render_report(report, "html")
    t2 = time.perf_counter()
    health = report.clusters[0].health
    return {
        "nodes": float(len([h for h in bundle.hosts if h.role == "compute"])),
        "bundle_mb": (directory / "bundle.json").stat().st_size / 1e6,
        "load_s": t_load,
        "load_score_s": t1 - t0,
        "html_s": t2 - t1,
        "html_mb": len(html.encode("utf-8")) / 1e6,
        "health_rows": float(len(health.rows)),
        "healthy": float(len(health.healthy)),
        "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nodes", type=int, default=1000)
    ap.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.measure is not None:
        print(json.dumps(measure(args.measure)))
        return 0
    from make_scale_bundle import make_bundle

    from clustermax.bundle.io import write_bundle

    with tempfile.TemporaryDirectory(prefix="cmx-scale-") as tmp:
        t0 = time.perf_counter()
        write_bundle(make_bundle(args.nodes), Path(tmp))
        made = time.perf_counter() - t0
        out = subprocess.run(
            [sys.executable, __file__, "--measure", tmp], capture_output=True, text=True, check=True
        )
        figures = json.loads(out.stdout.strip().splitlines()[-1])
    print(
        f"synthetic {args.nodes}-node bundle (recorded real outputs, synthetic names): made in {made:.1f} s"
    )
    print(f"  bundle.json       {figures['bundle_mb']:8.1f} MB")
    print(f"  load              {figures['load_s']:8.2f} s")
    print(f"  load + score      {figures['load_score_s']:8.2f} s   (target <= {TARGETS['load_score_s']:g} s)")
    print(f"  HTML report       {figures['html_s']:8.2f} s   (target <= {TARGETS['html_s']:g} s)")
    print(f"  HTML size         {figures['html_mb']:8.2f} MB  (target <= {TARGETS['html_mb']:g} MB)")
    print(f"  peak memory       {figures['peak_mib']:8.0f} MiB (target <= {TARGETS['peak_mib']:g} MiB)")
    print(f"  health matrix     {figures['health_rows']:8.0f} rows, {figures['healthy']:.0f} healthy folded")
    missed = [k for k, limit in TARGETS.items() if figures[k] > limit]
    if missed:
        print("missed: " + ", ".join(missed))
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
