"""storage_discover probe: the filesystems a job sees on a node, and the mounts that should be there.

Sections are described in ``probes/storage_discover/run.sh``; the tables are read with
:mod:`clustermax.parsers.mounts`. Mapping (:func:`measure`), per node:

* storage.shared_mounts: mounts whose type :func:`~clustermax.parsers.mounts.classify` calls shared;
  storage.mount_type {target, kind, source} for every data mount (shared, object, or local other than
  the system's own: /, /boot, /etc/..., container and kubelet directories);
* storage.mounts_expected: fstab entries that should be mounted (:func:`should_be_mounted`) plus the
  indirect mount points of /etc/auto.master; storage.mounts_missing (with
  storage.mounts_missing_targets): those with no mountinfo line at their target. An ``autofs`` mount at
  the target counts as mounted (it mounts on first access). Not reported when nothing is expected: a
  count over zero entries says nothing either way. Without an fstab section the metrics are left out;
* storage.shared_unresponsive: shared mounts whose ``stat -f`` did not answer within 5 s (rc 124) or
  failed;
* storage.home_shared / storage.home_fstype: the mount holding $HOME;
* storage.local_nvme_mounts: mounts of /dev/nvme* other than /.

Findings: ``mount-missing`` (high), ``mount-unresponsive`` (high), ``no-shared-fs`` (medium),
``home-not-shared`` (low).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from ..models import Finding, Measurement, ProbeStatus, Severity, SubStatus, Unit
from ..parsers.base import ParseError
from ..parsers.mounts import (
    FstabEntry,
    Mount,
    mount_for_path,
    parse_auto_master,
    parse_fstab,
    parse_mounts,
    should_be_mounted,
)
from .base import FileKind, Measured, ProbeInput, ProbeOutput
from .evidence import with_remediation

_SYSTEM_PREFIXES = (
    "/boot",
    "/etc",
    "/run",
    "/var/run",
    "/var/lib/docker",
    "/var/lib/kubelet",
    "/var/lib/containerd",
    "/snap",
)


@dataclass(frozen=True)
class DiscoverEvidence:
    mounts: list[Mount] | None
    """None: the mount table could not be read."""
    fstab: list[FstabEntry] | None = None
    """None: not collected."""
    automount_points: list[str] = field(default_factory=list)
    home: str | None = None
    responsive: dict[str, int] | None = None
    """Shared mount point -> rc of its ``stat -f`` (124: timed out); None: not collected."""


def is_data_mount(m: Mount) -> bool:
    if m.kind in ("shared", "object"):
        return True
    if m.kind != "local" or m.target == "/":
        return False
    return not any(m.target == p or m.target.startswith(p + "/") for p in _SYSTEM_PREFIXES)


def _mounted_at(mounts: list[Mount], target: str) -> bool:
    t = target.rstrip("/") or "/"
    return any((m.target.rstrip("/") or "/") == t for m in mounts)


def measure(ev: DiscoverEvidence, host: str, remediation: Mapping[str, str] | None = None) -> Measured:
    ms: list[Measurement] = []
    findings: list[Finding] = []

    def add(metric: str, value: bool | int | str | None, unit: Unit, **labels: str) -> None:
        ms.append(Measurement(metric=metric, value=value, unit=unit, host=host, labels=labels))

    if ev.mounts is None:
        add("storage.shared_mounts", None, Unit.COUNT)
        return Measured(ms, findings)
    mounts = ev.mounts
    shared = [m for m in mounts if m.kind == "shared"]
    add("storage.shared_mounts", len(shared), Unit.COUNT)
    for m in mounts:
        if is_data_mount(m):
            add("storage.mount_type", m.fstype, Unit.TEXT, target=m.target, kind=m.kind, source=m.source)
    if not shared:
        findings.append(
            Finding(
                code="no-shared-fs",
                severity=Severity.MEDIUM,
                host=host,
                message=f"{host} has no shared filesystem mounted (only local, memory and system mounts)",
            )
        )
    if ev.fstab is not None:
        expected = [(e.target, f"{e.fstype} from {e.source}") for e in ev.fstab if should_be_mounted(e)]
        expected += [(p, "autofs map point") for p in ev.automount_points]
        unique: list[tuple[str, str]] = []
        for t, w in expected:  # the first entry of a target counts
            if all(t != u for u, _ in unique):
                unique.append((t, w))
        add("storage.mounts_expected", len(unique), Unit.COUNT)
        if unique:
            missing = [(t, w) for t, w in unique if not _mounted_at(mounts, t)]
            add("storage.mounts_missing", len(missing), Unit.COUNT)
            add("storage.mounts_missing_targets", ",".join(t for t, _ in missing), Unit.TEXT)
            if missing:
                shown = "; ".join(f"{t} ({w})" for t, w in missing[:10])
                findings.append(
                    Finding(
                        code="mount-missing",
                        severity=Severity.HIGH,
                        host=host,
                        message=f"{len(missing)} of {len(unique)} filesystems that {host} should have mounted"
                        f" (fstab/autofs) are not mounted: {shown}",
                    )
                )
    if ev.responsive is not None:
        bad = {t: rc for t, rc in ev.responsive.items() if rc != 0}
        add("storage.shared_unresponsive", len(bad), Unit.COUNT)
        if bad:
            shown = ", ".join(
                f"{t} ({'no answer in 5 s' if rc == 124 else f'statfs failed, rc {rc}'})"
                for t, rc in sorted(bad.items())
            )
            findings.append(
                Finding(
                    code="mount-unresponsive",
                    severity=Severity.HIGH,
                    host=host,
                    message=f"shared filesystems on {host} that do not answer: {shown}",
                )
            )
    if ev.home:
        home_mount = mount_for_path(mounts, ev.home)
        if home_mount is not None:
            add("storage.home_shared", home_mount.kind == "shared", Unit.BOOL)
            add("storage.home_fstype", home_mount.fstype, Unit.TEXT)
            if home_mount.kind != "shared":
                findings.append(
                    Finding(
                        code="home-not-shared",
                        severity=Severity.LOW,
                        host=host,
                        message=f"the home directory {ev.home} on {host} is on {home_mount.fstype}"
                        f" ({home_mount.target}), not on a shared filesystem",
                    )
                )
    nvme = [m for m in mounts if m.source.startswith("/dev/nvme") and m.target != "/"]
    add("storage.local_nvme_mounts", len({m.source for m in nvme}), Unit.COUNT)
    return Measured(ms, with_remediation(findings, remediation or {}))


def _kv(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            out.setdefault(key.strip(), value.strip())
    return out


def from_sections(inp: ProbeInput) -> ProbeOutput:
    s = inp.sections
    if "mountinfo" not in s:
        return ProbeOutput(
            status=ProbeStatus.ERROR,
            substatus=SubStatus.COMMAND_FAILED,
            message="no mount table in the output",
        )
    try:
        mounts: list[Mount] | None = parse_mounts(s["mountinfo"].text).mounts
    except ParseError:
        mounts = None
    fstab = parse_fstab(s["fstab"].text).entries if "fstab" in s and s["fstab"].rc == 0 else None
    points = parse_auto_master(s["auto-master"].text)[0] if "auto-master" in s else []
    home = _kv(s["home"].text).get("HOME") or None if "home" in s else None
    responsive: dict[str, int] | None = None
    if "responsive" in s and s["responsive"].rc == 0:
        responsive = {}
        for line in s["responsive"].text.splitlines():
            rc, _, target = line.partition(" ")
            if rc.isdigit() and target:
                responsive[target] = int(rc)
    ev = DiscoverEvidence(
        mounts=mounts, fstab=fstab, automount_points=points, home=home, responsive=responsive
    )
    measured = measure(ev, inp.host, inp.spec.remediation)
    if mounts is None:
        return ProbeOutput(
            status=ProbeStatus.ERROR,
            substatus=SubStatus.PARSE_ERROR,
            message="the mount table could not be read",
            measurements=measured.measurements,
        )
    values = {m.metric: m.value for m in measured.measurements if not m.labels}
    parts = [f"{values.get('storage.shared_mounts')} shared filesystem(s)"]
    if values.get("storage.mounts_missing"):
        parts.append(f"{values['storage.mounts_missing']} expected mount(s) missing")
    bad = any(f.severity in (Severity.HIGH, Severity.CRITICAL) for f in measured.findings)
    return ProbeOutput(
        status=ProbeStatus.FAILED if bad else ProbeStatus.OK,
        message=", ".join(parts),
        remediation=next((f.remediation for f in measured.findings if f.severity is Severity.HIGH), None),
        measurements=measured.measurements,
        findings=measured.findings,
    )


FILES: tuple[FileKind, ...] = ()
