"""node_isolation: a newer kernel installed than the one booted, the running kernel per distro, and the
tenant's reach to the BMC through the in-band IPMI device (sections in ``probes/node_isolation/run.sh``).

* ``system.kernel_reboot_pending``: true when a kernel package of the running flavour is newer than the
  running kernel (Debian/Ubuntu: ``linux-image-<release>`` names; Debian also updates a release in place,
  so the package version is compared with the one ``uname -v`` names; rpm: ``kernel``/``kernel-core``), or
  /var/run/reboot-required.pkgs names a kernel. Null when no installed kernel package matches the running
  one (a kernel the package manager does not know: cmax passes that case, clustermax says not measured).
* ``system.kernel_release``: the running kernel without its flavour, labelled with the distro
  (``ubuntu-24.04``) so the rubric can judge it against that distro's fixed kernel.
* ``security.bmc_tenant_access``: true when the audit user can open an IPMI device (or ``ipmitool mc
  info`` answered); false when the node has none, or only root can open it and the audit is not root.
* ``security.vmscape_mitigated``: on bare metal only (in a VM the file describes the guest's kernel, not
  the hypervisor's, which only the provider can show): the kernel's vulnerabilities/vmscape says "Not
  affected" or "Mitigation: ..." (true), "Vulnerable" (false). Left out where the kernel has no such file.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from ..models import Finding, Measurement, ScalarValue, Severity, Unit
from ..parsers.hostinfo import KernelPackage, distro_id, kernel_packages, kernel_release, os_release
from .base import FileKind, Measured, ProbeInput, ProbeOutput, Section
from .evidence import with_remediation

_DEBIAN_UNAME_V = re.compile(r"\bDebian (?P<v>\d\S*)")


def _key(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", version))


@dataclass(frozen=True)
class KernelState:
    running: str
    pending: bool | None
    newest: str | None
    why: str


def kernel_state(uname: str, packages: list[KernelPackage] | None, reboot_pkgs: str | None) -> KernelState:
    """Whether a newer kernel of the running flavour is installed than the one ``uname`` names."""
    lines = uname.splitlines()
    running = lines[0].strip() if lines else ""
    uname_v = lines[1] if len(lines) > 1 else ""
    if reboot_pkgs is not None and "linux-image" in reboot_pkgs:
        return KernelState(running, True, None, "/var/run/reboot-required.pkgs names a kernel package")
    if not packages:
        return KernelState(
            running, None, None, "no kernel package is installed: the package manager does not know it"
        )
    rel = kernel_release(running)
    flavour = rel.flavour if rel is not None else ""
    deb = [p for p in packages if p.name.startswith("linux-image-")]
    if deb:
        same = [p for p in deb if (r := kernel_release(p.release)) is not None and r.flavour == flavour]
        mine = next((p for p in same if p.release == running), None)
        if mine is None:
            return KernelState(
                running, None, None, f"no installed package holds the running kernel {running}"
            )
        newest = max(same, key=lambda p: _key(p.release))
        if _key(newest.release) > _key(running):
            return KernelState(running, True, newest.release, f"{newest.name} {newest.version} is installed")
        booted = _DEBIAN_UNAME_V.search(uname_v)
        if booted and _key(mine.version) > _key(booted.group("v")):
            return KernelState(
                running,
                True,
                running,
                f"{mine.name} was updated to {mine.version}; {booted.group('v')} is booted",
            )
        return KernelState(
            running, False, newest.release, f"{running} is the newest {flavour or 'kernel'} installed"
        )
    names = {p.release for p in packages}
    if running not in names:
        return KernelState(running, None, None, f"no installed package holds the running kernel {running}")
    newest_rpm = max(packages, key=lambda p: _key(p.release))
    if _key(newest_rpm.release) > _key(running):
        return KernelState(
            running, True, newest_rpm.release, f"{newest_rpm.name} {newest_rpm.release} is installed"
        )
    return KernelState(running, False, newest_rpm.release, f"{running} is the newest kernel installed")


@dataclass(frozen=True)
class Bmc:
    devices: list[str]
    """IPMI device nodes that exist."""
    open_to_user: list[str]
    mc_info_ok: bool


@dataclass(frozen=True)
class NodeIsolationEvidence:
    kernel: KernelState | None = None
    distro: str | None = None
    bmc: Bmc | None = None
    bare_metal: bool | None = None
    vmscape: str | None = None
    """The kernel's own VMSCAPE line (None: no such file)."""


def evidence(s: Mapping[str, Section]) -> NodeIsolationEvidence:
    kernel: KernelState | None = None
    uname = s.get("uname")
    if uname is not None and uname.ok and uname.text.strip():
        pk = s.get("kernel-packages")
        packages = kernel_packages(pk.text) if pk is not None and pk.rc is not None and pk.rc != 127 else None
        reboot = s.get("reboot-required")
        kernel = kernel_state(uname.text, packages, reboot.text if reboot is not None else None)
    osr = s.get("os-release")
    distro = distro_id(os_release(osr.text)) if osr is not None and osr.ok else None
    bmc: Bmc | None = None
    devices = s.get("ipmi-devices")
    if devices is not None and devices.ok:
        rows = [line.split() for line in devices.text.splitlines() if line.strip()]
        mc = s.get("ipmitool-mc")
        bmc = Bmc(
            devices=[r[0] for r in rows],
            open_to_user=[r[0] for r in rows if len(r) > 1 and r[1] == "rw"],
            mc_info_ok=mc is not None and mc.ok and "Device ID" in mc.text,
        )
    virt = s.get("virt")
    bare = (
        None if virt is None or virt.rc is None or not virt.text.strip() else virt.text.split()[0] == "none"
    )
    vmscape = s.get("vmscape")
    line = vmscape.text.strip() if vmscape is not None and vmscape.ok and vmscape.text.strip() else None
    return NodeIsolationEvidence(kernel, distro, bmc, bare, line)


def measure(ev: NodeIsolationEvidence, host: str, remediation: Mapping[str, str] | None = None) -> Measured:
    out: list[Measurement] = []
    findings: list[Finding] = []

    def m(metric: str, value: ScalarValue, unit: Unit, **labels: str) -> None:
        out.append(Measurement(metric=metric, value=value, unit=unit, host=host, labels=labels))

    if ev.kernel is not None:
        m("system.kernel_reboot_pending", ev.kernel.pending, Unit.BOOL)
        if ev.kernel.newest is not None:
            m("system.kernel_newest_installed", ev.kernel.newest, Unit.VERSION)
        rel = kernel_release(ev.kernel.running)
        if rel is not None:
            m(
                "system.kernel_release",
                rel.base,
                Unit.VERSION,
                distro=ev.distro or "unknown",
                flavour=rel.flavour.lstrip("-") or "none",
            )
        if ev.kernel.pending:
            findings.append(
                Finding(
                    code="reboot-pending",
                    severity=Severity.MEDIUM,
                    host=host,
                    message=f"the node runs {ev.kernel.running} but {ev.kernel.why}: its fixes are not "
                    "active "
                    "until a reboot",
                )
            )
    if ev.bmc is not None:
        m("security.bmc_in_band", bool(ev.bmc.devices), Unit.BOOL)
        exposed = bool(ev.bmc.open_to_user) or ev.bmc.mc_info_ok
        m("security.bmc_tenant_access", exposed, Unit.BOOL)
        if exposed:
            findings.append(
                Finding(
                    code="bmc-exposed",
                    severity=Severity.HIGH,
                    host=host,
                    message=f"the audit user can open {', '.join(ev.bmc.open_to_user) or 'the IPMI device'}: "
                    "the "
                    "tenant reaches the BMC in band",
                )
            )
    if ev.bare_metal and ev.vmscape is not None:
        mitigated = ev.vmscape.startswith(("Not affected", "Mitigation"))
        m("security.vmscape_mitigated", mitigated, Unit.BOOL)
        if not mitigated:
            findings.append(
                Finding(code="vmscape", severity=Severity.MEDIUM, host=host,
                        message=f"the kernel reports VMSCAPE (CVE-2025-40300): {ev.vmscape}")
            )  # fmt: skip
    return Measured(out, with_remediation(findings, remediation or {}))


def from_sections(inp: ProbeInput) -> ProbeOutput:
    ev = evidence(inp.sections)
    measurements, findings = measure(ev, inp.host, inp.spec.remediation)
    parts = []
    if ev.kernel is not None:
        parts.append(f"kernel {ev.kernel.running}: {ev.kernel.why}")
    if ev.bmc is not None:
        parts.append(
            f"IPMI devices: {', '.join(ev.bmc.devices)} "
            f"({'open to the audit user' if ev.bmc.open_to_user else 'root only'})"
            if ev.bmc.devices
            else "no IPMI device"
        )
    return ProbeOutput(message="; ".join(parts), measurements=measurements, findings=findings)


FILES: tuple[FileKind, ...] = ()
"""No parser kind: ``clustermax import`` files no output under this probe."""
