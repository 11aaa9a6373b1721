"""Parser for fio's JSON output (``--output-format=json`` or ``json+``), fio 2.x to 3.x.

A text may hold several JSON documents one after the other (several runs, ``--status-interval``), and
fio prints some errors on stdout *before* its JSON (``fio: pid=N, err=22/file:filesetup.c:805,
func=open(...), error=Invalid argument`` when a filesystem refuses O_DIRECT): every document is read
from the first ``{`` that starts a line, the other lines are kept as ``messages``.

Units: ``bw_bytes`` (B/s, fio >= 3.2) is used when present, else ``bw`` (KiB/s) x 1024; ``iops`` as
printed; completion latency percentiles in microseconds, from ``clat_ns`` (fio >= 3.0, ns) or ``clat``
(older, us). A job whose direction moved no data has that direction ``None``.

:func:`split_tasks` separates the interleaved output of ``srun -l`` (every line prefixed ``<task>: ``)
into one text per task.
"""

from __future__ import annotations

import json
import re

from pydantic import BaseModel, ConfigDict, Field

from ._text import normalize
from .base import ParsedOutput, ParseError

__all__ = ["FioDirection", "FioDocument", "FioJob", "FioOutput", "detect_fio", "parse_fio", "split_tasks"]

_LABEL = re.compile(r"^ *(\d{1,6}): ?(.*)$")


def split_tasks(text: str) -> dict[int, str]:
    """``srun -l`` output -> {task id: its lines, without the label}; unlabelled lines are dropped."""
    out: dict[int, list[str]] = {}
    for line in normalize(text).split("\n"):
        m = _LABEL.match(line)
        if m:
            out.setdefault(int(m.group(1)), []).append(m.group(2))
    return {task: "\n".join(lines) for task, lines in sorted(out.items())}


class FioDirection(BaseModel):
    model_config = ConfigDict(extra="forbid")

    io_bytes: int = Field(description="Bytes moved.")
    bw_bytes_per_s: float = Field(description="Bandwidth in bytes per second.")
    iops: float
    runtime_ms: int | None = None
    clat_p50_us: float | None = None
    clat_p99_us: float | None = None
    clat_mean_us: float | None = None


class FioJob(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    error: int = Field(description="fio's error number for the job (22 = EINVAL: O_DIRECT refused).")
    options: dict[str, str] = Field(default_factory=dict, description="'job options' (values as strings).")
    read: FioDirection | None = None
    write: FioDirection | None = None
    job_runtime_ms: int | None = None


class FioDocument(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: str | None = Field(default=None, description="'fio version', e.g. fio-3.33.")
    global_options: dict[str, str] = Field(default_factory=dict)
    jobs: list[FioJob] = Field(default_factory=list)
    messages: list[str] = Field(default_factory=list, description="Non-JSON lines printed before it.")


class FioOutput(ParsedOutput):
    documents: list[FioDocument] = Field(default_factory=list)
    trailing: list[str] = Field(default_factory=list, description="Non-JSON lines after the last document.")


def _num(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _pct(block: object, key: str, scale: float) -> float | None:
    if not isinstance(block, dict):
        return None
    pct = block.get("percentile")
    if not isinstance(pct, dict):
        return None
    v = _num(pct.get(key))
    return round(v * scale, 3) if v is not None else None


def _direction(d: object) -> FioDirection | None:
    if not isinstance(d, dict):
        return None
    io = _num(d.get("io_bytes"))
    if io is None and _num(d.get("io_kbytes")) is not None:
        io = float(d["io_kbytes"]) * 1024
    if not io:
        return None
    bw = _num(d.get("bw_bytes"))
    if bw is None:
        kib = _num(d.get("bw"))
        bw = kib * 1024 if kib is not None else None
    iops = _num(d.get("iops"))
    if bw is None or iops is None:
        return None
    if isinstance(d.get("clat_ns"), dict):
        block, scale = d["clat_ns"], 1e-3
    else:
        block, scale = d.get("clat"), 1.0
    mean = _num(block.get("mean")) if isinstance(block, dict) else None
    runtime = _num(d.get("runtime"))
    return FioDirection(
        io_bytes=int(io),
        bw_bytes_per_s=bw,
        iops=iops,
        runtime_ms=int(runtime) if runtime is not None else None,
        clat_p50_us=_pct(block, "50.000000", scale),
        clat_p99_us=_pct(block, "99.000000", scale),
        clat_mean_us=round(mean * scale, 3) if mean is not None else None,
    )


def _strings(obj: object) -> dict[str, str]:
    if not isinstance(obj, dict):
        return {}
    return {str(k): str(v) for k, v in obj.items() if isinstance(v, (str, int, float))}


def _document(data: dict[str, object], messages: list[str]) -> FioDocument:
    jobs = []
    listed = data.get("jobs")
    for j in listed if isinstance(listed, list) else []:
        if not isinstance(j, dict):
            continue
        err = j.get("error")
        runtime = _num(j.get("job_runtime"))
        jobs.append(
            FioJob(
                name=str(j.get("jobname", "")),
                error=int(err) if isinstance(err, int) and not isinstance(err, bool) else 0,
                options=_strings(j.get("job options")),
                read=_direction(j.get("read")),
                write=_direction(j.get("write")),
                job_runtime_ms=int(runtime) if runtime is not None else None,
            )
        )
    version = data.get("fio version")
    return FioDocument(
        version=str(version) if isinstance(version, str) else None,
        global_options=_strings(data.get("global options")),
        jobs=jobs,
        messages=messages,
    )


def parse_fio(text: str) -> FioOutput:
    """Every fio JSON document of ``text``. Raises ParseError when there is none."""
    text = normalize(text)
    decoder = json.JSONDecoder()
    out = FioOutput()
    pending: list[str] = []
    pos = 0
    n = len(text)
    while pos < n:
        eol = text.find("\n", pos)
        eol = n if eol < 0 else eol
        line = text[pos:eol]
        if line.lstrip().startswith("{"):
            start = pos + (len(line) - len(line.lstrip()))
            try:
                data, end = decoder.raw_decode(text, start)
            except json.JSONDecodeError as err:
                out.warnings.append(
                    f"a JSON document starting at character {start} is cut or broken: {err.msg}"
                )
                pending.append(line)
                pos = eol + 1
                continue
            if isinstance(data, dict) and ("jobs" in data or "fio version" in data):
                out.documents.append(_document(data, pending))
            else:
                out.warnings.append("a JSON document that is not fio output was skipped")
            pending = []
            pos = end
            continue
        if line.strip():
            pending.append(line.strip())
        pos = eol + 1
    out.trailing = pending
    if not out.documents:
        raise ParseError("fio", "no fio JSON document (run fio with --output-format=json)")
    return out


def detect_fio(text: str) -> float:
    head = text[:4000]
    return 0.9 if '"fio version"' in head and '"jobs"' in head else 0.0
