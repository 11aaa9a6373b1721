"""container_run: a container image run through Slurm (pyxis/enroot), timed, and the NCCL topology file
inside it (sections in ``probes/container_run/run.sh``).

Without pyxis (``srun --help`` offers no ``--container-image``) the probe is *not applicable*. Without an
``image`` parameter nothing is run: the image criteria are not measured (skipped, saying so), and only the
node's own topology file is read.

* ``containers.image_run``: the srun with ``--container-image`` returned 0 and the container printed its
  marker; false when srun failed (the import or the start; its stderr is the message); null when it was cut.
* ``containers.image_run_time``: from the srun call to its return, on the login node's clock, import included.
* ``nccl.topo_file_in_container``: every topology file the node gives NCCL is in the container with the same
  SHA-256. Left out when the node gives none (nothing has to reach the container).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from ..models import Finding, Measurement, ProbeStatus, ScalarValue, Severity, SubStatus, Unit
from ..parsers import software as sw
from .base import FileKind, Measured, ProbeInput, ProbeOutput, Section
from .evidence import with_remediation

MARKER = "cmx-container-ok"


def _topo(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] == "topo" and len(parts[2]) == 64:
            out[parts[1]] = parts[2]
    return out


@dataclass(frozen=True)
class ContainerRunEvidence:
    pyxis: bool | None = None
    enroot: str | None = None
    host_topo: dict[str, str] | None = None
    """Topology files of the node: path -> SHA-256 (None: the job step did not run)."""
    ran: bool | None = None
    """None: no image was run (or the run was cut)."""
    attempted: bool = False
    seconds: float | None = None
    container_topo: dict[str, str] = field(default_factory=dict)
    error: str | None = None


def evidence(s: Mapping[str, Section]) -> ContainerRunEvidence:
    pyxis_sec = s.get("pyxis")
    pyxis = None
    if pyxis_sec is not None and pyxis_sec.rc is not None and pyxis_sec.text.strip().isdigit():
        pyxis = int(pyxis_sec.text.strip()) > 0
    enroot = s.get("enroot")
    host = s.get("topo-host")
    run = s.get("container-run")
    ran: bool | None = None
    error = None
    topo: dict[str, str] = {}
    if run is not None and run.rc is not None:
        lines = run.text.splitlines()
        ran = run.rc == 0 and bool(lines) and lines[0].strip() == MARKER
        topo = _topo(run.text)
        if not ran:
            stderr = s.get("container-run!stderr")
            error = (
                next(
                    (
                        ln.strip()
                        for ln in (stderr.text if stderr else "").splitlines()
                        if "error" in ln.lower()
                    ),
                    None,
                )
                or f"srun exited {run.rc}"
            )
    seconds = None
    timing = s.get("container-time")
    if timing is not None and timing.ok:
        parts = timing.text.split()
        try:
            seconds = round(float(parts[1]) - float(parts[0]), 3) if len(parts) == 2 else None
        except ValueError:
            seconds = None
    return ContainerRunEvidence(
        pyxis=pyxis,
        enroot=sw.enroot_version(enroot.text) if enroot is not None and enroot.ok else None,
        host_topo=_topo(host.text) if host is not None and host.ok else None,
        ran=ran,
        attempted=run is not None,
        seconds=seconds if ran is not None else None,
        container_topo=topo,
        error=error,
    )


def measure(ev: ContainerRunEvidence, host: str, remediation: Mapping[str, str] | None = None) -> Measured:
    out: list[Measurement] = []
    findings: list[Finding] = []

    def m(metric: str, value: ScalarValue, unit: Unit) -> None:
        out.append(Measurement(metric=metric, value=value, unit=unit, host=host))

    if ev.host_topo is not None:
        m("nccl.topo_file_host", bool(ev.host_topo), Unit.BOOL)
    if ev.attempted:
        m("containers.image_run", ev.ran, Unit.BOOL)
        m("containers.image_run_time", ev.seconds, Unit.SECONDS)
        if ev.ran is False:
            findings.append(
                Finding(
                    code="image-failed",
                    severity=Severity.MEDIUM,
                    host=host,
                    message=f"the container image did not run: {ev.error}",
                )
            )
        if ev.host_topo and ev.ran is not None:
            reached = ev.ran and all(ev.container_topo.get(p) == h for p, h in ev.host_topo.items())
            m("nccl.topo_file_in_container", reached, Unit.BOOL)
            if not reached:
                findings.append(
                    Finding(
                        code="topo-missing",
                        severity=Severity.MEDIUM,
                        host=host,
                        message="the node's NCCL topology file is not in the container "
                        f"({', '.join(sorted(ev.host_topo))})",
                    )
                )
    return Measured(out, with_remediation(findings, remediation or {}))


def from_sections(inp: ProbeInput) -> ProbeOutput:
    ev = evidence(inp.sections)
    if ev.pyxis is False:
        return ProbeOutput(
            status=ProbeStatus.SKIPPED,
            substatus=SubStatus.NOT_APPLICABLE,
            message="srun has no --container-image (pyxis is not installed): no container runs through Slurm",
        )
    measurements, findings = measure(ev, inp.host, inp.spec.remediation)
    if not inp.params.get("image"):
        return ProbeOutput(
            status=ProbeStatus.SKIPPED,
            message="no container image configured (parameter container_run.image: a squashfs on the cluster "
            "or "
            "an image the inventory names); nothing was run",
            measurements=measurements,
        )
    if ev.ran:
        message = f"the image ran in {ev.seconds} s"
    elif ev.ran is False:
        message = f"the image did not run: {ev.error}"
    else:
        message = "the container run did not finish"
    return ProbeOutput(message=message, measurements=measurements, findings=findings)


FILES: tuple[FileKind, ...] = ()
"""No parser kind: ``clustermax import`` files no output under this probe."""
