"""vm_guest: what a virtual machine's guest can see of its virtualisation (sections in
``probes/vm_guest/run.sh``). Bare metal (``systemd-detect-virt --vm`` prints ``none``) is *not applicable*.

* ``security.nested_virt_exposed``: the host exposes VMX/SVM to the guest and the guest has /dev/kvm, so a
  tenant can run its own guests, the precondition of nested-virtualisation escapes such as Januscape
  (CVE-2026-53359): the host must carry the fix, which only the provider can attest.
* ``system.iommu_translated``: a GPU or RDMA NIC of the guest sits in an IOMMU group whose type is DMA or
  DMA-FQ (every DMA is translated, which costs bandwidth); identity, or no IOMMU group at all, is false.
  Left out when the guest has no GPU or RDMA NIC.
* ``system.arm_smmu_cmdqv``: on an aarch64 guest with an SMMUv3: whether the tegra241 CMDQV (Grace's
  command-queue virtualisation) is there. Left out on x86 and without an SMMU.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from ..models import Finding, Measurement, ProbeStatus, ScalarValue, Severity, SubStatus, Unit
from .base import FileKind, Measured, ProbeInput, ProbeOutput, Section
from .evidence import with_remediation


def _ok(section: Section | None) -> str | None:
    return section.text if section is not None and section.ok else None


@dataclass(frozen=True)
class IommuDevice:
    kind: str
    bdf: str
    group: str | None
    type: str | None


@dataclass(frozen=True)
class VmGuestEvidence:
    virt: str | None = None
    """Hypervisor name; ``none`` on bare metal; None when it could not be told."""
    arch: str | None = None
    vmx: bool | None = None
    kvm_present: bool | None = None
    kvm_open: bool | None = None
    nested: str | None = None
    cmdline: str | None = None
    iommu: list[IommuDevice] = field(default_factory=list)
    iommu_units: list[str] = field(default_factory=list)
    cmdqv: bool | None = None


def _virt(section: Section | None) -> str | None:
    if section is None or section.rc is None:
        return None
    words = section.text.split()
    if not words:
        return None
    first = words[0].strip().lower()
    if first == "hypervisor-flag":
        return "unknown hypervisor"
    return first


def _iommu(text: str) -> tuple[list[IommuDevice], list[str]]:
    devices: list[IommuDevice] = []
    units: list[str] = []
    for line in text.splitlines():
        parts = line.split()
        if not parts:
            continue
        if parts[0] == "units":
            units = [u for u in (parts[1] if len(parts) > 1 else "").split(",") if u]
            continue
        if parts[0] in ("gpu", "nic") and len(parts) >= 2:
            kv = dict(p.split("=", 1) for p in parts[2:] if "=" in p)
            devices.append(IommuDevice(parts[0], parts[1], kv.get("group") or None, kv.get("type") or None))
    return devices, units


def evidence(s: Mapping[str, Section]) -> VmGuestEvidence:
    flags = _ok(s.get("cpu-flags"))
    kvm = _ok(s.get("kvm"))
    nested = None
    if kvm:
        for line in kvm.splitlines():
            if "/parameters/nested:" in line:
                nested = line.rsplit(":", 1)[1].strip()
    devices, units = _iommu(_ok(s.get("iommu")) or "")
    cmdqv = s.get("cmdqv")
    return VmGuestEvidence(
        virt=_virt(s.get("virt")),
        arch=(_ok(s.get("arch")) or "").strip() or None,
        vmx=None if flags is None else bool({"vmx", "svm"} & set(flags.split())),
        kvm_present=None if kvm is None else "/dev/kvm present" in kvm,
        kvm_open=None if kvm is None else "/dev/kvm present rw" in kvm,
        nested=nested,
        cmdline=_ok(s.get("cmdline")),
        iommu=devices,
        iommu_units=units,
        cmdqv=None if cmdqv is None or cmdqv.rc is None else bool(cmdqv.text.strip()),
    )


def translated(ev: VmGuestEvidence) -> bool | None:
    """Does the guest IOMMU translate the DMA of any of its GPUs or RDMA NICs?"""
    if not ev.iommu:
        return None
    results: list[bool | None] = []
    cmdline = (ev.cmdline or "").split()
    passthrough = any(a in ("iommu=pt", "iommu.passthrough=1") for a in cmdline)
    for dev in ev.iommu:
        if dev.group is None:
            results.append(False)  # in no IOMMU group: the guest has no IOMMU over it
        elif dev.type:
            results.append(dev.type.upper().startswith("DMA"))
        else:
            results.append(False if passthrough else None)  # an old kernel without the type file
    if any(r is True for r in results):
        return True
    return None if any(r is None for r in results) else False


def measure(ev: VmGuestEvidence, host: str, remediation: Mapping[str, str] | None = None) -> Measured:
    out: list[Measurement] = []
    findings: list[Finding] = []

    def m(metric: str, value: ScalarValue, unit: Unit, **labels: str) -> None:
        out.append(Measurement(metric=metric, value=value, unit=unit, host=host, labels=labels))

    m("system.virtualization", ev.virt, Unit.TEXT)
    if ev.vmx is not None and ev.kvm_present is not None:
        exposed = ev.vmx and ev.kvm_present
        m("security.nested_virt_exposed", exposed, Unit.BOOL)
        if exposed:
            findings.append(
                Finding(
                    code="nested-virt",
                    severity=Severity.MEDIUM,
                    host=host,
                    message="the guest exposes VMX/SVM and /dev/kvm: a tenant can run nested guests "
                    f"(kvm nested={ev.nested or 'unknown'})",
                )
            )
    trans = translated(ev)
    if ev.iommu:
        m("system.iommu_translated", trans, Unit.BOOL)
        if trans:
            findings.append(
                Finding(
                    code="iommu-translated",
                    severity=Severity.LOW,
                    host=host,
                    message="the guest IOMMU translates the DMA of its GPUs/NICs (IOMMU group type DMA)",
                )
            )
    if ev.arch == "aarch64" and any(u.startswith("smmu") for u in ev.iommu_units) and ev.cmdqv is not None:
        m("system.arm_smmu_cmdqv", ev.cmdqv, Unit.BOOL)
    return Measured(out, with_remediation(findings, remediation or {}))


def from_sections(inp: ProbeInput) -> ProbeOutput:
    ev = evidence(inp.sections)
    if "virt" not in inp.sections:
        return ProbeOutput(
            status=ProbeStatus.ERROR,
            substatus=SubStatus.COMMAND_FAILED,
            message="the script printed no section",
        )
    if ev.virt == "none":
        return ProbeOutput(
            status=ProbeStatus.SKIPPED,
            substatus=SubStatus.NOT_APPLICABLE,
            message="bare metal (systemd-detect-virt --vm: none): no guest boundary to read",
        )
    measurements, findings = measure(ev, inp.host, inp.spec.remediation)
    return ProbeOutput(
        message=f"virtual machine ({ev.virt or 'hypervisor unknown'})",
        measurements=measurements,
        findings=findings,
    )


FILES: tuple[FileKind, ...] = ()
"""No parser kind: ``clustermax import`` files no output under this probe."""
