"""scheduler_detect: is Slurm there (and which version), does kubectl answer, is nvidia-smi there (pure).

Facts for the planner: ``platform`` (slurm | kubernetes | bare), ``slurm``, ``kubernetes``, ``nvidia_smi``
(booleans), ``slurm_version``.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..models import ProbeStatus, ScalarValue, SubStatus, Unit
from ..parsers.base import ParseError
from ..parsers.kubectl import parse_kubectl_version
from ..parsers.slurm.version import slurm_version
from .base import FileKind, Measured, ProbeInput, ProbeOutput, Section
from .evidence import measurements_of


def _present(section: Section | None) -> bool | None:
    """True/False when the section says whether the tool is there; None when the section is absent."""
    if section is None:
        return None
    if section.missing is not None or section.rc == 127:
        return False
    return section.rc is not None


def kubectl_server_version(text: str) -> str | None:
    """The server version ``kubectl version`` printed; None when the server did not answer."""
    try:
        return parse_kubectl_version(text).server_version
    except ParseError:
        return None


def connect_time(section: Section | None) -> float | None:
    """The SSH connect time the engine measured and handed to the script (None locally or when garbled)."""
    if section is None or not section.ok:
        return None
    try:
        value = float(section.text.strip())
    except ValueError:
        return None
    return value if value >= 0 and value == value and value != float("inf") else None


@dataclass(frozen=True)
class Detected:
    """What the detection script found: each tool present (None: not told) and the platform."""

    slurm_present: bool | None
    slurm_version: str | None
    kubectl_present: bool | None
    kubectl_configured: bool | None
    nvidia_smi_present: bool | None
    platform: str | None


def measure(ev: Detected, host: str, connect_time_s: float | None = None) -> Measured:
    """``scheduler.*`` and ``ssh.connect_time`` (null when clustermax did not connect over SSH)."""
    values: dict[str, tuple[ScalarValue, Unit]] = {
        "scheduler.slurm_present": (ev.slurm_present, Unit.BOOL),
        "scheduler.slurm_version": (ev.slurm_version, Unit.VERSION),
        "scheduler.kubectl_present": (ev.kubectl_present, Unit.BOOL),
        "scheduler.kubectl_configured": (ev.kubectl_configured, Unit.BOOL),
        "scheduler.nvidia_smi_present": (ev.nvidia_smi_present, Unit.BOOL),
        "scheduler.platform": (ev.platform, Unit.TEXT),
    }
    values["ssh.connect_time"] = (connect_time_s, Unit.SECONDS)
    return Measured(measurements_of(values, host), [])


def from_sections(inp: ProbeInput) -> ProbeOutput:
    s = inp.sections
    sinfo = s.get("sinfo-version")
    slurm_present = _present(sinfo)
    version = slurm_version(sinfo.text) if sinfo is not None and sinfo.ok else None

    kubectl_present = _present(s.get("kubectl-client"))
    context = s.get("kubectl-context")
    server = s.get("kubectl-server")
    kube_configured: bool | None
    if kubectl_present is None:
        kube_configured = None
    elif not kubectl_present:
        kube_configured = False
    elif context is None:
        kube_configured = None  # the script did not get that far
    elif not context.ok or not context.text.strip():
        kube_configured = False
    else:
        kube_configured = bool(server is not None and server.ok and kubectl_server_version(server.text))

    nvsmi = s.get("nvidia-smi-path")
    nvidia_present: bool | None = None
    if nvsmi is not None and nvsmi.rc is not None:
        nvidia_present = nvsmi.ok and bool(nvsmi.text.strip())

    platform: str | None
    slurm_usable = bool(slurm_present and version)
    if slurm_usable:
        platform = "slurm"
    elif kube_configured:
        platform = "kubernetes"
    elif slurm_present is None and kube_configured is None:
        platform = None  # nothing was measured
    else:
        platform = "bare"

    detected = Detected(slurm_present, version, kubectl_present, kube_configured, nvidia_present, platform)
    measurements, _ = measure(detected, inp.host, connect_time(s.get("ssh-connect")))
    out = ProbeOutput(measurements=measurements)
    out.facts = {
        "platform": platform or "unknown",
        "slurm": slurm_usable,
        "kubernetes": bool(kube_configured),
        "nvidia_smi": bool(nvidia_present),
        "slurm_version": version,
    }
    if platform is None:
        out.status = ProbeStatus.ERROR
        out.substatus = SubStatus.COMMAND_FAILED
        out.message = "the detection script produced no usable output"
        return out
    flags = ((f"Slurm {version or ''}".strip(), slurm_usable), ("Kubernetes", kube_configured))
    found = [name for name, flag in (*flags, ("nvidia-smi", nvidia_present)) if flag]
    out.message = f"platform {platform}" + (f" ({', '.join(found)})" if found else "")
    return out


FILES: tuple[FileKind, ...] = ()
"""No parser kind: ``clustermax import`` files no output under this probe."""
