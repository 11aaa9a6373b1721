"""Parser throughput: MB/s per kind on large inputs built from the real fixtures, side by side with a
plain line-splitting loop (``for line in text.splitlines(): pass``) over the same text, in the same run.

Run: .venv/bin/python benchmarks/parsers.py [--repeat N]

Inputs (built here from tests/data, nothing committed):
* xid: a 100,000-line kernel log made of the real dmesg / journal fixture lines, repeated;
* nccl-tests: a 10,000-row log (the H100 2-node header, its rows repeated, its footer);
* nvidia-smi (-q): 512 GPU sections of the real A10 -q output; nvidia-smi (table): 2,000 GPU blocks;
* the small outputs (topo, dcgmi, and the cluster kinds when present) repeated as separate inputs.
The ratio is parser time / line-loop time: 10x means the parser is ten times slower than merely
splitting the text into lines.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

from clustermax.parsers.registry import PARSERS

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"


def _files(kind: str) -> list[Path]:
    folder = DATA / kind
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and not p.name.endswith(".source"))


def build_xid(lines_wanted: int = 100_000) -> str:
    lines = [line for p in _files("xid") for line in p.read_text().splitlines() if line.strip()]
    out = (lines * (lines_wanted // len(lines) + 1))[:lines_wanted]
    return "\n".join(out) + "\n"


def build_nccl(rows_wanted: int = 10_000) -> str:
    text = (DATA / "nccl-tests" / "h100-2node-allreduce-mpirun.log").read_text()
    lines = text.splitlines()
    rows = [line for line in lines if line.strip()[:1].isdigit()]
    head = [line for line in lines[: lines.index(rows[0])]]
    foot = lines[lines.index(rows[-1]) + 1 :]
    body = (rows * (rows_wanted // len(rows) + 1))[:rows_wanted]
    return "\n".join(head + body + foot) + "\n"


def build_smi_q(gpus: int = 512) -> str:
    text = (DATA / "nvidia-smi" / "a10-550-q-swpowercap.txt").read_text()
    head, _, section = text.partition("GPU 00000000:08:00.0\n")
    return (
        head.replace("Attached GPUs                             : 1", f"Attached GPUs : {gpus}")
        + ("GPU 00000000:08:00.0\n" + section) * gpus
    )


def build_smi_table(gpus: int = 2000) -> str:
    lines = (DATA / "nvidia-smi" / "h100x8-565-table.txt").read_text().splitlines()
    block = lines[7:11]
    return "\n".join(lines[:7] + block * gpus + lines[11 + 4 * 7 :]) + "\n"


def best_of(fn: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def line_loop(text: str) -> None:
    for _line in text.splitlines():
        pass


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=5, help="timing repetitions (best is kept)")
    args = ap.parse_args()

    cases: list[tuple[str, str, list[str]]] = [
        ("xid", "100k-line kernel log", [build_xid()]),
        ("nccl-tests", "10k-row log", [build_nccl()]),
        ("nvidia-smi", "-q, 512 GPUs", [build_smi_q()]),
        ("nvidia-smi", "table, 2000 GPUs", [build_smi_table()]),
    ]
    for kind in PARSERS:
        if kind in ("xid", "nccl-tests", "nvidia-smi"):
            continue
        texts = [p.read_text(errors="replace") for p in _files(kind)]
        if texts:
            cases.append((kind, f"{len(texts)} fixtures x 50", texts * 50))

    print(f"{'kind':<19}{'input':<24}{'MB':>7}{'parser MB/s':>13}{'lines MB/s':>12}{'ratio':>8}")
    worst = 0.0
    for kind, label, texts in cases:
        try:
            parse = PARSERS[kind].load()
        except (ImportError, AttributeError) as err:
            print(f"{kind:<19}{label:<24}  skipped: {err}")
            continue
        size_mb = sum(len(t.encode()) for t in texts) / 1e6

        def run_parser(parse: Callable[[str], object] = parse, texts: list[str] = texts) -> None:
            for t in texts:
                try:
                    parse(t)
                except Exception:  # a fixture of another variant may be refused: time it anyway
                    pass

        def run_lines(texts: list[str] = texts) -> None:
            for t in texts:
                line_loop(t)

        t_parse = best_of(run_parser, args.repeat)
        t_lines = best_of(run_lines, args.repeat)
        ratio = t_parse / t_lines
        worst = max(worst, ratio)
        speeds = f"{size_mb / t_parse:13.1f}{size_mb / t_lines:12.1f}"
        print(f"{kind:<19}{label:<24}{size_mb:7.2f}{speeds}{ratio:7.1f}x")
    print(f"worst ratio: {worst:.1f}x (target: every parser within 10x of the line loop)")


if __name__ == "__main__":
    main()
