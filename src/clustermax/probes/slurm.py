"""slurm: configuration and health of a Slurm cluster, seen from the login node (pure).

Reads the sections of ``probes/slurm/run.sh`` with the Slurm parsers of :mod:`clustermax.parsers.slurm`
(scontrol show config / partition / node, sinfo --version, srun --mpi=list / --help, scontrol show
topology, the client error texts) into a :class:`SlurmEvidence`, and maps it with :func:`measure`, the
one mapping from Slurm output to ``slurm.*`` metrics and findings: ``clustermax import`` files
(scontrol-node, scontrol-partition, scontrol-config, sacct, sinfo; see :data:`FILES`) go through the same
function with the one output they carry, so the same text gives the same values and findings either way.

Rules (docs/probes.md): a tool whose section is not in the output (or whose file was not imported) is
not collected and its metrics are left out; a tool that ran but cannot be read gives nulls. Partition
and node counts that depend on a state or a GRES the output does not print are null, never guessed.
Findings are ``slurm.<key>`` with the remediation text of ``probe.yaml``; ``nodes-unavailable`` is high
from 25 % of the nodes; ``no-topology`` is reported for clusters of more than one node (or an unknown
number); ``no-defaults`` only when both slurm.conf and the partitions are known.

Besides measurements a run returns the facts the planner uses to run the per-node probes on the compute
nodes::

    facts = {
        "compute_nodes": [{"name": "node1", "address": "10.0.0.11", "hostname": "node1", "gpus": 8,
                           "gpu_type": "h100", "state": "IDLE", "reason": None, "partitions": ["gpu"],
                           "usable": True}, ...],          # every node Slurm knows, in its order
        "usable_nodes": ["node1", ...],                     # not down/drained/failing/not responding
        "gpus_per_node": {"node1": 8, ...},
        "partitions": [{"name": "gpu", "state": "UP", "default": True, "max_time": ..., ...}, ...],
        "default_partition": "gpu",
        "slurm_version": "22.05.8",
        ...
    }
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from ..models import Finding, JSONValue, Measurement, ProbeStatus, ScalarValue, Severity, SubStatus, Unit
from ..parsers.base import ParseError
from ..parsers.slurm import (
    SacctOutput,
    ScontrolConfigOutput,
    ScontrolNodeOutput,
    ScontrolPartitionOutput,
    SinfoOutput,
    SlurmNode,
    SlurmPartition,
    most_common,
    parse_scontrol_config,
    parse_scontrol_node,
    parse_scontrol_partition,
    scontrol_node,
    scontrol_partition,
)
from ..parsers.slurm.messages import allocation_busy, controller_unreachable
from ..parsers.slurm.srun import mpi_plugins, pyxis_in_help
from ..parsers.slurm.topology import topology_switches
from ..parsers.slurm.version import slurm_version
from .base import (
    FileKind,
    ImportContext,
    ImportedOutput,
    Measured,
    ProbeInput,
    ProbeOutput,
    Section,
    unmeasured,
)
from .evidence import NOT_COLLECTED, NotCollected, Slot, one_file, readable, with_remediation

_NOT_CONFIGURED = {"", "(null)", "none", "n/a"}
_NO_TOPOLOGY = {"topology/none", "topology/default", "topology/flat", "none", "default", "flat"}
ACCOUNTING_DISABLED = "Slurm accounting storage is disabled"
L = TypeVar("L")


@dataclass(frozen=True)
class Accounting:
    """Does ``sacct`` answer: True, False (with why), None (could not tell: the output was cut)."""

    works: bool | None
    note: str = ""


@dataclass(frozen=True)
class Check:
    """An active check of the run (multi-node srun, SSH to a node): passed, failed, or not measured."""

    ok: bool | None
    note: str = ""


@dataclass(frozen=True)
class SlurmEvidence:
    """What :func:`measure` maps: each tool's typed reading, None (ran, unreadable) or NOT_COLLECTED."""

    version: Slot[str] = NOT_COLLECTED
    """``sinfo --version``."""
    config: Slot[ScontrolConfigOutput] = NOT_COLLECTED
    controller_up: Slot[bool] = NOT_COLLECTED
    """Did slurmctld answer ``scontrol show config`` (None: could not tell)."""
    controller_note: str = ""
    partitions: Slot[list[SlurmPartition]] = NOT_COLLECTED
    sinfo: Slot[SinfoOutput] = NOT_COLLECTED
    """sinfo's partition rows (an import; the probe reads ``scontrol show partition``)."""
    nodes: Slot[list[SlurmNode]] = NOT_COLLECTED
    accounting: Accounting | NotCollected = NOT_COLLECTED
    mpi: Slot[list[str]] = NOT_COLLECTED
    pyxis: Slot[bool] = NOT_COLLECTED
    enroot: Slot[bool] = NOT_COLLECTED
    multi_node: Check | NotCollected = NOT_COLLECTED
    node_ssh: Check | NotCollected = NOT_COLLECTED


def _set(value: str | None) -> bool:
    return value is not None and value.strip().lower() not in _NOT_CONFIGURED


def _both(sections: dict[str, Section], name: str) -> str:
    """A section's stdout and stderr together (old srun prints the MPI list on stderr)."""
    parts = [s.text for s in (sections.get(name), sections.get(f"{name}!stderr")) if s is not None]
    return "\n".join(parts)


def _stderr(sections: dict[str, Section], name: str) -> str:
    err = sections.get(f"{name}!stderr")
    return err.text.strip() if err is not None else ""


def _first_line(text: str, limit: int = 200) -> str:
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    return line[:limit]


def _ran(section: Section | None) -> bool:
    """The section's command ran to its end (installed, not cut)."""
    return section is not None and section.rc is not None and section.missing is None and section.rc != 127


def _node_fact(node: SlurmNode) -> dict[str, JSONValue]:
    return {
        "name": node.name,
        "address": node.fields.get("NodeAddr") or node.name,
        "hostname": node.fields.get("NodeHostName") or node.name,
        "gpus": node.gpu_count,
        "gpu_type": node.gpu_type,
        "state": node.state,
        "reason": node.reason,
        "partitions": list(node.partitions),
        "usable": node.unavailable is False,
    }


def _partition_fact(part: SlurmPartition) -> dict[str, JSONValue]:
    return {
        "name": part.name,
        "state": part.state,
        "default": part.default,
        "max_time": part.max_time,
        "default_time": part.default_time,
        "nodes": part.nodes,
        "total_nodes": part.total_nodes,
        "def_mem_per_gpu": part.def_mem_per_gpu,
        "def_cpu_per_gpu": part.def_cpu_per_gpu,
        "def_mem_per_cpu": part.def_mem_per_cpu,
        "gpus_total": part.gpus_total,
    }


def _defaults_set(
    config: ScontrolConfigOutput | None, partitions: list[SlurmPartition] | None, attrs: Iterable[str]
) -> bool | None:
    """Is a default (DefMemPerGPU ...) set globally or on the partition a plain job lands in (the
    default partition; every partition when none is the default)? False only when both are known."""
    keys = list(attrs)
    if config is not None and any(getattr(config, k) is not None for k in keys):
        return True
    if partitions is not None:
        target = [p for p in partitions if p.default] or partitions
        if any(getattr(p, k, None) is not None for p in target for k in keys):
            return True
    return False if config is not None and partitions is not None else None


def reported_version(ev: SlurmEvidence) -> str | None:
    """``sinfo --version``, else slurm.conf's SLURM_VERSION, else the most common slurmd version."""
    version = readable(ev.version)
    config = readable(ev.config)
    if version is None and config is not None:
        version = config.slurm_version
    nodes = readable(ev.nodes)
    if version is None and nodes:
        version = most_common(n.slurm_version for n in nodes)
    return version


class _Out:
    def __init__(self, host: str) -> None:
        self.host = host
        self.measurements: list[Measurement] = []
        self.findings: list[Finding] = []

    def add(self, metric: str, value: ScalarValue, unit: Unit, **labels: str) -> None:
        self.measurements.append(
            Measurement(metric=metric, value=value, unit=unit, host=self.host, labels=labels)
        )

    def find(self, code: str, severity: Severity, message: str) -> None:
        self.findings.append(
            Finding(code=f"slurm.{code}", severity=severity, host=self.host, message=message)
        )


def measure(ev: SlurmEvidence, host: str, remediation: Mapping[str, str] | None = None) -> Measured:
    """Every ``slurm.*`` metric and finding the evidence can tell (see the module's rules)."""
    m = _Out(host)
    config = readable(ev.config)
    partitions = readable(ev.partitions)
    nodes = readable(ev.nodes)
    if not all(isinstance(s, NotCollected) for s in (ev.version, ev.config, ev.nodes)):
        m.add("slurm.version", reported_version(ev), Unit.VERSION)
    if not isinstance(ev.controller_up, NotCollected):
        m.add("slurm.controller_up", ev.controller_up, Unit.BOOL)

    if not isinstance(ev.partitions, NotCollected):
        _partition_metrics(m, partitions)
    elif not isinstance(ev.sinfo, NotCollected):
        _sinfo_metrics(m, ev.sinfo)

    bad: list[SlurmNode] = []
    if not isinstance(ev.nodes, NotCollected):
        bad = _node_metrics(m, nodes)

    if not (isinstance(ev.config, NotCollected) and isinstance(ev.partitions, NotCollected)):
        mem_set = _defaults_set(config, partitions, ("def_mem_per_gpu", "def_mem_per_cpu"))
        cpu_set = _defaults_set(config, partitions, ("def_cpu_per_gpu",))
        m.add("slurm.def_mem_per_gpu_set", mem_set, Unit.BOOL)
        m.add("slurm.def_cpu_per_gpu_set", cpu_set, Unit.BOOL)
    else:
        mem_set = cpu_set = None

    accounting = None if isinstance(ev.accounting, NotCollected) else ev.accounting
    if accounting is not None:
        m.add("slurm.accounting", accounting.works, Unit.BOOL)
    plugins = readable(ev.mpi)
    pmix = None if plugins is None else any(p.lower().startswith("pmix") for p in plugins)
    if not isinstance(ev.mpi, NotCollected):
        m.add("slurm.mpi_plugins", ",".join(plugins) if plugins is not None else None, Unit.TEXT)
        m.add("slurm.pmix", pmix, Unit.BOOL)
    pyxis = readable(ev.pyxis)
    if not isinstance(ev.pyxis, NotCollected):
        m.add("slurm.pyxis", pyxis, Unit.BOOL)
    if not isinstance(ev.enroot, NotCollected):
        m.add("slurm.enroot", ev.enroot, Unit.BOOL)

    topo_plugin, topo_set, health = _config_metrics(m, ev.config, config)
    multi = None if isinstance(ev.multi_node, NotCollected) else ev.multi_node
    if multi is not None:
        m.add("slurm.multi_node_srun", multi.ok, Unit.BOOL)
    ssh = None if isinstance(ev.node_ssh, NotCollected) else ev.node_ssh
    if ssh is not None:
        m.add("slurm.node_ssh", ssh.ok, Unit.BOOL)

    if ev.controller_up is False:
        m.find(
            "controller-down", Severity.CRITICAL, ev.controller_note or "the Slurm controller did not answer"
        )
    if nodes and bad:
        listed = ", ".join(f"{n.name} ({n.state}{': ' + n.reason if n.reason else ''})" for n in bad[:10])
        more = f" and {len(bad) - 10} more" if len(bad) > 10 else ""
        m.find(
            "nodes-unavailable",
            Severity.HIGH if len(bad) / len(nodes) >= 0.25 else Severity.MEDIUM,
            f"{len(bad)} of {len(nodes)} nodes cannot take jobs: {listed}{more}",
        )
    if accounting is not None and accounting.works is False:
        m.find("no-accounting", Severity.MEDIUM, f"sacct does not work ({accounting.note})")
    if pmix is False:
        m.find(
            "no-pmix",
            Severity.MEDIUM,
            f"no PMIx MPI plugin (srun --mpi=list: {', '.join(plugins or []) or 'none'})",
        )
    if pyxis is False:
        m.find("no-pyxis", Severity.MEDIUM, "srun has no --container-image option (pyxis not installed)")
    if topo_set is False and (nodes is None or len(nodes) > 1):
        m.find("no-topology", Severity.MEDIUM, f"TopologyPlugin is {topo_plugin or 'not set'}")
    if health is False:
        m.find("no-healthcheck", Severity.MEDIUM, "HealthCheckProgram is not set")
    missing_defaults = [n for n, v in (("DefMemPerGPU", mem_set), ("DefCpuPerGPU", cpu_set)) if v is False]
    if missing_defaults:
        m.find(
            "no-defaults", Severity.LOW, f"{' and '.join(missing_defaults)} not set for the default partition"
        )
    if multi is not None and multi.ok is False:
        m.find("no-multi-node", Severity.HIGH, multi.note)
    if ssh is not None and ssh.ok is False:
        m.find("no-node-ssh", Severity.LOW, ssh.note)
    return Measured(m.measurements, with_remediation(m.findings, remediation or {}))


def _partition_metrics(m: _Out, partitions: list[SlurmPartition] | None) -> None:
    if partitions is None:
        m.add("slurm.partitions", None, Unit.COUNT)
        m.add("slurm.partitions_up", None, Unit.COUNT)
        m.add("slurm.default_partition_set", None, Unit.BOOL)
        return
    up = (
        None
        if any(p.state is None for p in partitions)
        else sum(p.state.upper() == "UP" for p in partitions if p.state)
    )
    default: bool | None = any(p.default for p in partitions)
    if not default and any(p.default is None for p in partitions):
        default = None
    m.add("slurm.partitions", len(partitions), Unit.COUNT)
    m.add("slurm.partitions_up", up, Unit.COUNT)
    m.add("slurm.default_partition_set", default, Unit.BOOL)


def _sinfo_metrics(m: _Out, sinfo: SinfoOutput | None) -> None:
    parts = sinfo.partitions if sinfo is not None else []
    known = bool(parts) and all(p.avail is not None for p in parts)
    m.add("slurm.partitions", len(parts) if parts else None, Unit.COUNT)
    m.add("slurm.partitions_up", sum(p.avail == "up" for p in parts) if known else None, Unit.COUNT)
    m.add("slurm.default_partition_set", any(p.default for p in parts) if parts else None, Unit.BOOL)


def _node_metrics(m: _Out, nodes: list[SlurmNode] | None) -> list[SlurmNode]:
    """The node metrics; returns the unavailable nodes."""
    if nodes is None:
        for name in ("nodes_total", "nodes_unavailable", "nodes_usable", "gpu_nodes", "gpus_total"):
            m.add(f"slurm.{name}", None, Unit.COUNT)
        m.add("slurm.nodes_unavailable_fraction", None, Unit.RATIO)
        return []
    states_known = all(n.unavailable is not None for n in nodes)
    bad = [n for n in nodes if n.unavailable is True]
    usable = [n for n in nodes if n.unavailable is False]
    counts = [n.gpu_count for n in nodes]
    counts_known = all(c is not None for c in counts)
    gpu_nodes = [n for n in nodes if n.gpu_count]
    m.add("slurm.nodes_total", len(nodes), Unit.COUNT)
    m.add("slurm.nodes_unavailable", len(bad) if states_known else None, Unit.COUNT)
    m.add("slurm.nodes_usable", len(usable), Unit.COUNT)
    fraction = round(len(bad) / len(nodes), 6) if nodes and states_known else None
    m.add("slurm.nodes_unavailable_fraction", fraction, Unit.RATIO)
    m.add("slurm.gpu_nodes", len(gpu_nodes) if counts_known else None, Unit.COUNT)
    for n in gpu_nodes:
        m.add("slurm.gpus_per_node", n.gpu_count, Unit.COUNT, node=n.name, gpu_type=n.gpu_type or "")
    m.add("slurm.gpus_total", sum(c for c in counts if c is not None) if counts_known else None, Unit.COUNT)
    return bad


def _config_metrics(
    m: _Out, slot: Slot[ScontrolConfigOutput], config: ScontrolConfigOutput | None
) -> tuple[str | None, bool | None, bool | None]:
    """Topology, health check, prolog/epilog; returns (plugin, topology configured, health check)."""
    if isinstance(slot, NotCollected):
        return None, None, None
    topo_plugin = topo_set = health = prolog = epilog = None
    if config is not None:
        settings = config.settings
        if "TopologyPlugin" in settings:
            topo_plugin = settings["TopologyPlugin"].strip()
            topo_set = _set(topo_plugin) and topo_plugin.lower() not in _NO_TOPOLOGY
        if "HealthCheckProgram" in settings:
            health = _set(config.health_check_program)
        if "Prolog" in settings or "PrologSlurmctld" in settings:
            prolog = _set(config.prolog) or _set(settings.get("PrologSlurmctld"))
        if "Epilog" in settings or "EpilogSlurmctld" in settings:
            epilog = _set(config.epilog) or _set(settings.get("EpilogSlurmctld"))
    m.add("slurm.topology_plugin", topo_plugin, Unit.TEXT)
    m.add("slurm.topology_configured", topo_set, Unit.BOOL)
    m.add("slurm.healthcheck_configured", health, Unit.BOOL)
    m.add("slurm.prolog_configured", prolog, Unit.BOOL)
    m.add("slurm.epilog_configured", epilog, Unit.BOOL)
    return topo_plugin, topo_set, health


# ------------------------------------------------------------------------------------ from_sections


def _scontrol_listing(
    sec: Section | None, lists_none: Callable[[str], bool], parse: Callable[[str], list[L]], what: str,
    warnings: list[str],
) -> Slot[list[L]]:  # fmt: skip
    """An ``scontrol -o show partition|node`` section: its records, [] for an empty listing, None when
    it failed or could not be read, NOT_COLLECTED when the script did not run it."""
    if sec is None:
        return NOT_COLLECTED
    if not sec.ok:
        return None
    if lists_none(sec.text):
        return []
    try:
        return parse(sec.text)
    except ParseError as err:
        warnings.append(f"scontrol show {what}: {err}")
        return None


def _accounting(s: dict[str, Section]) -> Accounting | NotCollected:
    sec = s.get("sacct")
    if sec is None:
        return NOT_COLLECTED
    if sec.rc is None:
        return Accounting(None)
    if ACCOUNTING_DISABLED.lower() in (sec.text + "\n" + _stderr(s, "sacct")).lower():
        return Accounting(False, ACCOUNTING_DISABLED)
    if sec.rc == 0:
        return Accounting(True)
    note = _first_line(_stderr(s, "sacct") or sec.text) or f"rc={sec.rc}"
    if sec.missing or sec.rc == 127:
        note = note or "sacct not installed"
    elif sec.rc == 124:
        note = "sacct did not answer within 20 s"
    return Accounting(False, note)


def _mpi(s: dict[str, Section]) -> Slot[list[str]]:
    sec = s.get("mpi")
    if sec is None:
        return NOT_COLLECTED
    if not _ran(sec):
        return None
    plugins = mpi_plugins(_both(s, "mpi"))
    return None if not plugins and not sec.ok else plugins


def _multi_node(s: dict[str, Section]) -> tuple[Check | NotCollected, list[str]]:
    """The multi-node srun check and the nodes it ran on."""
    skip = s.get("srun-multi-skip")
    sec = s.get("srun-multi")
    if skip is not None:
        return Check(None, f"multi-node srun not tried: {skip.text.strip()}"), []
    if sec is None:
        return NOT_COLLECTED, []
    if sec.rc is None:
        return Check(None), []
    ran_on = sorted({ln.split()[0] for ln in sec.text.splitlines() if ln.strip()})
    err_text = _stderr(s, "srun-multi")
    if sec.ok:
        ok = len(ran_on) >= 2
        return Check(ok, "" if ok else f"srun -N2 ran on {len(ran_on)} node(s) only"), ran_on
    if sec.rc in (124, 137):
        return Check(None, "srun -N2 did not finish in time (nodes busy?); not measured"), ran_on
    if allocation_busy(err_text):
        return Check(
            None, f"srun -N2 could not get two nodes at once ({_first_line(err_text)}); not measured"
        ), ran_on
    return Check(False, f"srun -N2 failed: {_first_line(err_text) or f'rc={sec.rc}'}"), ran_on


def _node_ssh(s: dict[str, Section]) -> Check | NotCollected:
    skip = s.get("node-ssh-skip")
    sec = s.get("node-ssh")
    if skip is not None:
        return Check(None, f"node SSH not tried: {skip.text.strip()}")
    if sec is None:
        return NOT_COLLECTED
    if sec.rc is None:
        return Check(None)
    if sec.ok:
        return Check(True)
    target = s.get("node-ssh-target")
    where = target.text.strip() if target is not None else "a compute node"
    return Check(False, f"ssh {where} failed: {_first_line(_stderr(s, 'node-ssh')) or f'rc={sec.rc}'}")


def evidence(s: dict[str, Section], warnings: list[str]) -> SlurmEvidence:
    """The sections of one run of ``probes/slurm/run.sh``, read with the Slurm parsers."""
    sec = s.get("version")
    version: Slot[str] = NOT_COLLECTED if sec is None else (slurm_version(sec.text) if sec.ok else None)
    config: Slot[ScontrolConfigOutput] = NOT_COLLECTED
    controller_up: Slot[bool] = NOT_COLLECTED
    note = ""
    sec = s.get("config")
    if sec is not None:
        config = controller_up = None
        if sec.rc is not None and sec.ok and sec.text.strip():
            try:
                config = parse_scontrol_config(sec.text)
                controller_up = True
            except ParseError as err:
                warnings.append(f"scontrol show config: {err}")
        elif sec.rc is not None:
            err_text = _stderr(s, "config") + "\n" + sec.text
            controller_up = False if controller_unreachable(err_text) or sec.rc != 0 else None
            note = f"scontrol show config failed: {_first_line(err_text) or f'rc={sec.rc}'}"
    partitions = _scontrol_listing(
        s.get("partitions"), scontrol_partition.lists_none,
        lambda text: parse_scontrol_partition(text).partitions, "partition", warnings,
    )  # fmt: skip
    nodes = _scontrol_listing(
        s.get("nodes"),
        scontrol_node.lists_none,
        lambda text: parse_scontrol_node(text).nodes,
        "node",
        warnings,
    )
    sec = s.get("srun-help")
    pyxis: Slot[bool] = NOT_COLLECTED if sec is None else (pyxis_in_help(sec.text) if sec.ok else None)
    sec = s.get("enroot")
    enroot: Slot[bool] = NOT_COLLECTED if sec is None else (sec.ok if sec.rc is not None else None)
    return SlurmEvidence(
        version=version,
        config=config,
        controller_up=controller_up,
        controller_note=note,
        partitions=partitions,
        nodes=nodes,
        accounting=_accounting(s),
        mpi=_mpi(s),
        pyxis=pyxis,
        enroot=enroot,
        multi_node=_multi_node(s)[0],
        node_ssh=_node_ssh(s),
    )


def from_sections(inp: ProbeInput) -> ProbeOutput:
    s = inp.sections
    out = ProbeOutput()
    unavailable = s.get("unavailable")
    if unavailable is not None:
        out.status = ProbeStatus.SKIPPED
        out.substatus = SubStatus.NOT_INSTALLED
        out.message = unavailable.text.strip() or "Slurm client commands not found"
        return out
    warnings: list[str] = []
    ev = evidence(s, warnings)
    out.measurements, out.findings = measure(ev, inp.host, inp.spec.remediation)

    config = readable(ev.config)
    partitions = readable(ev.partitions)
    nodes = readable(ev.nodes)
    version = reported_version(ev)
    default = next((p for p in partitions or [] if p.default), None)
    notes = [ev.controller_note] if ev.controller_note else []
    sec = s.get("enroot")
    enroot_version = (_first_line(sec.text) or None) if sec is not None and sec.ok else None
    sec = s.get("topology")
    switches = topology_switches(sec.text) if sec is not None and sec.ok else None
    _, ran_on = _multi_node(s)
    target = s.get("node-ssh-target")

    # --- facts for the planner and the report
    facts: dict[str, JSONValue] = {
        "slurm_version": version,
        "default_partition": default.name if default is not None else None,
    }
    if nodes is not None:
        facts["compute_nodes"] = [_node_fact(n) for n in nodes]
        facts["usable_nodes"] = [n.name for n in nodes if n.unavailable is False]
        facts["gpus_per_node"] = {n.name: n.gpu_count for n in nodes if n.gpu_count is not None}
    if partitions is not None:
        facts["partitions"] = [_partition_fact(p) for p in partitions]
    facts["mpi_plugins"] = readable(ev.mpi)
    facts["enroot_version"] = enroot_version
    facts["topology_switches"] = switches
    if config is not None:
        facts["cluster_name"] = config.cluster_name
        facts["accounting_storage_type"] = config.accounting_storage_type
        facts["health_check_program"] = config.health_check_program
        facts["prolog"] = config.prolog
        facts["epilog"] = config.epilog
        facts["scheduler_parameters"] = config.scheduler_parameters
    if ran_on:
        facts["multi_node_srun_nodes"] = list(ran_on)
    if target is not None:
        facts["node_ssh_target"] = target.text.strip()
    for check in (ev.multi_node, ev.node_ssh):
        if isinstance(check, Check) and check.note:
            notes.append(check.note)
    if isinstance(ev.accounting, Accounting) and ev.accounting.note:
        notes.append(f"sacct: {ev.accounting.note}")
    if warnings:
        facts["parse_warnings"] = list(warnings)
    if notes:
        facts["notes"] = list(notes)
    out.facts = facts

    # --- status and message
    if ev.controller_up is False:
        out.status = ProbeStatus.FAILED
        out.message = "the Slurm controller did not answer: " + ev.controller_note
        return out
    if nodes is None and partitions is None and config is None:
        out.status = ProbeStatus.ERROR
        out.substatus = SubStatus.COMMAND_FAILED
        out.message = "no Slurm state could be read (scontrol failed or the output was cut)"
        if warnings:
            out.message += f": {warnings[0]}"
        return out
    parts = [f"Slurm {version}" if version else "Slurm"]
    if nodes is not None:
        gpus = sum(n.gpu_count or 0 for n in nodes)
        usable = sum(1 for n in nodes if n.unavailable is False)
        parts.append(f"{len(nodes)} nodes ({usable} usable), {gpus} GPUs")
    if partitions is not None:
        parts.append("partitions " + ", ".join(p.name + ("*" if p.default else "") for p in partitions))
    out.message = "; ".join(parts)
    return out


# -------------------------------------------------------------------------------- clustermax import


def _file_evidence(file: ImportedOutput, context: ImportContext) -> SlurmEvidence:
    """One imported Slurm output as the evidence the probe has when that is all it could read."""
    parsed = file.parsed
    if isinstance(parsed, ScontrolNodeOutput):
        return SlurmEvidence(nodes=list(parsed.nodes))
    if isinstance(parsed, ScontrolPartitionOutput):
        return SlurmEvidence(partitions=list(parsed.partitions))
    if isinstance(parsed, ScontrolConfigOutput):
        return SlurmEvidence(config=parsed, controller_up=True)
    if isinstance(parsed, SacctOutput):
        works = not parsed.accounting_disabled
        return SlurmEvidence(accounting=Accounting(works, "" if works else ACCOUNTING_DISABLED))
    if isinstance(parsed, SinfoOutput):
        return SlurmEvidence(sinfo=parsed)
    return SlurmEvidence()


FILES = (
    FileKind("sinfo", one_file(_file_evidence, measure)),
    FileKind("scontrol-node", one_file(_file_evidence, measure), section="nodes"),
    FileKind("scontrol-partition", one_file(_file_evidence, measure), section="partitions"),
    FileKind("scontrol-config", one_file(_file_evidence, measure), section="config"),
    FileKind("sacct", one_file(_file_evidence, measure), section="sacct"),
    FileKind("squeue", unmeasured),
    FileKind("slurm-messages", unmeasured),
)


@dataclass(frozen=True)
class NodeAvailability:
    """What the scheduler reach needs to know of a node before it asks for it (``scontrol show node``)."""

    name: str
    state: str | None
    reason: str | None
    gpu_count: int | None
    gpus_allocated: int | None


def node_availability(text: str) -> dict[str, NodeAvailability]:
    """``scontrol -o show node`` output -> each node's state, drain reason and GPUs (by node name)."""
    from ..parsers.slurm.scontrol_node import parse_scontrol_node

    parsed = parse_scontrol_node(text)
    return {
        n.name: NodeAvailability(n.name, n.state, n.reason, n.gpu_count, n.gpus_allocated)
        for n in parsed.nodes
    }
