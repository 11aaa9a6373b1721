"""A parser that leaves out rows it cannot read says so: never a shorter list, or an empty one, in silence.

For every recorded fixture of every kind with rows, the lines that look like that kind's rows are
counted here, independently of the parser and deliberately broadly (a line that merely looks like a row
counts); when the parser's output has fewer items than that, its ``warnings`` must say why (beyond the
notes of the paste wrappers it removed). The counting runs on the text after the shared unwrapping
(``clustermax.parsers._paste.unwrap``), as the parsers read it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from clustermax.parsers._paste import unwrap
from clustermax.parsers.base import ParseError
from clustermax.parsers.registry import PARSERS

DATA = Path(__file__).resolve().parents[1] / "data"

_NCCL_ROW = re.compile(r"^\s*\d+\s+\d+\s+[A-Za-z]\w*(?:\s+\S+){5,}\s*$")
_SMI_GPU_ROW = re.compile(r"^\s*\|\s+\d+\s+.*\|\s*[0-9A-Fa-f]{4,8}:[0-9A-Fa-f]{2}:[0-9A-Fa-f]{2}\.\d")
_SMI_PROC_ROW = re.compile(r"^\s*\|\s+(?:\d+|N/A)\s+(?:\S+\s+){0,3}\d+\s+(?:C|G|C\+G|M)\s")
_SMI_Q_GPU = re.compile(r"^GPU [0-9A-Fa-f]{4,8}:[0-9A-Fa-f]{2}:[0-9A-Fa-f]{2}\.\d\s*$")
_SMI_LIST = re.compile(r"^GPU \d+: .*\(UUID: GPU-")
_XID = re.compile(r"NVRM: Xid \((?:PCI:)?[0-9A-Fa-f:.]+\):\s*\d{1,6}\b")
_JOB_FIRST = re.compile(r"^\s*\d+(?:[_+][\w\[\]%-]+)?(?:\.\w+)?\s")
_PORT = re.compile(r"^\s*(?:Port \d+:|port:\s+\d+|Infiniband device '.*' port \d+ status:)")
_TOPO_ROW = re.compile(r"^GPU\d+\s")
_DESCRIBE_NAME = re.compile(r"^Name:\s+\S")


def _lines(text: str) -> list[str]:
    return unwrap(text).text.split("\n")


def _smi_rows(text: str) -> int:
    lines = _lines(text)
    first_table: list[str] = []
    tables = 0
    for line in lines:
        if "NVIDIA-SMI" in line and "|" in line:
            tables += 1
        if tables <= 1:
            first_table.append(line)
    gpus = sum(1 for line in first_table if _SMI_GPU_ROW.match(line))
    gpus += sum(1 for line in lines if _SMI_Q_GPU.match(line) or _SMI_LIST.match(line))
    return gpus


def _smi_items(out: Any) -> int:
    return len(out.gpus)


def _smi_procs(text: str) -> int:
    return sum(1 for line in _lines(text) if _SMI_PROC_ROW.match(line))


def _csv_rows(text: str) -> int:
    """Rows under a --query-gpu CSV header with its number of fields."""
    width = None
    rows = 0
    for line in _lines(text):
        s = line.strip()
        if not s:
            continue
        fields = [f.strip() for f in s.split(",")]
        if all(re.fullmatch(r"[a-z_][a-z0-9_.]*(?: \[[^\]]*\])?", f) for f in fields) and len(fields) > 1:
            width = len(fields)
        elif width is not None and len(fields) == width:
            rows += 1
    return rows


# kind -> [(what, count the row-like lines of the text, count the items of the output)]
COUNTERS: dict[str, list[tuple[str, Callable[[str], int], Callable[[Any], int]]]] = {
    "nccl-tests": [
        (
            "result rows",
            lambda t: sum(1 for line in _lines(t) if _NCCL_ROW.match(line)),
            lambda o: sum(len(r.rows) for r in o.runs),
        )
    ],
    "nvidia-smi": [
        ("GPU rows", _smi_rows, _smi_items),
        ("process rows", _smi_procs, lambda o: len(o.processes or [])),
        ("CSV rows", lambda t: _csv_rows(t) if "," in t else 0, _smi_items),
    ],
    "xid": [
        ("Xid records", lambda t: sum(1 for line in _lines(t) if _XID.search(line)), lambda o: len(o.events))
    ],
    "squeue": [
        (
            "job rows",
            lambda t: len({line.split()[0] for line in _lines(t) if _JOB_FIRST.match(line)}),
            lambda o: len(o.jobs),
        )
    ],
    "sacct": [
        (
            "job rows",
            lambda t: len({line.split()[0] for line in _lines(t) if _JOB_FIRST.match(line)}),
            lambda o: len(o.jobs),
        )
    ],
    "ibstat": [
        ("ports", lambda t: sum(1 for line in _lines(t) if _PORT.match(line)), lambda o: len(o.ports))
    ],
    "nvidia-smi-topo": [
        (
            "GPU rows",
            lambda t: len({line.split()[0] for line in _lines(t) if _TOPO_ROW.match(line)}),
            lambda o: len(o.gpus),
        )
    ],
    "scontrol-node": [
        (
            "NodeName records",
            lambda t: len(re.findall(r"^\s*NodeName=", unwrap(t).text, re.M)),
            lambda o: len(o.nodes),
        )
    ],
    "scontrol-partition": [
        (
            "PartitionName records",
            lambda t: len(re.findall(r"^\s*PartitionName=", unwrap(t).text, re.M)),
            lambda o: len(o.partitions),
        )
    ],
    "kubectl-nodes": [
        (
            "described nodes",
            lambda t: sum(1 for line in _lines(t) if _DESCRIBE_NAME.match(line)),
            lambda o: len(o.nodes),
        )
    ],
    "dcgmi-diag": [("tests", lambda t: 1 if "|" in t else 0, lambda o: len(o.tests))],
}


def _cases() -> list[tuple[str, Path]]:
    out = []
    for kind in sorted(COUNTERS):
        folder = DATA / kind
        out += [(kind, p) for p in sorted(folder.iterdir()) if p.is_file() and p.suffix != ".source"]
    return out


CASES = _cases()


def test_every_kind_with_rows_is_counted() -> None:
    """The kinds without a row counter print one record or a fixed layout (versions, config, messages)."""
    assert set(PARSERS) - set(COUNTERS) == {"kubectl-version", "scontrol-config", "sinfo", "slurm-messages"}
    assert len(CASES) > 120


@pytest.mark.parametrize(("kind", "path"), CASES, ids=[f"{k}/{p.name}" for k, p in CASES])
def test_rows_left_out_are_named_in_warnings(kind: str, path: Path) -> None:
    text = path.read_bytes().decode("utf-8", errors="replace")
    try:
        out = PARSERS[kind].parse(text)
    except ParseError:
        return  # refused as a whole, with its reason: nothing was dropped in silence
    notes = set(unwrap(text).notes)
    said = [w for w in out.warnings if w not in notes]
    for what, in_text, in_output in COUNTERS[kind]:
        seen, read = in_text(text), in_output(out)
        if read < seen:
            assert said, (
                f"{kind}/{path.name}: {seen} {what} in the text, {read} read, and no warning says why"
            )


def test_unreadable_process_rows_are_counted_not_dropped() -> None:
    """A process row nvidia-smi printed that no pattern reads is a warning, never a shorter list."""
    table = (DATA / "nvidia-smi" / "a800x8-580-table-processes-cg-truncated-names.txt").read_text()
    rows = [line for line in table.split("\n") if _SMI_PROC_ROW.match(line)]
    broken = table.replace(rows[0], rows[0].replace(" C ", " ? ", 1).replace("MiB", "MB", 1))
    out = PARSERS["nvidia-smi"].parse(broken)
    assert len(out.processes or []) == len(rows) - 1
    assert any(f"1 of {len(rows)} process row(s) could not be read" in w for w in out.warnings)


def test_unreadable_gpu_row_is_counted_not_dropped() -> None:
    table = (DATA / "nvidia-smi" / "h100x8-565-table.txt").read_text()
    row = next(line for line in table.split("\n") if _SMI_GPU_ROW.match(line))
    out = PARSERS["nvidia-smi"].parse(
        table.replace(row, row.replace(" On ", " ?? ", 1).replace(" Off ", " ?? ", 1))
    )
    assert len(out.gpus) == 7
    assert any("1 GPU row(s) of the table could not be read" in w for w in out.warnings)
