"""Probe parsers, one module per probe, in an explicit registry (imported lazily)."""

from __future__ import annotations

import importlib
from collections.abc import Callable

from .base import ProbeParseInput, ProbeParseOutput, Section, split_sections

ProbeParser = Callable[[ProbeParseInput], ProbeParseOutput]

PROBE_PARSERS: dict[str, str] = {
    "system_info": "clustermax.probe_parsers.system_info:parse",
    "scheduler_detect": "clustermax.probe_parsers.scheduler_detect:parse",
    "slurm": "clustermax.probe_parsers.slurm:parse",
    "kubernetes": "clustermax.probe_parsers.kubernetes:parse",
    "gpu_health": "clustermax.probe_parsers.gpu_health:parse",
    "nccl_allreduce": "clustermax.probe_parsers.nccl_allreduce:parse",
    "ttfj": "clustermax.probe_parsers.ttfj:parse",
    "ttfj_kubernetes": "clustermax.probe_parsers.ttfj_kubernetes:parse",
    "fabric": "clustermax.probe_parsers.fabric:parse",
    "monitoring": "clustermax.probe_parsers.monitoring:parse",
}


def get_probe_parser(name: str) -> ProbeParser:
    try:
        target = PROBE_PARSERS[name]
    except KeyError:
        raise KeyError(f"unknown probe parser {name!r}; known: {', '.join(sorted(PROBE_PARSERS))}") from None
    module_name, _, attr = target.partition(":")
    func: ProbeParser = getattr(importlib.import_module(module_name), attr)
    return func


__all__ = [
    "PROBE_PARSERS",
    "ProbeParseInput",
    "ProbeParseOutput",
    "ProbeParser",
    "Section",
    "get_probe_parser",
    "split_sections",
]
