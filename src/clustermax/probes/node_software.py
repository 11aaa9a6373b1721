"""node_software: the CUDA Toolkit, runc, the Docker Engine, Apptainer, perf and its kernel settings, and
the NVIDIA HPC SDK on one node (sections in ``probes/node_software/run.sh``).

A tool that is not installed (its section ends ``rc=127 missing=<tool>``) gives no version (the floor
criteria have nothing to judge: not measured, never a pass) and ``false`` where absence is the finding
(``containers.docker_usable``, ``containers.apptainer``, ``software.perf``, ``software.hpc_sdk``). A tool
whose output cannot be read gives null.

runc's version is its package's when the runc package owns the binary (Debian's
``1.1.5+ds1-1+deb12u1``): scoring then sees the distro build and says the upstream floor cannot decide it,
where the binary alone (``runc version 1.1.5+ds1``) would read as an unpatched 1.1.5.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from ..models import Finding, Measurement, ProbeStatus, ScalarValue, Severity, SubStatus, Unit
from ..parsers import software as sw
from ..parsers.hostinfo import sysctl_values
from .base import FileKind, Measured, ProbeInput, ProbeOutput, Section
from .evidence import with_remediation

NOT_INSTALLED = "not installed"


@dataclass(frozen=True)
class Tool:
    """One tool's reading: installed (None: unknown), its version (None: none read)."""

    installed: bool | None
    version: str | None = None
    detail: str | None = None
    """What the tool said when it could not answer (the docker daemon was unreachable ...)."""


@dataclass(frozen=True)
class NodeSoftwareEvidence:
    nvcc: Tool | None = None
    runc: Tool | None = None
    docker_client: Tool | None = None
    docker_server: Tool | None = None
    apptainer: Tool | None = None
    apptainer_tool: str | None = None
    perf: Tool | None = None
    sysctls: Mapping[str, int] | None = None
    hpc_sdk: Tool | None = None


def _missing(section: Section | None) -> bool:
    return section is not None and section.rc == 127 and section.missing is not None


def _tool(section: Section | None, read: Callable[[str], str | None]) -> Tool | None:
    """None: not collected; installed False: missing; else the version read (None: unreadable)."""
    if section is None:
        return None
    if _missing(section):
        return Tool(False)
    return Tool(True, read(section.text))


def _hpc_sdk(section: Section | None) -> Tool | None:
    if section is None or section.rc != 0:
        return None
    versions = []
    for line in section.text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1] == "nvc":
            release = parts[0].rstrip("/").rsplit("/", 1)[-1]
            if release.replace(".", "").isdigit():
                versions.append(release)
    if not versions:
        return Tool(False)
    newest = max(versions, key=lambda v: tuple(int(p) for p in v.split(".")))
    return Tool(True, newest)


def evidence(s: Mapping[str, Section]) -> NodeSoftwareEvidence:
    runc = _tool(s.get("runc"), sw.runc_version)
    package = s.get("runc-package")
    if runc is not None and runc.installed and package is not None and package.ok:
        owned = sw.package_lines(package.text)
        if "runc" in owned:  # the runc package itself: its version carries the distro's build mark
            runc = Tool(True, sw.strip_epoch(owned["runc"]))
    client = _tool(s.get("docker-client"), sw.docker_client_version)
    server_sec = s.get("docker-server")
    server: Tool | None = None
    if client is not None and not client.installed:
        server = Tool(False)
    elif server_sec is not None:
        version = sw.docker_server_version(server_sec.text) if server_sec.rc == 0 else None
        stderr = s.get("docker-server!stderr")
        why = sw.docker_unreachable(stderr.text) if stderr is not None else None
        server = Tool(version is not None, version, why or (None if version else "the daemon did not answer"))
    app_sec = s.get("apptainer")
    app = _tool(app_sec, lambda t: v.version if (v := sw.apptainer_version(t)) else None)
    app_tool = None
    if app_sec is not None and app_sec.ok and (found := sw.apptainer_version(app_sec.text)):
        app_tool = found.tool
    sysctl = s.get("sysctl")
    return NodeSoftwareEvidence(
        nvcc=_tool(s.get("nvcc"), sw.nvcc_release),
        runc=runc,
        docker_client=client,
        docker_server=server,
        apptainer=app,
        apptainer_tool=app_tool,
        perf=_tool(s.get("perf"), sw.perf_version),
        sysctls=sysctl_values(sysctl.text) if sysctl is not None and sysctl.ok else None,
        hpc_sdk=_hpc_sdk(s.get("hpc-sdk")),
    )


def measure(ev: NodeSoftwareEvidence, host: str, remediation: Mapping[str, str] | None = None) -> Measured:
    out: list[Measurement] = []
    findings: list[Finding] = []

    def m(metric: str, value: ScalarValue, unit: Unit, **labels: str) -> None:
        out.append(Measurement(metric=metric, value=value, unit=unit, host=host, labels=labels))

    def version(metric: str, tool: Tool | None) -> None:
        if tool is not None and tool.installed:  # not installed: nothing to judge, so no value at all
            m(metric, tool.version, Unit.VERSION)

    def present(metric: str, tool: Tool | None) -> None:
        if tool is not None:
            m(metric, tool.installed, Unit.BOOL)

    version("software.cuda_toolkit_version", ev.nvcc)
    version("containers.runc_version", ev.runc)
    if ev.docker_server is not None:
        if ev.docker_server.installed:
            m("containers.docker_server_version", ev.docker_server.version, Unit.VERSION)
        m("containers.docker_usable", ev.docker_server.installed, Unit.BOOL)
        if ev.docker_client is not None and ev.docker_client.installed and not ev.docker_server.installed:
            findings.append(
                Finding(
                    code="docker-unreachable",
                    severity=Severity.LOW,
                    host=host,
                    message="docker is installed but no engine answers the audit user: "
                    f"{ev.docker_server.detail}",
                )
            )
    present("containers.apptainer", ev.apptainer)
    if ev.apptainer is not None and ev.apptainer.installed:
        m("containers.apptainer_version", ev.apptainer.version, Unit.VERSION, tool=ev.apptainer_tool or "")
    if ev.perf is not None:  # the Debian/Ubuntu wrapper without the kernel's perf prints no version: false
        m("software.perf", bool(ev.perf.installed and ev.perf.version), Unit.BOOL)
    version("software.perf_version", ev.perf)
    if ev.sysctls is not None:
        m("system.perf_event_paranoid", ev.sysctls.get("kernel.perf_event_paranoid"), Unit.COUNT)
        m("system.kptr_restrict", ev.sysctls.get("kernel.kptr_restrict"), Unit.COUNT)
    present("software.hpc_sdk", ev.hpc_sdk)
    version("software.hpc_sdk_version", ev.hpc_sdk)
    return Measured(out, with_remediation(findings, remediation or {}))


def _summary(ev: NodeSoftwareEvidence) -> str:
    parts = []
    for name, tool in (
        ("nvcc", ev.nvcc),
        ("runc", ev.runc),
        ("docker engine", ev.docker_server),
        ("apptainer", ev.apptainer),
        ("perf", ev.perf),
        ("HPC SDK", ev.hpc_sdk),
    ):
        if tool is None:
            continue
        if name == "docker engine" and not tool.installed and ev.docker_client and ev.docker_client.installed:
            parts.append("docker engine unreachable")
            continue
        parts.append(f"{name} {tool.version or ('?' if tool.installed else NOT_INSTALLED)}")
    return ", ".join(parts)


def from_sections(inp: ProbeInput) -> ProbeOutput:
    ev = evidence(inp.sections)
    measurements, findings = measure(ev, inp.host, inp.spec.remediation)
    if not inp.sections:
        return ProbeOutput(
            status=ProbeStatus.ERROR,
            substatus=SubStatus.COMMAND_FAILED,
            message="the script printed no section",
        )
    return ProbeOutput(message=_summary(ev), measurements=measurements, findings=findings)


FILES: tuple[FileKind, ...] = ()
"""No parser kind: ``clustermax import`` files no output under this probe."""
