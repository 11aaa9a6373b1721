"""Parsed Slurm output -> measurements and findings (metric names from ``probes/slurm/probe.yaml``).

Each function is pure and returns ``(measurements, findings)``. A metric that the given output cannot
tell is left out (not measured), never reported as 0. Finding codes are the remediation keys of the
slurm probe (``nodes-unavailable``, ``no-accounting``, ``no-topology``, ``no-healthcheck``, ``no-defaults``).
"""

from __future__ import annotations

from collections import Counter

from ..models import Finding, Measurement, Severity, Unit
from ..parsers.slurm import (
    SacctOutput,
    ScontrolConfigOutput,
    ScontrolNodeOutput,
    ScontrolPartitionOutput,
    SinfoOutput,
)

__all__ = [
    "sacct_measurements",
    "scontrol_config_measurements",
    "scontrol_nodes_measurements",
    "scontrol_partitions_measurements",
    "sinfo_measurements",
    "slurm_measurements",
]

Result = tuple[list[Measurement], list[Finding]]

_NO_TOPOLOGY = ("topology/none", "topology/default", "none", "default", "topology/flat")


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
        configured = topo is not None and topo.lower() not in _NO_TOPOLOGY
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
