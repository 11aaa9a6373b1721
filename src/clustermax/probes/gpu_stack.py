"""gpu_stack: the GPU software of one GPU node (sections in ``probes/gpu_stack/run.sh``).

A node without an NVIDIA GPU (no NVIDIA display/3D PCI function, no loaded driver, no nvidia-smi) is
*not applicable*: every criterion over these metrics is then not applicable on it, never passed or failed.

* ``gpu.dcgm_installed``: dcgmi, nv-hostengine or a DCGM package; ``gpu.dcgm_version`` from
  ``dcgmi --version`` (else the package). Absence of DCGM is a finding.
* ``gpu.gdrcopy_ready``: libgdrapi in the linker cache and the gdrdrv driver loaded (its /proc/modules
  line, or its /dev/gdrdrv device); null when the library is there but /proc/modules cannot be read and no
  device node shows (the module's state is unknown, so not measured).
* ``gpu.gpudirect_path``: ``dma-buf`` (the open kernel module on Linux >= 5.12), ``nvidia-peermem``
  (the legacy module alone) or ``none``; null without a loaded driver.
* ``gpu.profiling_admin_only``: RmProfilingAdminOnly of /proc/driver/nvidia/params (label source=driver),
  else NVreg_RestrictProfilingToAdminUsers of modprobe.d (source=modprobe.d).
* ``gpu.coherent_memory_numa``: only on Grace Hopper / Grace Blackwell (GH200, GB200, GB300): true when a
  CPU-less NUMA node of at least 64 GiB is onlined (the GPU's HBM as system memory).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from ..models import Finding, Measurement, ProbeStatus, ScalarValue, Severity, SubStatus, Unit
from ..parsers import software as sw
from ..parsers.hostinfo import (
    BoostSlider,
    NumaNode,
    boost_sliders,
    driver_params,
    ldconfig_libraries,
    numa_nodes,
    restrict_profiling_setting,
)
from ..parsers.system import kernel_at_least, loaded_modules
from .base import FileKind, Measured, ProbeInput, ProbeOutput, Section
from .evidence import with_remediation

COHERENT_GPU = re.compile(r"\b(GH200|GB200|GB300|Grace)\b", re.IGNORECASE)
HBM_NODE_KB = 64 * 1024 * 1024
"""A CPU-less NUMA node this large (64 GiB) is GPU memory onlined as system memory, not a MIG placeholder."""
_NCCL_FILE = re.compile(r"libnccl\.so\.(?P<v>\d+\.\d+\.\d+)")


def _ok(section: Section | None) -> str | None:
    return section.text if section is not None and section.ok else None


def _missing(section: Section | None) -> bool:
    return section is not None and section.rc == 127 and section.missing is not None


@dataclass(frozen=True)
class GpuStackEvidence:
    gpus: list[str] = field(default_factory=list)
    """PCI addresses of the NVIDIA GPUs."""
    driver_version_text: str | None = None
    gpu_names: list[str] = field(default_factory=list)
    dcgm_installed: bool | None = None
    dcgm_version: str | None = None
    gdrcopy_ready: bool | None = None
    gdrcopy_read: bool = False
    """The gdrcopy section ran (gdrcopy_ready None then means: cannot tell)."""
    gpudirect_path: str | None = None
    profiling: tuple[bool, str] | None = None
    ncu: bool | None = None
    ncu_version: str | None = None
    nccl: bool | None = None
    nccl_version: str | None = None
    nct: bool | None = None
    nct_version: str | None = None
    numa: list[NumaNode] | None = None
    sliders: list[BoostSlider] = field(default_factory=list)
    exporter_version: tuple[str, str] | None = None
    """(version, source: cli or package)."""

    @property
    def has_gpu(self) -> bool:
        return bool(self.gpus or self.driver_version_text or self.gpu_names)

    @property
    def gpu_count(self) -> int | None:
        """NVIDIA GPUs on the node (PCI functions, else nvidia-smi's names); 0 without any; None when only a
        loaded driver shows that there are some."""
        if not self.has_gpu:
            return 0
        return max(len(self.gpus), len(self.gpu_names)) or None


def _dcgm(s: Mapping[str, Section]) -> tuple[bool | None, str | None]:
    dcgmi, pkg, engine = s.get("dcgmi"), s.get("dcgm-package"), s.get("hostengine")
    if dcgmi is None and pkg is None:
        return None, None
    packages = sw.package_lines(pkg.text) if pkg is not None and pkg.ok else {}
    version = sw.dcgmi_version(dcgmi.text) if dcgmi is not None and not _missing(dcgmi) else None
    if version is None and packages:
        version = sw.strip_epoch(sorted(packages.values())[-1])
    installed = (dcgmi is not None and not _missing(dcgmi)) or bool(packages)
    installed = installed or bool(engine is not None and engine.text.strip())
    return installed, version


def _gdrcopy(s: Mapping[str, Section]) -> bool | None:
    gdr = s.get("gdrcopy")
    if gdr is None or not gdr.ok:
        return None
    library = bool(ldconfig_libraries(gdr.text, "libgdrapi.so"))
    device = "/dev/gdrdrv" in gdr.text.split()
    if not library:
        return False
    if device:
        return True
    modules = s.get("modules")
    if modules is None or not modules.ok:
        return None  # the library is there; whether gdrdrv is loaded cannot be read
    return "gdrdrv" in loaded_modules(modules.text)


def _gpudirect(s: Mapping[str, Section]) -> str | None:
    version = _ok(s.get("nvidia-version"))
    if not version:
        return None
    modules = s.get("modules")
    loaded = loaded_modules(modules.text) if modules is not None and modules.ok else set()
    kernel = (_ok(s.get("kernel")) or "").strip()
    if "Open Kernel Module" in version and kernel_at_least(kernel, 5, 12):
        return "dma-buf"
    if loaded & {"nvidia_peermem", "nv_peer_mem"}:
        return "nvidia-peermem"
    if modules is None or not modules.ok:
        return None  # a proprietary module and /proc/modules unreadable: peermem unknown
    return "none"


def _profiling(s: Mapping[str, Section]) -> tuple[bool, str] | None:
    params = _ok(s.get("nvidia-params"))
    if params:
        value = driver_params(params).get("RmProfilingAdminOnly")
        if value in ("0", "1"):
            return value == "1", "driver"
    nvreg = _ok(s.get("modprobe-nvreg"))
    setting = restrict_profiling_setting(nvreg) if nvreg else None
    if setting is not None:
        return setting != 0, "modprobe.d"
    return None


def _nccl(s: Mapping[str, Section]) -> tuple[bool | None, str | None]:
    text = _ok(s.get("nccl"))
    if text is None:
        return None, None
    paths = ldconfig_libraries(text, "libnccl.so") + [
        line.split(None, 1)[1] for line in text.splitlines() if line.startswith("file ")
    ]
    packages = sw.package_lines(text)
    version = None
    for name in ("libnccl2", "libnccl"):
        if name in packages:
            version = sw.strip_epoch(packages[name]).split("-")[0]
    if version is None:
        found = [m.group("v") for p in paths if (m := _NCCL_FILE.search(p))]
        version = max(found, key=lambda v: tuple(int(x) for x in v.split("."))) if found else None
    return bool(paths or packages), version


def _nct(s: Mapping[str, Section]) -> tuple[bool | None, str | None]:
    ctk, runtime, pkg = s.get("nvidia-ctk"), s.get("nvidia-container-runtime"), s.get("nct-package")
    cdi, docker = s.get("cdi"), s.get("docker-runtimes")
    if ctk is None and pkg is None:
        return None, None
    version = None
    for section in (ctk, runtime):
        if section is not None and not _missing(section) and version is None:
            version = sw.container_toolkit_version(section.text)
    packages = sw.package_lines(pkg.text) if pkg is not None and pkg.ok else {}
    if version is None:
        for name in ("nvidia-container-toolkit", "nvidia-container-toolkit-base"):
            if name in packages:
                version = sw.strip_epoch(packages[name])
                break
    cli = any(sec is not None and not _missing(sec) for sec in (ctk, runtime))
    cdi_spec = bool(cdi is not None and cdi.ok and cdi.text.strip())
    docker_runtime = bool(docker is not None and docker.ok and '"nvidia"' in docker.text)
    return cli or bool(packages) or cdi_spec or docker_runtime, version


def _exporter(s: Mapping[str, Section]) -> tuple[str, str] | None:
    text = _ok(s.get("dcgm-exporter"))
    if not text:
        return None
    cli = sw.dcgm_exporter_cli_version(text)
    if cli:
        return cli, "cli"
    packages = sw.package_lines(text)
    for name in ("datacenter-gpu-manager-exporter", "dcgm-exporter"):
        if name in packages:
            return sw.strip_epoch(packages[name]), "package"
    return None


def evidence(s: Mapping[str, Section]) -> GpuStackEvidence:
    pci = _ok(s.get("pci-gpus")) or ""
    names = _ok(s.get("gpu-names")) or ""
    dcgm_installed, dcgm_version = _dcgm(s)
    ncu = s.get("ncu")
    nccl, nccl_version = _nccl(s)
    nct, nct_version = _nct(s)
    numa = s.get("numa")
    slider = _ok(s.get("boost-slider"))
    return GpuStackEvidence(
        gpus=[line.split()[0] for line in pci.splitlines() if line.strip()],
        driver_version_text=_ok(s.get("nvidia-version")),
        gpu_names=[line.strip() for line in names.splitlines() if line.strip()],
        dcgm_installed=dcgm_installed,
        dcgm_version=dcgm_version,
        gdrcopy_ready=_gdrcopy(s),
        gdrcopy_read="gdrcopy" in s,
        gpudirect_path=_gpudirect(s),
        profiling=_profiling(s),
        ncu=None if ncu is None else not _missing(ncu),
        ncu_version=sw.ncu_version(ncu.text) if ncu is not None and not _missing(ncu) else None,
        nccl=nccl,
        nccl_version=nccl_version,
        nct=nct,
        nct_version=nct_version,
        numa=numa_nodes(numa.text) if numa is not None and numa.ok else None,
        sliders=boost_sliders(slider) if slider else [],
        exporter_version=_exporter(s),
    )


def coherent_memory_numa(ev: GpuStackEvidence) -> bool | None:
    """On a Grace Hopper / Grace Blackwell node: is a CPU-less NUMA node of HBM size onlined? None on other
    GPUs (the question does not arise) or without the NUMA listing."""
    if not any(COHERENT_GPU.search(name) for name in ev.gpu_names) or ev.numa is None:
        return None
    return any(not node.cpus and (node.mem_kb or 0) >= HBM_NODE_KB for node in ev.numa)


def measure(ev: GpuStackEvidence, host: str, remediation: Mapping[str, str] | None = None) -> Measured:
    out: list[Measurement] = []
    findings: list[Finding] = []

    def m(metric: str, value: ScalarValue, unit: Unit, **labels: str) -> None:
        out.append(Measurement(metric=metric, value=value, unit=unit, host=host, labels=labels))

    def finding(code: str, severity: Severity, message: str) -> None:
        findings.append(Finding(code=code, severity=severity, host=host, message=message))

    m("gpu.node_gpus", ev.gpu_count, Unit.COUNT)
    if ev.dcgm_installed is not None:
        m("gpu.dcgm_installed", ev.dcgm_installed, Unit.BOOL)
        if ev.dcgm_installed:
            m("gpu.dcgm_version", ev.dcgm_version, Unit.VERSION)
        else:
            finding(
                "no-dcgm",
                Severity.MEDIUM,
                "DCGM is not installed on this GPU node (no dcgmi, nv-hostengine or package)",
            )
    if ev.gdrcopy_read:
        m("gpu.gdrcopy_ready", ev.gdrcopy_ready, Unit.BOOL)
    if ev.gdrcopy_ready is False:
        finding(
            "no-gdrcopy",
            Severity.LOW,
            "GDRCopy is not ready on this GPU node (libgdrapi or the gdrdrv driver missing)",
        )
    if ev.driver_version_text is not None:
        m("gpu.gpudirect_path", ev.gpudirect_path, Unit.TEXT)
        if ev.gpudirect_path == "nvidia-peermem":
            finding(
                "peermem-only",
                Severity.LOW,
                "GPUDirect RDMA relies on the legacy nvidia_peermem module (no dma-buf path)",
            )
    if ev.profiling is not None:
        m("gpu.profiling_admin_only", ev.profiling[0], Unit.BOOL, source=ev.profiling[1])
    if ev.ncu is not None:
        m("software.ncu", ev.ncu, Unit.BOOL)
        if ev.ncu:
            m("software.ncu_version", ev.ncu_version, Unit.VERSION)
    if ev.nccl is not None:
        m("software.nccl_library", ev.nccl, Unit.BOOL)
        if ev.nccl:
            m("software.nccl_library_version", ev.nccl_version, Unit.VERSION)
    if ev.nct is not None:
        m("containers.nvidia_toolkit", ev.nct, Unit.BOOL)
        if ev.nct:
            m("containers.nvidia_toolkit_version", ev.nct_version, Unit.VERSION)
    coherent = coherent_memory_numa(ev)
    if coherent is not None:
        m("gpu.coherent_memory_numa", coherent, Unit.BOOL)
    for slider in ev.sliders:
        m("gpu.vboost_current", slider.current, Unit.COUNT, gpu=str(slider.gpu))
        m("gpu.vboost_max", slider.max_value, Unit.COUNT, gpu=str(slider.gpu))
    if ev.exporter_version is not None:
        m(
            "monitoring.dcgm_exporter_version",
            ev.exporter_version[0],
            Unit.VERSION,
            source=ev.exporter_version[1],
        )
    return Measured(out, with_remediation(findings, remediation or {}))


def from_sections(inp: ProbeInput) -> ProbeOutput:
    ev = evidence(inp.sections)
    if "pci-gpus" not in inp.sections:
        return ProbeOutput(
            status=ProbeStatus.ERROR,
            substatus=SubStatus.COMMAND_FAILED,
            message="the script printed no section",
        )
    if not ev.has_gpu:  # the subject count the GPU criteria's applicability reads (gpu.node_gpus 0)
        pci = inp.sections["pci-gpus"]
        return ProbeOutput(
            status=ProbeStatus.SKIPPED,
            substatus=SubStatus.NOT_APPLICABLE,
            message="no NVIDIA GPU on this node (no NVIDIA display/3D PCI function, driver or nvidia-smi)",
            measurements=[Measurement(metric="gpu.node_gpus", value=0, unit=Unit.COUNT, host=inp.host)]
            if pci.ok
            else [],
        )
    measurements, findings = measure(ev, inp.host, inp.spec.remediation)
    parts = [f"{len(ev.gpus) or len(ev.gpu_names)} NVIDIA GPU(s)"]
    parts.append(f"DCGM {ev.dcgm_version or ('not installed' if ev.dcgm_installed is False else '?')}")
    parts.append(f"NCT {ev.nct_version or ('not installed' if ev.nct is False else '?')}")
    return ProbeOutput(message=", ".join(parts), measurements=measurements, findings=findings)


FILES: tuple[FileKind, ...] = ()
"""No parser kind: ``clustermax import`` files no output under this probe."""
