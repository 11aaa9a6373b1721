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
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from ..models import Finding, JSONValue, Measurement, ProbeStatus, ScalarValue, Severity, SubStatus, Unit
from ..parsers.base import ParseError
from ..parsers.slurm import (
    ScontrolConfigOutput,
    SlurmNode,
    SlurmPartition,
    parse_scontrol_config,
    parse_scontrol_node,
    parse_scontrol_partition,
)
from .base import ProbeParseInput, ProbeParseOutput, Section

_VERSION = re.compile(r"^slurm(?:-wlm)?\s+(?P<v>\d+\.\d+(?:\.\d+)?\S*)", re.MULTILINE | re.IGNORECASE)
_NOT_CONFIGURED = {"", "(null)", "none", "n/a"}
_NO_TOPOLOGY = {"topology/none", "topology/default", "topology/flat", "none", "default", "flat"}
_CONTROLLER_DOWN = re.compile(
    r"Unable to contact slurm controller|Zero Bytes were transmitted or received|"
    r"Socket timed out on send/recv|Connection refused|slurm_load_\w+ error",
    re.IGNORECASE,
)
_BUSY = re.compile(
    r"Immediate execution impossible|Unable to allocate resources: .*(busy|not available|"
    r"Requested node configuration is not available)|Required node not available|"
    r"Job allocation \d+ has been revoked",
    re.IGNORECASE,
)


def slurm_version(text: str) -> str | None:
    """``slurm 23.11.4`` / ``slurm-wlm 22.05.8`` -> the version."""
    m = _VERSION.search(text)
    return m.group("v") if m else None


def mpi_plugins(text: str) -> list[str]:
    """MPI plugin names from ``srun --mpi=list``, old and new formats.

    Slurm >= 22.05 prints ``MPI plugin types are...`` then one tab-indented name per line and
    ``specific pmix plugin versions available: pmix_v4,pmix_v5``; older releases print
    ``srun: MPI types are...`` then ``srun: <name>`` lines (on stderr), some with an ``mpi/`` prefix.
    Versioned pmix plugins are listed after the generic names. Order of first appearance is kept.
    """
    names: list[str] = []
    started = False
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        body = line[len("srun:") :].strip() if line.startswith("srun:") else line
        if re.match(r"^MPI (plugin )?types are", body, re.IGNORECASE):
            started = True
            continue
        m = re.match(r"^specific pmix plugin versions available:\s*(?P<v>.*)$", body, re.IGNORECASE)
        if m:
            names.extend(v.strip() for v in m.group("v").split(",") if v.strip())
            continue
        if not started:
            continue
        if re.fullmatch(r"(mpi/)?[A-Za-z0-9_.\-]+", body):
            names.append(body.removeprefix("mpi/"))
    return list(dict.fromkeys(names))


def pyxis_in_help(text: str) -> bool:
    """pyxis adds ``--container-image`` (and other ``[pyxis]`` options) to ``srun --help``."""
    return bool(re.search(r"--container-image\b", text)) or "[pyxis]" in text


def topology_switches(text: str) -> int:
    """Switch (tree) or block records printed by ``scontrol show topology``."""
    return len(re.findall(r"^\s*(?:SwitchName|BlockName)=\S+", text, re.MULTILINE))


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


def parse(inp: ProbeParseInput) -> ProbeParseOutput:
    s = inp.sections
    out = ProbeParseOutput()
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
            controller_up = False if _CONTROLLER_DOWN.search(err_text) or sec.rc != 0 else None
            notes.append(f"scontrol show config failed: {_first_line(err_text) or f'rc={sec.rc}'}")
    if version is None and config is not None:
        version = config.slurm_version

    # --- partitions
    partitions: list[SlurmPartition] | None = None
    sec = s.get("partitions")
    if sec is not None and sec.ok:
        if re.search(r"No partitions in the system", sec.text, re.IGNORECASE) or not sec.text.strip():
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
        if re.search(r"No nodes in the system", sec.text, re.IGNORECASE) or not sec.text.strip():
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
        elif _BUSY.search(err_text):
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
