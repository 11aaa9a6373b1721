"""slurm: configuration and health of a Slurm cluster, seen from the login node (pure).

Reads the sections of ``probes/slurm/run.sh`` and reuses the Slurm text parsers of
:mod:`clustermax.parsers.slurm` (scontrol show config / partition / node). Besides measurements it
returns the facts the planner uses to run the per-node probes on the compute nodes::

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

Mapping (``measure``, the functions ``clustermax import`` calls): parsed Slurm output -> measurements and
findings (metric names from ``probes/slurm/probe.yaml``).

Each function is pure and returns ``(measurements, findings)``. A metric that the given output cannot
tell is left out (not measured), never reported as 0. Finding codes are the remediation keys of the
slurm probe (``nodes-unavailable``, ``no-accounting``, ``no-topology``, ``no-healthcheck``, ``no-defaults``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

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

# ------------------------------------------------------------------------------------------ measure

Result = tuple[list[Measurement], list[Finding]]

_IMPORT_NO_TOPOLOGY = ("topology/none", "topology/default", "none", "default", "topology/flat")


def _m(
    metric: str, value: bool | int | float | str | None, unit: Unit, host: str, **labels: str
) -> Measurement:
    return Measurement(metric=metric, value=value, unit=unit, host=host, labels=labels)


def sinfo_measurements(parsed: SinfoOutput, host: str) -> Result:
    """slurm.partitions, slurm.partitions_up, slurm.default_partition_set from sinfo's partition rows."""
    out: list[Measurement] = []
    parts = parsed.partitions
    if parts:
        out.append(_m("slurm.partitions", len(parts), Unit.COUNT, host))
        if all(p.avail is not None for p in parts):
            out.append(_m("slurm.partitions_up", sum(p.avail == "up" for p in parts), Unit.COUNT, host))
        out.append(_m("slurm.default_partition_set", any(p.default for p in parts), Unit.BOOL, host))
    return out, []


def scontrol_nodes_measurements(parsed: ScontrolNodeOutput, host: str) -> Result:
    """Node totals, unavailable nodes, GPUs per node and in total, and the slurmd version."""
    out: list[Measurement] = []
    findings: list[Finding] = []
    nodes = parsed.nodes
    if not nodes:
        return out, findings
    total = len(nodes)
    out.append(_m("slurm.nodes_total", total, Unit.COUNT, host))
    states = [n.unavailable for n in nodes]
    if all(s is not None for s in states):
        bad = [n for n in nodes if n.unavailable]
        out.append(_m("slurm.nodes_unavailable", len(bad), Unit.COUNT, host))
        out.append(_m("slurm.nodes_unavailable_fraction", round(len(bad) / total, 6), Unit.RATIO, host))
        if bad:
            shown = "; ".join(
                f"{n.name} {n.state}" + (f" ({n.reason})" if n.reason else "") for n in bad[:10]
            )
            more = f" and {len(bad) - 10} more" if len(bad) > 10 else ""
            findings.append(
                Finding(
                    code="nodes-unavailable",
                    severity=Severity.HIGH if len(bad) / total > 0.1 else Severity.MEDIUM,
                    host=host,
                    message=f"{len(bad)} of {total} Slurm nodes are unavailable: {shown}{more}.",
                )
            )
    counts = [n.gpu_count for n in nodes]
    if all(c is not None for c in counts):
        gpu_nodes = [n for n in nodes if (n.gpu_count or 0) > 0]
        out.append(_m("slurm.gpu_nodes", len(gpu_nodes), Unit.COUNT, host))
        out.append(_m("slurm.gpus_total", sum(c or 0 for c in counts), Unit.COUNT, host))
        for n in gpu_nodes:
            out.append(
                _m(
                    "slurm.gpus_per_node",
                    n.gpu_count,
                    Unit.COUNT,
                    host,
                    node=n.name,
                    gpu_type=n.gpu_type or "",
                )
            )
    versions = Counter(n.slurm_version for n in nodes if n.slurm_version)
    if versions:
        out.append(_m("slurm.version", versions.most_common(1)[0][0], Unit.VERSION, host))
    return out, findings


def scontrol_partitions_measurements(parsed: ScontrolPartitionOutput, host: str) -> Result:
    """Partitions, partitions up, default partition, and partition-level GPU defaults when set."""
    return slurm_measurements(host, partitions=parsed)


def scontrol_config_measurements(parsed: ScontrolConfigOutput, host: str) -> Result:
    """Version, topology, health check, prolog/epilog from ``scontrol show config``."""
    return slurm_measurements(host, config=parsed)


def sacct_measurements(parsed: SacctOutput, host: str) -> Result:
    """slurm.accounting: True when sacct printed its table, False when accounting storage is disabled."""
    return slurm_measurements(host, sacct=parsed)


def slurm_measurements(
    host: str,
    *,
    sinfo: SinfoOutput | None = None,
    nodes: ScontrolNodeOutput | None = None,
    partitions: ScontrolPartitionOutput | None = None,
    config: ScontrolConfigOutput | None = None,
    sacct: SacctOutput | None = None,
) -> Result:
    """Everything the slurm probe can say from the outputs it has, each metric once.

    When both sinfo and ``scontrol show partition`` are given, partition metrics come from scontrol.
    DefMemPerGPU/DefCpuPerGPU count as set when slurm.conf or any partition sets them; "not set" needs
    both the config and the partitions (a partition default is invisible in ``scontrol show config``).
    """
    out: list[Measurement] = []
    findings: list[Finding] = []
    if partitions is not None and partitions.partitions:
        parts = partitions.partitions
        out.append(_m("slurm.partitions", len(parts), Unit.COUNT, host))
        if all(p.state is not None for p in parts):
            up = sum((p.state or "").upper() == "UP" for p in parts)
            out.append(_m("slurm.partitions_up", up, Unit.COUNT, host))
        if all(p.default is not None for p in parts):
            out.append(_m("slurm.default_partition_set", any(p.default for p in parts), Unit.BOOL, host))
    elif sinfo is not None:
        ms, fs = sinfo_measurements(sinfo, host)
        out += ms
        findings += fs
    if nodes is not None:
        ms, fs = scontrol_nodes_measurements(nodes, host)
        if config is not None and config.slurm_version:
            ms = [m for m in ms if m.metric != "slurm.version"]
        out += ms
        findings += fs
    mem_set = cpu_set = None
    if config is not None:
        out += _config(config, host, findings)
        mem_set = config.def_mem_per_gpu is not None or config.def_mem_per_cpu is not None
        cpu_set = config.def_cpu_per_gpu is not None
    if partitions is not None and partitions.partitions:
        p_mem = any(
            p.def_mem_per_gpu is not None or p.def_mem_per_cpu is not None for p in partitions.partitions
        )
        p_cpu = any(p.def_cpu_per_gpu is not None for p in partitions.partitions)
        mem_set = True if p_mem else (mem_set if config is not None else None)
        cpu_set = True if p_cpu else (cpu_set if config is not None else None)
    elif config is not None:
        mem_set = True if mem_set else None
        cpu_set = True if cpu_set else None
    if mem_set is not None:
        out.append(_m("slurm.def_mem_per_gpu_set", mem_set, Unit.BOOL, host))
    if cpu_set is not None:
        out.append(_m("slurm.def_cpu_per_gpu_set", cpu_set, Unit.BOOL, host))
    if mem_set is False or cpu_set is False:
        missing = [n for n, v in (("DefMemPerGPU", mem_set), ("DefCpuPerGPU", cpu_set)) if v is False]
        findings.append(
            Finding(
                code="no-defaults",
                severity=Severity.LOW,
                host=host,
                message=f"{' and '.join(missing)} not set in slurm.conf nor on any partition.",
            )
        )
    if sacct is not None:
        out.append(_m("slurm.accounting", not sacct.accounting_disabled, Unit.BOOL, host))
        if sacct.accounting_disabled:
            findings.append(
                Finding(
                    code="no-accounting",
                    severity=Severity.MEDIUM,
                    host=host,
                    message="sacct answers 'Slurm accounting storage is disabled': no job accounting.",
                )
            )
    return out, findings


def _config(config: ScontrolConfigOutput, host: str, findings: list[Finding]) -> list[Measurement]:
    out: list[Measurement] = []
    if config.slurm_version:
        out.append(_m("slurm.version", config.slurm_version, Unit.VERSION, host))
    if not config.settings:
        return out
    topo = config.topology_plugin
    if "TopologyPlugin" in config.settings:
        out.append(_m("slurm.topology_plugin", topo or "", Unit.TEXT, host))
        configured = topo is not None and topo.lower() not in _IMPORT_NO_TOPOLOGY
        out.append(_m("slurm.topology_configured", configured, Unit.BOOL, host))
        if not configured:
            findings.append(
                Finding(
                    code="no-topology",
                    severity=Severity.MEDIUM,
                    host=host,
                    message=f"TopologyPlugin is {topo or 'unset'}: the scheduler does not know the network "
                    "topology.",
                )
            )
    if "HealthCheckProgram" in config.settings:
        configured = config.health_check_program is not None
        out.append(_m("slurm.healthcheck_configured", configured, Unit.BOOL, host))
        if not configured:
            findings.append(
                Finding(
                    code="no-healthcheck",
                    severity=Severity.MEDIUM,
                    host=host,
                    message="HealthCheckProgram is not set: no periodic node health check.",
                )
            )
    if "Prolog" in config.settings:
        out.append(_m("slurm.prolog_configured", config.prolog is not None, Unit.BOOL, host))
    if "Epilog" in config.settings:
        out.append(_m("slurm.epilog_configured", config.epilog is not None, Unit.BOOL, host))
    return out


# ------------------------------------------------------------------------------------ from_sections


_NOT_CONFIGURED = {"", "(null)", "none", "n/a"}
_NO_TOPOLOGY = {"topology/none", "topology/default", "topology/flat", "none", "default", "flat"}


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
    """Is a default (DefMemPerGPU ...) set globally or on the partition a plain job lands in?"""
    keys = list(attrs)
    if config is not None and any(getattr(config, k) is not None for k in keys):
        return True
    if partitions is None:
        return None if config is None else False
    target = [p for p in partitions if p.default] or partitions
    if not target:
        return False
    return any(getattr(p, k, None) is not None for p in target for k in keys)


class _Out:
    def __init__(self, host: str) -> None:
        self.host = host
        self.measurements: list[Measurement] = []

    def add(self, metric: str, value: ScalarValue, unit: Unit, **labels: str) -> None:
        self.measurements.append(
            Measurement(metric=metric, value=value, unit=unit, host=self.host, labels=labels)
        )


def from_sections(inp: ProbeInput) -> ProbeOutput:
    s = inp.sections
    out = ProbeOutput()
    rem = inp.spec.remediation
    unavailable = s.get("unavailable")
    if unavailable is not None:
        out.status = ProbeStatus.SKIPPED
        out.substatus = SubStatus.NOT_INSTALLED
        out.message = unavailable.text.strip() or "Slurm client commands not found"
        return out

    notes: list[str] = []
    warnings: list[str] = []

    # --- version
    version: str | None = None
    sec = s.get("version")
    if sec is not None and sec.ok:
        version = slurm_version(sec.text)

    # --- config (needs the controller)
    config: ScontrolConfigOutput | None = None
    controller_up: bool | None = None
    sec = s.get("config")
    if sec is not None and sec.rc is not None:
        if sec.ok and sec.text.strip():
            try:
                config = parse_scontrol_config(sec.text)
                controller_up = True
            except ParseError as err:
                warnings.append(f"scontrol show config: {err}")
        else:
            err_text = _stderr(s, "config") + "\n" + sec.text
            controller_up = False if controller_unreachable(err_text) or sec.rc != 0 else None
            notes.append(f"scontrol show config failed: {_first_line(err_text) or f'rc={sec.rc}'}")
    if version is None and config is not None:
        version = config.slurm_version

    # --- partitions
    partitions: list[SlurmPartition] | None = None
    sec = s.get("partitions")
    if sec is not None and sec.ok:
        if scontrol_partition.lists_none(sec.text):
            partitions = []
        else:
            try:
                partitions = parse_scontrol_partition(sec.text).partitions
            except ParseError as err:
                warnings.append(f"scontrol show partition: {err}")

    # --- nodes
    nodes: list[SlurmNode] | None = None
    sec = s.get("nodes")
    if sec is not None and sec.ok:
        if scontrol_node.lists_none(sec.text):
            nodes = []
        else:
            try:
                nodes = parse_scontrol_node(sec.text).nodes
            except ParseError as err:
                warnings.append(f"scontrol show node: {err}")

    m = _Out(inp.host)
    m.add("slurm.version", version, Unit.VERSION)
    m.add("slurm.controller_up", controller_up, Unit.BOOL)

    default_partition: str | None = None
    if partitions is not None:
        up = [p for p in partitions if (p.state or "").upper() == "UP"]
        default = next((p for p in partitions if p.default), None)
        default_partition = default.name if default else None
        m.add("slurm.partitions", len(partitions), Unit.COUNT)
        m.add("slurm.partitions_up", len(up), Unit.COUNT)
        m.add("slurm.default_partition_set", default is not None, Unit.BOOL)
    else:
        for name, unit in (("partitions", Unit.COUNT), ("partitions_up", Unit.COUNT)):
            m.add(f"slurm.{name}", None, unit)
        m.add("slurm.default_partition_set", None, Unit.BOOL)

    usable: list[SlurmNode] = []
    bad: list[SlurmNode] = []
    if nodes is not None:
        usable = [n for n in nodes if n.unavailable is False]
        bad = [n for n in nodes if n.unavailable is True]
        gpu_nodes = [n for n in nodes if n.gpu_count]
        counts = [n.gpu_count for n in nodes]
        m.add("slurm.nodes_total", len(nodes), Unit.COUNT)
        m.add("slurm.nodes_unavailable", len(bad), Unit.COUNT)
        m.add("slurm.nodes_usable", len(usable), Unit.COUNT)
        m.add(
            "slurm.nodes_unavailable_fraction",
            round(len(bad) / len(nodes), 6) if nodes else None,
            Unit.RATIO,
        )
        m.add("slurm.gpu_nodes", len(gpu_nodes), Unit.COUNT)
        for n in gpu_nodes:
            m.add("slurm.gpus_per_node", n.gpu_count, Unit.COUNT, node=n.name, gpu_type=n.gpu_type or "")
        total = None if any(c is None for c in counts) else sum(c for c in counts if c is not None)
        m.add("slurm.gpus_total", total, Unit.COUNT)
    else:
        for name in ("nodes_total", "nodes_unavailable", "nodes_usable", "gpu_nodes", "gpus_total"):
            m.add(f"slurm.{name}", None, Unit.COUNT)
        m.add("slurm.nodes_unavailable_fraction", None, Unit.RATIO)

    mem_set = _defaults_set(config, partitions, ("def_mem_per_gpu", "def_mem_per_cpu"))
    cpu_set = _defaults_set(config, partitions, ("def_cpu_per_gpu",))
    m.add("slurm.def_mem_per_gpu_set", mem_set, Unit.BOOL)
    m.add("slurm.def_cpu_per_gpu_set", cpu_set, Unit.BOOL)

    # --- accounting
    accounting: bool | None = None
    sec = s.get("sacct")
    sacct_note = ""
    if sec is not None and sec.rc is not None:
        accounting = sec.rc == 0
        if not accounting:
            sacct_note = _first_line(_stderr(s, "sacct") or sec.text) or f"rc={sec.rc}"
            if sec.missing or sec.rc == 127:
                sacct_note = sacct_note or "sacct not installed"
            elif sec.rc == 124:
                sacct_note = "sacct did not answer within 20 s"
    m.add("slurm.accounting", accounting, Unit.BOOL)

    # --- MPI
    plugins: list[str] | None = None
    sec = s.get("mpi")
    if _ran(sec):
        plugins = mpi_plugins(_both(s, "mpi"))
        if not plugins and sec is not None and not sec.ok:
            plugins = None
    m.add("slurm.mpi_plugins", ",".join(plugins) if plugins is not None else None, Unit.TEXT)
    pmix = None if plugins is None else any(p.lower().startswith("pmix") for p in plugins)
    m.add("slurm.pmix", pmix, Unit.BOOL)

    # --- containers
    sec = s.get("srun-help")
    pyxis = pyxis_in_help(sec.text) if sec is not None and sec.ok else None
    m.add("slurm.pyxis", pyxis, Unit.BOOL)
    sec = s.get("enroot")
    enroot: bool | None = None
    enroot_version: str | None = None
    if sec is not None and sec.rc is not None:
        enroot = sec.ok
        enroot_version = _first_line(sec.text) or None if sec.ok else None
    m.add("slurm.enroot", enroot, Unit.BOOL)

    # --- topology, health check, prolog/epilog (from the config)
    topo_plugin = topo_set = health = prolog = epilog = None
    switches = None
    sec = s.get("topology")
    if sec is not None and sec.ok:
        switches = topology_switches(sec.text)
    if config is not None:
        raw_plugin = config.settings.get("TopologyPlugin")
        topo_plugin = raw_plugin.strip() if raw_plugin is not None else None
        topo_set = _set(topo_plugin) and (topo_plugin or "").lower() not in _NO_TOPOLOGY
        health = _set(config.health_check_program)
        prolog = _set(config.prolog) or _set(config.settings.get("PrologSlurmctld"))
        epilog = _set(config.epilog) or _set(config.settings.get("EpilogSlurmctld"))
    m.add("slurm.topology_plugin", topo_plugin, Unit.TEXT)
    m.add("slurm.topology_configured", topo_set, Unit.BOOL)
    m.add("slurm.healthcheck_configured", health, Unit.BOOL)
    m.add("slurm.prolog_configured", prolog, Unit.BOOL)
    m.add("slurm.epilog_configured", epilog, Unit.BOOL)

    # --- srun on two nodes
    multi: bool | None = None
    multi_nodes: list[str] = []
    multi_note = ""
    skip = s.get("srun-multi-skip")
    sec = s.get("srun-multi")
    if skip is not None:
        multi_note = f"multi-node srun not tried: {skip.text.strip()}"
    elif sec is not None and sec.rc is not None:
        multi_nodes = sorted({ln.split()[0] for ln in sec.text.splitlines() if ln.strip()})
        err_text = _stderr(s, "srun-multi")
        if sec.ok:
            multi = len(multi_nodes) >= 2
            if not multi:
                multi_note = f"srun -N2 ran on {len(multi_nodes)} node(s) only"
        elif sec.rc in (124, 137):
            multi_note = "srun -N2 did not finish in time (nodes busy?); not measured"
        elif allocation_busy(err_text):
            multi_note = f"srun -N2 could not get two nodes at once ({_first_line(err_text)}); not measured"
        else:
            multi = False
            multi_note = f"srun -N2 failed: {_first_line(err_text) or f'rc={sec.rc}'}"
    m.add("slurm.multi_node_srun", multi, Unit.BOOL)

    # --- SSH from the login node to a compute node
    node_ssh: bool | None = None
    ssh_note = ""
    target = s.get("node-ssh-target")
    sec = s.get("node-ssh")
    skip = s.get("node-ssh-skip")
    if skip is not None:
        ssh_note = f"node SSH not tried: {skip.text.strip()}"
    elif sec is not None and sec.rc is not None:
        node_ssh = sec.ok
        if not sec.ok:
            err_text = _stderr(s, "node-ssh")
            where = target.text.strip() if target is not None else "a compute node"
            ssh_note = f"ssh {where} failed: {_first_line(err_text) or f'rc={sec.rc}'}"
    m.add("slurm.node_ssh", node_ssh, Unit.BOOL)

    out.measurements = m.measurements

    # --- facts for the planner and the report
    facts: dict[str, JSONValue] = {"slurm_version": version, "default_partition": default_partition}
    if nodes is not None:
        facts["compute_nodes"] = [_node_fact(n) for n in nodes]
        facts["usable_nodes"] = [n.name for n in usable]
        facts["gpus_per_node"] = {n.name: n.gpu_count for n in nodes if n.gpu_count is not None}
    if partitions is not None:
        facts["partitions"] = [_partition_fact(p) for p in partitions]
    facts["mpi_plugins"] = plugins
    facts["enroot_version"] = enroot_version
    facts["topology_switches"] = switches
    if config is not None:
        facts["cluster_name"] = config.cluster_name
        facts["accounting_storage_type"] = config.accounting_storage_type
        facts["health_check_program"] = config.health_check_program
        facts["prolog"] = config.prolog
        facts["epilog"] = config.epilog
        facts["scheduler_parameters"] = config.scheduler_parameters
    if multi_nodes:
        facts["multi_node_srun_nodes"] = list(multi_nodes)
    if target is not None:
        facts["node_ssh_target"] = target.text.strip()
    notes.extend(n for n in (multi_note, ssh_note) if n)
    if sacct_note:
        notes.append(f"sacct: {sacct_note}")
    if warnings:
        facts["parse_warnings"] = list(warnings)
    if notes:
        facts["notes"] = list(notes)
    out.facts = facts

    # --- findings
    def find(code: str, severity: Severity, message: str) -> None:
        out.findings.append(
            Finding(
                code=f"slurm.{code}",
                severity=severity,
                host=inp.host,
                message=message,
                remediation=rem.get(code),
            )
        )

    if controller_up is False:
        find(
            "controller-down", Severity.CRITICAL, notes[0] if notes else "the Slurm controller did not answer"
        )
    if nodes:
        if bad:
            listed = ", ".join(f"{n.name} ({n.state}{': ' + n.reason if n.reason else ''})" for n in bad[:10])
            more = f" and {len(bad) - 10} more" if len(bad) > 10 else ""
            frac = len(bad) / len(nodes)
            find(
                "nodes-unavailable",
                Severity.HIGH if frac >= 0.25 else Severity.MEDIUM,
                f"{len(bad)} of {len(nodes)} nodes cannot take jobs: {listed}{more}",
            )
    if accounting is False:
        find("no-accounting", Severity.MEDIUM, f"sacct does not work ({sacct_note})")
    if pmix is False:
        find(
            "no-pmix",
            Severity.MEDIUM,
            f"no PMIx MPI plugin (srun --mpi=list: {', '.join(plugins or []) or 'none'})",
        )
    if pyxis is False:
        find("no-pyxis", Severity.MEDIUM, "srun has no --container-image option (pyxis not installed)")
    if topo_set is False and (nodes is None or len(nodes) > 1):
        find("no-topology", Severity.MEDIUM, f"TopologyPlugin is {topo_plugin or 'not set'}")
    if health is False:
        find("no-healthcheck", Severity.MEDIUM, "HealthCheckProgram is not set")
    missing_defaults = [n for n, v in (("DefMemPerGPU", mem_set), ("DefCpuPerGPU", cpu_set)) if v is False]
    if missing_defaults:
        find(
            "no-defaults", Severity.LOW, f"{' and '.join(missing_defaults)} not set for the default partition"
        )
    if multi is False:
        find("no-multi-node", Severity.HIGH, multi_note)
    if node_ssh is False:
        find("no-node-ssh", Severity.LOW, ssh_note)

    # --- status and message
    if controller_up is False:
        out.status = ProbeStatus.FAILED
        out.message = "the Slurm controller did not answer: " + (notes[0] if notes else "")
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
        parts.append(f"{len(nodes)} nodes ({len(usable)} usable), {gpus} GPUs")
    if partitions is not None:
        parts.append("partitions " + ", ".join(p.name + ("*" if p.default else "") for p in partitions))
    out.message = "; ".join(parts)
    return out


# -------------------------------------------------------------------------------- clustermax import


def _sinfo_files(files: Sequence[ImportedOutput], context: ImportContext) -> Measured:
    parsed = files[0].parsed
    return (
        Measured(*sinfo_measurements(parsed, files[0].host))
        if isinstance(parsed, SinfoOutput)
        else Measured([], [])
    )


def _node_files(files: Sequence[ImportedOutput], context: ImportContext) -> Measured:
    parsed = files[0].parsed
    if not isinstance(parsed, ScontrolNodeOutput):
        return Measured([], [])
    return Measured(*scontrol_nodes_measurements(parsed, files[0].host))


def _partition_files(files: Sequence[ImportedOutput], context: ImportContext) -> Measured:
    parsed = files[0].parsed
    if not isinstance(parsed, ScontrolPartitionOutput):
        return Measured([], [])
    return Measured(*scontrol_partitions_measurements(parsed, files[0].host))


def _config_files(files: Sequence[ImportedOutput], context: ImportContext) -> Measured:
    parsed = files[0].parsed
    if not isinstance(parsed, ScontrolConfigOutput):
        return Measured([], [])
    return Measured(*scontrol_config_measurements(parsed, files[0].host))


def _sacct_files(files: Sequence[ImportedOutput], context: ImportContext) -> Measured:
    parsed = files[0].parsed
    return (
        Measured(*sacct_measurements(parsed, files[0].host))
        if isinstance(parsed, SacctOutput)
        else Measured([], [])
    )


FILES = (
    FileKind("sinfo", _sinfo_files),
    FileKind("scontrol-node", _node_files),
    FileKind("scontrol-partition", _partition_files),
    FileKind("scontrol-config", _config_files),
    FileKind("sacct", _sacct_files),
    FileKind("squeue", unmeasured),
    FileKind("slurm-messages", unmeasured),
)
