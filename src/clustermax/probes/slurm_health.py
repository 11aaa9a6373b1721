"""slurm_health: NHC on the compute nodes and DCGM in Slurm's health check, prolog or epilog (sections in
``probes/slurm_health/run.sh``; the files are read on one node through a job step).

* ``slurm.nhc_installed``: the node has ``nhc`` (PATH or /usr/sbin/nhc), or the HealthCheckProgram is NHC
  (its first 4 KiB name it). Null when the job step did not run (a busy cluster, --immediate).
* ``slurm.healthcheck_uses_dcgm``: the HealthCheckProgram, NHC's /etc/nhc/nhc.conf (when NHC is the
  health check), Prolog or Epilog mention dcgmi / dcgm / nv-hostengine. False when every one of them is
  unset, missing or free of DCGM; null when one could not be read and none mentions DCGM. Reported only
  on clusters with GPU nodes (GRES gpu).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from ..models import Finding, Measurement, ProbeStatus, ScalarValue, Severity, SubStatus, Unit
from ..parsers.slurm import parse_scontrol_config
from .base import FileKind, Measured, ProbeInput, ProbeOutput, Section
from .evidence import parsed_or_none, with_remediation


@dataclass(frozen=True)
class ScriptFile:
    role: str
    """hc, prolog or epilog."""
    path: str | None
    state: str
    """unset, missing, unreadable or read."""
    executable: bool = False
    dcgm: int = 0
    nhc: int = 0


@dataclass(frozen=True)
class SlurmHealthEvidence:
    health_check_program: str | None = None
    gpu_nodes: bool | None = None
    files: list[ScriptFile] = field(default_factory=list)
    node_read: bool = False
    nhc_path: str | None = None
    nhc_conf_dcgm: int | None = None
    dcgmi_path: str | None = None


def _files(text: str) -> tuple[list[ScriptFile], str | None, int | None, str | None]:
    files: list[ScriptFile] = []
    nhc_path: str | None = None
    conf_dcgm: int | None = None
    dcgmi: str | None = None
    for line in text.splitlines():
        parts = line.split()
        if not parts:
            continue
        if parts[0] in ("hc", "prolog", "epilog"):
            if len(parts) == 2 and parts[1] == "unset":
                files.append(ScriptFile(parts[0], None, "unset"))
            elif len(parts) == 3 and parts[2] in ("missing", "unreadable"):
                files.append(ScriptFile(parts[0], parts[1], parts[2]))
            elif len(parts) >= 3:
                kv = dict(p.split("=", 1) for p in parts[2:] if "=" in p)
                files.append(
                    ScriptFile(
                        parts[0],
                        parts[1],
                        "read",
                        kv.get("exec") == "yes",
                        int(kv.get("dcgm", "0")) if kv.get("dcgm", "0").isdigit() else 0,
                        int(kv.get("nhc", "0")) if kv.get("nhc", "0").isdigit() else 0,
                    )
                )
        elif parts[0] == "nhc" and len(parts) == 2:
            nhc_path = None if parts[1] == "missing" else parts[1]
        elif parts[0] == "dcgmi" and len(parts) == 2:
            dcgmi = None if parts[1] == "missing" else parts[1]
        elif parts[0] == "nhc.conf":
            kv = dict(p.split("=", 1) for p in parts[1:] if "=" in p)
            conf_dcgm = int(kv["dcgm"]) if kv.get("dcgm", "").isdigit() else None
    return files, nhc_path, conf_dcgm, dcgmi


def evidence(s: Mapping[str, Section]) -> SlurmHealthEvidence:
    config = s.get("config")
    parsed = parsed_or_none(parse_scontrol_config, config.text) if config is not None and config.ok else None
    gres = s.get("gres")
    gpu_nodes = None if gres is None or not gres.ok else any("gpu" in line for line in gres.text.splitlines())
    node = s.get("node-files")
    files: list[ScriptFile] = []
    nhc_path = None
    conf_dcgm = None
    dcgmi = None
    node_read = node is not None and node.ok and bool(node.text.strip())
    if node_read:
        assert node is not None
        files, nhc_path, conf_dcgm, dcgmi = _files(node.text)
    return SlurmHealthEvidence(
        health_check_program=parsed.health_check_program if parsed is not None else None,
        gpu_nodes=gpu_nodes,
        files=files,
        node_read=node_read,
        nhc_path=nhc_path,
        nhc_conf_dcgm=conf_dcgm,
        dcgmi_path=dcgmi,
    )


def nhc_installed(ev: SlurmHealthEvidence) -> bool | None:
    if not ev.node_read:
        return None
    return ev.nhc_path is not None or any(
        f.role == "hc" and f.state == "read" and f.nhc > 0 for f in ev.files
    )


def uses_dcgm(ev: SlurmHealthEvidence) -> bool | None:
    if not ev.node_read:
        return None
    hc_is_nhc = any(f.role == "hc" and f.state == "read" and f.nhc > 0 for f in ev.files)
    if any(f.state == "read" and f.dcgm > 0 for f in ev.files) or (hc_is_nhc and (ev.nhc_conf_dcgm or 0) > 0):
        return True
    if any(f.state == "unreadable" for f in ev.files) or (hc_is_nhc and ev.nhc_conf_dcgm is None):
        return None
    return False


def measure(ev: SlurmHealthEvidence, host: str, remediation: Mapping[str, str] | None = None) -> Measured:
    out: list[Measurement] = []
    findings: list[Finding] = []

    def m(metric: str, value: ScalarValue, unit: Unit) -> None:
        out.append(Measurement(metric=metric, value=value, unit=unit, host=host))

    nhc = nhc_installed(ev)
    m("slurm.nhc_installed", nhc, Unit.BOOL)
    if nhc is False:
        findings.append(
            Finding(
                code="no-nhc",
                severity=Severity.LOW,
                host=host,
                message="NHC is not installed on the compute node",
            )
        )
    if ev.gpu_nodes and ev.dcgmi_path is not None:
        dcgm = uses_dcgm(ev)
        m("slurm.healthcheck_uses_dcgm", dcgm, Unit.BOOL)
        if dcgm is False:
            findings.append(
                Finding(
                    code="no-dcgm-in-slurm",
                    severity=Severity.LOW,
                    host=host,
                    message="neither the health check nor the prolog/epilog runs DCGM",
                )
            )
    return Measured(out, with_remediation(findings, remediation or {}))


def from_sections(inp: ProbeInput) -> ProbeOutput:
    config = inp.sections.get("config")
    if config is None or not config.ok:
        return ProbeOutput(
            status=ProbeStatus.ERROR,
            substatus=SubStatus.NOT_INSTALLED
            if config is not None and config.rc == 127
            else SubStatus.COMMAND_FAILED,
            message="scontrol show config did not answer",
        )
    ev = evidence(inp.sections)
    measurements, findings = measure(ev, inp.host, inp.spec.remediation)
    if not ev.node_read:
        node = inp.sections.get("node-files")
        said = inp.sections.get("node-files!stderr") or node
        first = said.text.strip().splitlines()[:1] if said is not None else []
        return ProbeOutput(
            message="the job step that reads the node's files did not run"
            + (f": {first[0]}" if first else ""),
            measurements=measurements,
        )
    where = "on the node" if nhc_installed(ev) else "not installed"
    message = f"HealthCheckProgram {ev.health_check_program or '(none)'}; NHC {where}"
    return ProbeOutput(message=message, measurements=measurements, findings=findings)


FILES: tuple[FileKind, ...] = ()
"""No parser kind: ``clustermax import`` files no output under this probe."""
