"""Parser for NVIDIA nvbandwidth's text output (v0.4 to v0.10 at least).

A run prints a header (``nvbandwidth Version: v0.8``, ``CUDA Runtime Version: 12060`` or ``13.3 (13030)``,
``Driver Version: 560.35.05``, and in v0.8 ``Device N: <name> (<pci>)`` lines), then for each testcase
``Running <test>.`` followed by one matrix (three for the bidirectional tests: Read1/Read2/Total or
Write1/Write2/Total), each a title line ending in its unit (``(GB/s)`` or ``(ns)``), a line of column
indices and rows ``<row> <value>...`` with ``N/A`` on the diagonal, closed by ``SUM <name> <value>``
(the name carries ``_read1``, ``_total`` ... for the bidirectional matrices) and, from v0.10, a
``COEFFICIENT_OF_VARIATION <name> <x>`` line. ``Waiving <test>.`` marks a testcase that could not run
(no peer access). Several runs one after the other are read as one list of matrices.

Host-device matrices have one row (the CPU, 0) and a column per GPU; device-device matrices a row per
source GPU and a column per peer.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field

from ._text import normalize, to_float
from .base import ParsedOutput, ParseError

__all__ = ["NvbandwidthOutput", "NvbwMatrix", "detect_nvbandwidth", "parse_nvbandwidth"]

_VERSION = re.compile(r"^nvbandwidth Version:\s*(\S+)")
_RUNTIME = re.compile(r"^CUDA Runtime Version:\s*(.+)$")
_DRIVER = re.compile(r"^Driver Version:\s*(\S+)")
_DEVICE = re.compile(r"^Device (\d+):\s*(.+?)(?:\s*\(([0-9a-fA-F:.]+)\))?\s*$")
_RUNNING = re.compile(r"^Running (\S+?)\.?$")
_WAIVED = re.compile(r"^Waiving (\S+?)\.?$")
_TITLE = re.compile(r"\((GB/s|ns)\)\s*$")
_COLUMNS = re.compile(r"^\s+\d+(?:\s+\d+)*\s*$")
_ROW = re.compile(r"^\s*(\d+)((?:\s+(?:-?\d+(?:\.\d+)?|N/A))+)\s*$")
_SUM = re.compile(r"^SUM (\S+) (-?\d+(?:\.\d+)?)\s*$")
_CV = re.compile(r"^COEFFICIENT_OF_VARIATION (\S+) (-?\d+(?:\.\d+)?)\s*$")


class NvbwMatrix(BaseModel):
    model_config = ConfigDict(extra="forbid")

    test: str = Field(description="Testcase name (host_to_device_memcpy_sm ...).")
    name: str = Field(description="The SUM line's name (the test, or the test with _read1/_total ...).")
    title: str
    unit: str = Field(description="GB/s or ns.")
    columns: list[int] = Field(default_factory=list)
    rows: dict[int, list[float | None]] = Field(default_factory=dict, description="N/A is null.")
    sum: float | None = None
    cv: float | None = None


class NvbandwidthOutput(ParsedOutput):
    version: str | None = None
    cuda_runtime: str | None = None
    driver: str | None = None
    devices: dict[int, str] = Field(default_factory=dict)
    matrices: list[NvbwMatrix] = Field(default_factory=list)
    waived: list[str] = Field(default_factory=list)


def parse_nvbandwidth(text: str) -> NvbandwidthOutput:
    lines = normalize(text).split("\n")
    if not any(_VERSION.match(ln.strip()) or _SUM.match(ln.strip()) for ln in lines):
        raise ParseError("nvbandwidth", "no 'nvbandwidth Version:' or 'SUM <test> <value>' line")
    out = NvbandwidthOutput()
    test = ""
    cur: NvbwMatrix | None = None
    for raw in lines:
        ln = raw.rstrip()
        s = ln.strip()
        if m := _VERSION.match(s):
            out.version = out.version or m.group(1)
            continue
        if m := _RUNTIME.match(s):
            out.cuda_runtime = out.cuda_runtime or m.group(1).strip()
            continue
        if m := _DRIVER.match(s):
            out.driver = out.driver or m.group(1)
            continue
        if m := _DEVICE.match(s):
            out.devices.setdefault(int(m.group(1)), m.group(2).strip())
            continue
        if m := _WAIVED.match(s):
            out.waived.append(m.group(1))
            continue
        if m := _RUNNING.match(s):
            test, cur = m.group(1), None
            continue
        if m := _SUM.match(s):
            if cur is not None:
                cur.name = m.group(1)
                cur.test = cur.test or m.group(1)
                cur.sum = float(m.group(2))
                out.matrices.append(cur)
                cur = None
            continue
        if m := _CV.match(s):
            for mat in reversed(out.matrices):
                if mat.name == m.group(1):
                    mat.cv = float(m.group(2))
                    break
            continue
        if t := _TITLE.search(s):
            cur = NvbwMatrix(test=test, name=test, title=s, unit=t.group(1))
            continue
        if cur is not None and not cur.columns and _COLUMNS.match(ln):
            cur.columns = [int(x) for x in ln.split()]
            continue
        if cur is not None and cur.columns and (m := _ROW.match(ln)):
            cells = m.group(2).split()
            cur.rows[int(m.group(1))] = [None if c == "N/A" else to_float(c) for c in cells]
            continue
    if cur is not None:
        out.warnings.append(f"matrix of {cur.test} has no SUM line (cut output)")
        out.matrices.append(cur)
    if not out.matrices and not out.waived:
        raise ParseError("nvbandwidth", "no bandwidth matrix")
    return out


def detect_nvbandwidth(text: str) -> float:
    head = text[:3000]
    return 0.9 if "nvbandwidth Version:" in head else (0.5 if "Running " in head and "SUM " in text else 0.0)
