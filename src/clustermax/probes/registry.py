"""The typed registry of probe modules: every probe id and the real module that reads its output.

Adding a probe: ``probes/<id>/probe.yaml`` and its script, ``clustermax/probes/<id>.py`` with
``from_sections`` (and ``measure`` / ``FILES``), and one line in :data:`PROBES`. mypy checks every
entry against :class:`~clustermax.probes.base.ProbeModule`; tests/probes/test_registry.py checks that
every probe folder has its module here and every module of this package is either listed or a support
module.

Importing this module imports every probe module and the tool parsers (pydantic models): the CLI imports
it only inside the commands that run, import or re-parse probes, never at start-up.
"""

from __future__ import annotations

from . import (
    access_identity,
    container_run,
    fabric,
    gpu_health,
    gpu_stack,
    k8s_node_config,
    kubernetes,
    monitoring,
    nccl_allreduce,
    node_isolation,
    node_perf,
    node_software,
    rdma_host,
    scheduler_detect,
    slurm,
    slurm_health,
    storage_discover,
    storage_fio,
    storage_object,
    storage_smallfiles,
    system_info,
    ttfj,
    ttfj_kubernetes,
    vm_guest,
)
from .base import FileKind, ProbeModule

PROBES: dict[str, ProbeModule] = {
    "system_info": system_info,
    "scheduler_detect": scheduler_detect,
    "slurm": slurm,
    "kubernetes": kubernetes,
    "gpu_health": gpu_health,
    "nccl_allreduce": nccl_allreduce,
    "ttfj": ttfj,
    "ttfj_kubernetes": ttfj_kubernetes,
    "fabric": fabric,
    "monitoring": monitoring,
    "access_identity": access_identity,
    "container_run": container_run,
    "gpu_stack": gpu_stack,
    "k8s_node_config": k8s_node_config,
    "node_isolation": node_isolation,
    "node_perf": node_perf,
    "node_software": node_software,
    "rdma_host": rdma_host,
    "slurm_health": slurm_health,
    "storage_discover": storage_discover,
    "storage_fio": storage_fio,
    "storage_object": storage_object,
    "storage_smallfiles": storage_smallfiles,
    "vm_guest": vm_guest,
}
"""Probe module by name (the ``parser`` key of probe.yaml, which is the probe's id for shipped probes)."""


def probe_module(name: str) -> ProbeModule:
    """The module registered as ``name``; KeyError naming the known ones otherwise."""
    try:
        return PROBES[name]
    except KeyError as err:
        raise KeyError(f"unknown probe module {name!r}; known: {', '.join(sorted(PROBES))}") from err


def file_kinds() -> dict[str, tuple[str, FileKind]]:
    """Parser kind -> (probe id, its FILES entry): which probe ``clustermax import`` files a kind under."""
    out: dict[str, tuple[str, FileKind]] = {}
    for probe_id, module in PROBES.items():
        for entry in module.FILES:
            if entry.kind in out:
                raise ValueError(
                    f"parser kind {entry.kind!r} is claimed by {out[entry.kind][0]} and {probe_id}"
                )
            out[entry.kind] = (probe_id, entry)
    return out
