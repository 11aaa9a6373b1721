"""Parser throughput: MB/s per kind on large inputs built from the real fixtures, side by side with a
plain line-splitting loop (``for line in text.splitlines(): pass``) over the same text, in the same run.

Run: .venv/bin/python benchmarks/parsers.py [--repeat N] [--wall] [--kind KIND ...]

Inputs (built here from tests/data, nothing committed; every line comes from a real fixture):
* xid, twice: a 100,000-line kernel log as a real one looks (the real boot log captured on the H100
  device machine, repeated, with one real Xid / fallen-off-the-bus line from the fixtures every 1,000
  lines), and a worst case made of the Xid fixture files' lines only (about half of them Xid events);
* nccl-tests: a 10,000-row log (the H100 2-node header, its rows repeated, its footer);
* nvidia-smi: -q with 512 GPU sections of the real A10 output; the table with 2,000 GPU blocks;
* row/record outputs grown to a large input the way a big cluster prints them: sinfo -N -l,
  squeue -l and sacct -P with their data rows repeated to 10,000 rows; scontrol show node /
  partition and ibstat with their records repeated; kubectl get nodes -o json with its items repeated;
* outputs whose size is fixed by the tool (topo -m, dcgmi diag, scontrol show config, kubectl version,
  job-submission messages): all fixtures, each parsed 50 times (per-call cost dominates there).

The ratio is parser time / line-loop time (10x: the parser is ten times slower than merely splitting
the text into lines); PASS when it is within the 10x target. Timings are the best of --repeat runs,
the parser and the line loop interleaved, CPU time of this process (time.process_time) so that other
processes on a shared machine inflate them less; --wall uses time.perf_counter instead.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path

from clustermax.parsers.registry import PARSERS

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
TARGET = 10.0


def _files(kind: str) -> list[Path]:
    folder = DATA / kind
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and not p.name.endswith(".source"))


def _read(kind: str, name: str) -> str:
    return (DATA / kind / name).read_text(encoding="utf-8")


def _repeat_rows(text: str, head_lines: int, rows_wanted: int) -> str:
    """The first ``head_lines`` lines, then the remaining (data) lines repeated to ``rows_wanted``."""
    lines = text.splitlines()
    head, rows = lines[:head_lines], [line for line in lines[head_lines:] if line.strip()]
    body = (rows * (rows_wanted // len(rows) + 1))[:rows_wanted]
    return "\n".join(head + body) + "\n"


def build_xid(lines_wanted: int = 100_000) -> str:
    lines = [line for p in _files("xid") for line in p.read_text().splitlines() if line.strip()]
    out = (lines * (lines_wanted // len(lines) + 1))[:lines_wanted]
    return "\n".join(out) + "\n"


def build_xid_realistic(lines_wanted: int = 100_000, every: int = 1000) -> str:
    boot_log = DATA / "captures" / "h100-fc-2026-11-26" / "dmesg.txt"
    boot = [line for line in boot_log.read_text().splitlines() if line.strip()]
    events = [
        line
        for p in _files("xid")
        for line in p.read_text().splitlines()
        if "Xid" in line or "fallen off the bus" in line
    ]
    out: list[str] = []
    i = j = 0
    while len(out) < lines_wanted:
        out.append(boot[i % len(boot)])
        i += 1
        if len(out) % every == 0:
            out.append(events[j % len(events)])
            j += 1
    return "\n".join(out[:lines_wanted]) + "\n"


def build_nccl(rows_wanted: int = 10_000) -> str:
    text = _read("nccl-tests", "h100-2node-allreduce-mpirun.log")
    lines = text.splitlines()
    rows = [line for line in lines if line.strip()[:1].isdigit()]
    head = list(lines[: lines.index(rows[0])])
    foot = lines[lines.index(rows[-1]) + 1 :]
    body = (rows * (rows_wanted // len(rows) + 1))[:rows_wanted]
    return "\n".join(head + body + foot) + "\n"


def build_smi_q(gpus: int = 512) -> str:
    text = _read("nvidia-smi", "a10-550-q-swpowercap.txt")
    head, _, section = text.partition("GPU 00000000:08:00.0\n")
    return (
        head.replace("Attached GPUs                             : 1", f"Attached GPUs : {gpus}")
        + ("GPU 00000000:08:00.0\n" + section) * gpus
    )


def build_smi_table(gpus: int = 2000) -> str:
    lines = _read("nvidia-smi", "h100x8-565-table.txt").splitlines()
    block = lines[7:11]
    return "\n".join(lines[:7] + block * gpus + lines[11 + 4 * 7 :]) + "\n"


def build_kubectl_nodes(copies: int = 50) -> str:
    data = json.loads(_read("kubectl-nodes", "nodelist-json-k3s-orbstack.json"))
    data["items"] = data["items"] * copies
    return json.dumps(data, indent=4) + "\n"


def cases() -> list[tuple[str, str, list[str]]]:
    big: list[tuple[str, str, list[str]]] = [
        ("xid", "100k-line log, 0.1% Xid", [build_xid_realistic()]),
        ("xid", "100k lines, Xid-dense", [build_xid()]),
        ("nccl-tests", "10k-row log", [build_nccl()]),
        ("nvidia-smi", "-q, 512 GPUs", [build_smi_q()]),
        ("nvidia-smi", "table, 2000 GPUs", [build_smi_table()]),
        ("sinfo", "-N -l, 10k rows", [_repeat_rows(_read("sinfo", "dev-22.05.8-N-l.txt"), 2, 10_000)]),
        ("squeue", "-l, 10k jobs", [_repeat_rows(_read("squeue", "dev-22.05.8-l.txt"), 2, 10_000)]),
        ("sacct", "-P, 10k rows", [_repeat_rows(_read("sacct", "dev-22.05.8-c-P.txt"), 3, 10_000)]),
        ("scontrol-node", "400 node records", [_read("scontrol-node", "dev-22.05.8.txt") * 100]),
        (
            "scontrol-partition",
            "400 partitions",
            [_read("scontrol-partition", "nano-23.11-two-partitions.txt") * 200],
        ),
        ("ibstat", "200 x a CX7 ibstat", [_read("ibstat", "h20-cx7-400g-ib-deepep-303.txt") * 200]),
        ("kubectl-nodes", "-o json, 50x items", [build_kubectl_nodes()]),
    ]
    # kinds with a grown input and all their fixtures too (several output variants)
    also_fixtures = {"scontrol-node", "scontrol-partition", "ibstat", "kubectl-nodes"}
    covered = {kind for kind, _, _ in big} - also_fixtures
    for kind in PARSERS:
        if kind in covered:
            continue
        texts = [p.read_text(errors="replace") for p in _files(kind)]
        if texts:
            big.append((kind, f"{len(texts)} fixtures x 50", texts * 50))
    return big


def line_loop(text: str) -> None:
    for _line in text.splitlines():
        pass


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--repeat", type=int, default=7, help="timing repetitions (best is kept)")
    ap.add_argument("--wall", action="store_true", help="wall-clock time instead of process CPU time")
    ap.add_argument("--kind", action="append", help="only these kinds (repeatable)")
    args = ap.parse_args()
    clock = time.perf_counter if args.wall else time.process_time

    header = (
        f"{'kind':<19}{'input':<22}{'MB':>6}{'lines':>9}{'parser MB/s':>13}{'lines MB/s':>12}"
        f"{'ratio':>8}  vs {TARGET:g}x"
    )
    print(header)
    print("-" * len(header))
    worst = 0.0
    misses = 0
    for kind, label, texts in cases():
        if args.kind and kind not in args.kind:
            continue
        parse = PARSERS[kind].parse
        size_mb = sum(len(t.encode()) for t in texts) / 1e6
        n_lines = sum(t.count("\n") + 1 for t in texts)

        def run_parser(parse: Callable[[str], object] = parse, texts: list[str] = texts) -> None:
            for t in texts:
                try:
                    parse(t)
                except Exception:  # a fixture of another variant may be refused: time it anyway
                    pass

        def run_lines(texts: list[str] = texts) -> None:
            for t in texts:
                line_loop(t)

        run_parser()  # warm up (imports, regex compilation)
        t_parse = t_lines = float("inf")
        for _ in range(args.repeat):  # interleaved, so both see the same machine load
            t0 = clock()
            run_lines()
            t1 = clock()
            run_parser()
            t2 = clock()
            t_lines = min(t_lines, t1 - t0)
            t_parse = min(t_parse, t2 - t1)
        t_lines = max(t_lines, 1e-9)
        ratio = t_parse / t_lines
        worst = max(worst, ratio)
        verdict = "PASS" if ratio <= TARGET else "MISS"
        misses += verdict == "MISS"
        print(
            f"{kind:<19}{label:<22}{size_mb:6.2f}{n_lines:9d}{size_mb / t_parse:13.1f}"
            f"{size_mb / t_lines:12.1f}{ratio:7.1f}x  {verdict}"
        )
    print(f"worst ratio: {worst:.1f}x; {misses} kind(s) above the {TARGET:g}x target")


if __name__ == "__main__":
    main()
