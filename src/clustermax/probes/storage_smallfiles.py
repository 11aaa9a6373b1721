"""storage_smallfiles probe: metadata scaling, import time and cross-node visibility on a shared filesystem.

Sections are described in ``probes/storage_smallfiles/run.sh``; every step's output is JSON lines printed
by ``probes/storage_smallfiles/smallfiles.py`` (one object per node; ``srun -l`` prefixes ``<task>: ``,
removed with :func:`clustermax.parsers.fio.split_tasks`). Mapping (:func:`measure`), labels ``target``,
``fstype`` (of the mount the target is on), ``nodes`` (of the run), ``node``:

* metadata test (``meta-n<N>``): per node and phase (create, stat, read, delete) storage.meta_seconds and
  storage.meta_p99, only for a node whose create/stat/read all completed (a run cut by its deadline is not
  a measurement of the filesystem's speed); per run storage.meta_median_seconds when every node of the
  run completed, storage.meta_incomplete; storage.meta_slope = median at the largest node count / median
  at 1 node;
* import test (``import-n<N>`` stand-in, module ``stdlib-standin``, or ``torch-n<N>``, module ``torch``):
  storage.import_seconds per node (cache ``cold``: the first run after the files' cached pages were
  dropped; ``warm``: the median of the warm runs), storage.import_median_seconds per run, and
  storage.import_slope; a run whose imports failed, or whose stand-in modules did not come from the tree,
  is not measured;
* visibility: storage.visibility_seconds (the writer's round trip, method ``round_trip``) or
  storage.visibility_timeouts = 1 when the other node never saw the file;
* storage.smallfiles_leftover: test entries still present afterwards.
"""

from __future__ import annotations

import json
import re
import statistics
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..models import Finding, JSONValue, Measurement, ProbeStatus, Severity, SubStatus, Unit
from ..parsers.base import ParseError
from ..parsers.fio import split_tasks
from ..parsers.mounts import Mount, mount_for_path, parse_mounts
from .base import FileKind, Measured, ProbeInput, ProbeOutput, Section, script_error
from .evidence import with_remediation

PHASES = ("create", "stat", "read", "delete")
_STEP = re.compile(r"^(?P<kind>meta|import|torch)-n(?P<n>\d+)$")


def json_lines(text: str) -> list[dict[str, Any]]:
    """The helper's JSON objects in a step's output (task-labelled or plain), in task order."""
    tasks = split_tasks(text)
    streams = list(tasks.values()) if tasks else [text]
    out = []
    for stream in streams:
        for line in stream.split("\n"):
            line = line.strip()
            if line.startswith("{"):
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if isinstance(obj, dict) and obj.get("tool") == "clustermax-smallfiles":
                    out.append(obj)
    return out


@dataclass(frozen=True)
class SmallFilesEvidence:
    target: str
    fstype: str
    meta: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    """Node count -> the nodes' meta objects."""
    imports: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    visibility: list[dict[str, Any]] | None = None
    leftover: list[str] | None = None
    expected: dict[str, int] = field(default_factory=dict)
    """Step -> nodes launched (``meta-n4`` -> 4): a node that printed nothing is incomplete."""


def _num(v: object) -> float | None:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def _complete(obj: Mapping[str, Any]) -> bool:
    if obj.get("interrupted") or obj.get("error"):
        return False
    phases = {p.get("phase"): p for p in obj.get("phases") or [] if isinstance(p, dict)}
    return all(
        k in phases and phases[k].get("complete") is True and not phases[k].get("errors") for k in PHASES[:3]
    )


def measure(ev: SmallFilesEvidence, remediation: Mapping[str, str] | None = None) -> Measured:
    ms: list[Measurement] = []
    findings: list[Finding] = []
    base = {"target": ev.target, "fstype": ev.fstype}

    def add(metric: str, value: float | int | None, unit: Unit, host: str | None, **labels: str) -> None:
        ms.append(Measurement(metric=metric, value=value, unit=unit, host=host, labels={**base, **labels}))

    medians: dict[tuple[str, str], dict[int, float]] = {}
    for n, objs in sorted(ev.meta.items()):
        files = str(objs[0].get("files", "")) if objs else ""
        done = [o for o in objs if _complete(o)]
        incomplete = max(n, len(objs)) - len(done)
        add("storage.meta_incomplete", incomplete, Unit.COUNT, None, nodes=str(n))
        if incomplete:
            cut = [str(o.get("host")) for o in objs if not _complete(o)]
            findings.append(
                Finding(
                    code="meta-incomplete",
                    severity=Severity.LOW,
                    host=None,
                    message=f"metadata test on {n} node(s) of {ev.target}: {incomplete} node(s) did not"
                    f" finish create/stat/read of {files} files within the deadline or failed"
                    + (f" ({', '.join(cut)})" if cut else ""),
                )
            )
        for phase in PHASES:
            secs = []
            for o in done:
                ph = next((p for p in o["phases"] if p.get("phase") == phase), None)
                if ph is None:
                    continue
                s = _num(ph.get("seconds"))
                host = str(o.get("host"))
                lab = {"phase": phase, "files": files, "nodes": str(n), "node": host}
                add("storage.meta_seconds", s, Unit.SECONDS, host, **lab)
                add("storage.meta_p99", _num(ph.get("p99_us")), Unit.MICROSECONDS, host, **lab)
                if s is not None:
                    secs.append(s)
            if not incomplete and len(secs) == n and secs:
                med = round(float(statistics.median(secs)), 4)
                add(
                    "storage.meta_median_seconds",
                    med,
                    Unit.SECONDS,
                    None,
                    phase=phase,
                    files=files,
                    nodes=str(n),
                )
                medians.setdefault(("meta", phase + "|" + files), {})[n] = med
    for n, objs in sorted(ev.imports.items()):
        for cache in ("cold", "warm"):
            vals = []
            module = ""
            for o in objs:
                module = str(o.get("module", ""))
                runs = [r for r in o.get("runs") or [] if isinstance(r, dict)]
                ok = (
                    not o.get("error")
                    and not o.get("interrupted")
                    and not o.get("not_from_tree")
                    and runs
                    and all(r.get("rc") == 0 for r in runs)
                )
                times = [_num(r.get("seconds")) for r in runs if r.get("cache") == cache] if ok else []
                nums = [t for t in times if t is not None]
                value = round(float(statistics.median(nums)), 4) if nums else None
                host = str(o.get("host"))
                add(
                    "storage.import_seconds",
                    value,
                    Unit.SECONDS,
                    host,
                    module=module,
                    cache=cache,
                    nodes=str(n),
                    node=host,
                )
                if value is not None:
                    vals.append(value)
            if module and len(vals) == n:
                med = round(float(statistics.median(vals)), 4)
                add(
                    "storage.import_median_seconds",
                    med,
                    Unit.SECONDS,
                    None,
                    module=module,
                    cache=cache,
                    nodes=str(n),
                )
                medians.setdefault(("import", module + "|" + cache), {})[n] = med
    for (kind, key), by_n in sorted(medians.items()):
        top = max(by_n)
        if top == 1 or 1 not in by_n or not by_n[1]:
            continue
        slope = round(by_n[top] / by_n[1], 4)
        a, b = key.split("|")
        if kind == "meta":
            add("storage.meta_slope", slope, Unit.RATIO, None, phase=a, files=b, nodes=str(top))
        else:
            add("storage.import_slope", slope, Unit.RATIO, None, module=a, cache=b, nodes=str(top))
        if slope > 4 and (kind == "import" or a in ("stat", "read")):
            what = f"import {a} ({b})" if kind == "import" else f"{a} of {b} files"
            findings.append(
                Finding(
                    code="small-files-slow",
                    severity=Severity.MEDIUM,
                    host=None,
                    message=f"{what} on {ev.target} ({ev.fstype}) takes {slope:.1f}x longer on {top} nodes"
                    f" at once than on one ({by_n[top]:.3g} s against {by_n[1]:.3g} s)",
                )
            )
    if ev.visibility is not None:
        writer = next((o for o in ev.visibility if o.get("role") == "writer"), None)
        reader = next((o for o in ev.visibility if o.get("role") == "reader"), None)
        if (
            writer is not None
            and reader is not None
            and not writer.get("error")
            and not writer.get("interrupted")
        ):
            rt = _num(writer.get("round_trip_s"))
            pair = {"writer": str(writer.get("host")), "reader": str(reader.get("host"))}
            if rt is not None:
                add("storage.visibility_seconds", rt, Unit.SECONDS, None, **pair, method="round_trip")
            add("storage.visibility_timeouts", 0 if rt is not None else 1, Unit.COUNT, None)
            if rt is None:
                findings.append(
                    Finding(
                        code="not-visible",
                        severity=Severity.HIGH,
                        host=None,
                        message=f"a file written on {pair['writer']} in {ev.target} was not seen by"
                        f" {pair['reader']} (or its reply not seen back) within {writer.get('timeout_s')} s",
                    )
                )
    if ev.leftover is not None:
        ms.append(Measurement(metric="storage.smallfiles_leftover", value=len(ev.leftover), unit=Unit.COUNT))
        if ev.leftover:
            findings.append(
                Finding(
                    code="leftover",
                    severity=Severity.MEDIUM,
                    host=None,
                    message="test entries left behind: " + ", ".join(ev.leftover[:5]),
                )
            )
    return Measured(ms, with_remediation(findings, remediation or {}))


def _kv(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip():
            out.setdefault(key.strip(), value.strip())
    return out


def _lines(sec: Section) -> list[str]:
    tasks = split_tasks(sec.text)
    text = "\n".join(tasks.values()) if tasks else sec.text
    return [ln.strip() for ln in text.split("\n") if ln.strip()]


def evidence_of(s: Mapping[str, Section], plan: Mapping[str, str]) -> SmallFilesEvidence:
    mounts: list[Mount] = []
    if "mounts" in s:
        table = "\n".join(ln for ln in s["mounts"].text.split("\n") if not ln.startswith("#"))
        try:
            mounts = parse_mounts(table).mounts
        except ParseError:
            mounts = []
    target = plan.get("dir") or plan.get("target", "")
    mount = mount_for_path(mounts, target) if target else None
    meta: dict[int, list[dict[str, Any]]] = {}
    imports: dict[int, list[dict[str, Any]]] = {}
    for name, sec in s.items():
        m = _STEP.match(name)
        if not m:
            continue
        objs = json_lines(sec.text)
        n = int(m.group("n"))
        if m.group("kind") == "meta":
            meta[n] = [o for o in objs if o.get("command") == "meta"]
        else:
            imports[n] = [o for o in objs if o.get("command") in ("import-run", "torch")]
    vis = json_lines(s["visibility"].text) if "visibility" in s else None
    leftover = _lines(s["leftover"]) if "leftover" in s and s["leftover"].rc == 0 else None
    return SmallFilesEvidence(
        target=plan.get("target", target),
        fstype=mount.fstype if mount else "unknown",
        meta=meta,
        imports=imports,
        visibility=vis,
        leftover=leftover,
    )


def from_sections(inp: ProbeInput) -> ProbeOutput:
    s = inp.sections
    rem = inp.spec.remediation
    if (unsupported := script_error(s)) is not None:
        return unsupported
    plan = _kv(s["plan"].text) if "plan" in s else {}
    facts: dict[str, JSONValue] = {"plan": dict(plan)}
    if plan.get("skipped"):
        kind = plan.get("skip_kind", "")
        sub = {
            "not-applicable": SubStatus.NOT_APPLICABLE,
            "no-target": SubStatus.NOT_APPLICABLE,
            "not-installed": SubStatus.NOT_INSTALLED,
            "not-writable": SubStatus.NO_PERMISSION,
        }.get(kind, SubStatus.UNSUPPORTED)
        remediation = rem.get("python-missing") if kind == "not-installed" else rem.get(kind)
        return ProbeOutput(
            status=ProbeStatus.SKIPPED if kind != "not-writable" else ProbeStatus.ERROR,
            substatus=sub,
            message=plan["skipped"],
            remediation=remediation,
            facts=facts,
        )
    ev = evidence_of(s, plan)
    measured = measure(ev, rem)
    values = [m for m in measured.measurements if m.value is not None]
    if not values:
        return ProbeOutput(
            status=ProbeStatus.ERROR,
            substatus=SubStatus.COMMAND_FAILED,
            message="no small-file test gave a result (see the sections in the bundle)",
            measurements=measured.measurements,
            findings=measured.findings,
            facts=facts,
        )
    parts = []
    for m in measured.measurements:
        if m.metric == "storage.meta_median_seconds" and m.labels.get("phase") == "stat":
            parts.append(f"stat x{m.labels['nodes']}: {m.value} s")
        if m.metric == "storage.import_median_seconds" and m.labels.get("cache") == "cold":
            parts.append(f"import {m.labels['module']} cold x{m.labels['nodes']}: {m.value} s")
        if m.metric == "storage.visibility_seconds":
            parts.append(f"visible (round trip) {m.value} s")
    bad = any(f.severity in (Severity.HIGH, Severity.CRITICAL) for f in measured.findings)
    return ProbeOutput(
        status=ProbeStatus.FAILED if bad else ProbeStatus.OK,
        message="; ".join(parts) or "small-file tests ran",
        measurements=measured.measurements,
        findings=measured.findings,
        facts=facts,
    )


FILES: tuple[FileKind, ...] = ()
