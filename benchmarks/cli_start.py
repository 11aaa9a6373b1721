"""What `clustermax --help` costs at start: the CLI against bare Python and bare typer, side by side.

    .venv/bin/python benchmarks/cli_start.py [--runs 20] [--against SRC]

Runs, interleaved (so a busy machine slows every case alike), N times each: ``python -c pass``,
``python -c "import typer.main"`` (the floor any typer CLI pays), ``python -m clustermax --help`` and
``python -m clustermax report --help``; with ``--against SRC`` also the ``--help`` of another checkout's
``src`` folder (e.g. ``git archive main src | tar -x -C /tmp/base`` then ``--against /tmp/base/src``), run
with this interpreter and its packages. Prints the median and the minimum of each, the median
``python -X importtime`` of ``clustermax.cli``, and the ratios of ``--help`` to bare typer (what clustermax
adds on top of its CLI library) and to the other checkout.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src"


def _time(argv: list[str], env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - t0


def _import_us(env: dict[str, str]) -> int:
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import clustermax.cli"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    line = [row for row in proc.stderr.splitlines() if row.rstrip().endswith("| clustermax.cli")][-1]
    return int(line.split("|")[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--against", type=Path, default=None, help="another checkout's src folder")
    args = parser.parse_args()
    here = {**os.environ, "PYTHONPATH": str(SRC)}
    cases: dict[str, tuple[list[str], dict[str, str]]] = {
        "python -c pass": ([sys.executable, "-c", "pass"], here),
        "import typer.main": ([sys.executable, "-c", "import typer.main"], here),
        "clustermax --help": ([sys.executable, "-m", "clustermax", "--help"], here),
        "clustermax report --help": ([sys.executable, "-m", "clustermax", "report", "--help"], here),
    }
    if args.against is not None:
        other = {**os.environ, "PYTHONPATH": str(args.against.resolve())}
        cases["other checkout: --help"] = ([sys.executable, "-m", "clustermax", "--help"], other)
    times: dict[str, list[float]] = {name: [] for name in cases}
    imports: dict[str, list[int]] = {"this": []}
    if args.against is not None:
        imports["other"] = []
    for _ in range(args.runs):
        for name, (argv, env) in cases.items():
            times[name].append(_time(argv, env))
        imports["this"].append(_import_us(here))
        if args.against is not None:
            imports["other"].append(_import_us(other))
    for name, values in times.items():
        print(
            f"{name:<26} median {statistics.median(values) * 1000:6.1f} ms   min {min(values) * 1000:6.1f} ms"
        )
    for name, values in imports.items():
        print(f"import clustermax.cli ({name}): median {statistics.median(values) / 1000:.1f} ms")
    help_median = statistics.median(times["clustermax --help"])
    print(
        f"ratio --help / import typer.main: {help_median / statistics.median(times['import typer.main']):.2f}"
    )
    if args.against is not None:
        other_median = statistics.median(times["other checkout: --help"])
        print(f"ratio --help / other checkout: {help_median / other_median:.2f}")


if __name__ == "__main__":
    main()
