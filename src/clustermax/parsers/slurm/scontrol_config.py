"""``scontrol show config`` (also ``scontrol show config | grep ...`` fragments)."""

from __future__ import annotations

import re

from pydantic import Field

from .._paste import unwrapped_detect, unwrapped_input
from ..base import ParsedOutput, ParseError
from ._common import int_or_none, text_lines, tres_map

_DETECT_SCONTROL_CONFIG_RE1 = re.compile(r"^Configuration data as of ", re.M)
_DETECT_SCONTROL_CONFIG_RE2 = re.compile(
    r"^(SLURM_VERSION|SlurmctldPort|SelectType|AuthType|ClusterName)\s+=", re.M
)
_PARSE_SCONTROL_CONFIG_RE1 = re.compile(r"^Configuration data as of (.+)$")
_PARSE_SCONTROL_CONFIG_RE2 = re.compile(r"^Slurmctld\(.*\) at .* is ")


class ScontrolConfigOutput(ParsedOutput):
    settings: dict[str, str] = Field(default_factory=dict, description="Every 'Key = Value' line, verbatim.")
    sections: dict[str, dict[str, str]] = Field(
        default_factory=dict, description="Plugin sections ('Cgroup Support Configuration:' ...) by title."
    )
    configuration_time: str | None = Field(default=None, description="From 'Configuration data as of ...'.")
    slurm_version: str | None = None
    cluster_name: str | None = None
    topology_plugin: str | None = None
    health_check_program: str | None = None
    health_check_interval: str | None = None
    prolog: str | None = None
    epilog: str | None = None
    def_mem_per_gpu: int | None = None
    def_cpu_per_gpu: int | None = None
    def_mem_per_cpu: int | None = None
    accounting_storage_type: str | None = None
    mpi_default: str | None = None
    select_type: str | None = None
    scheduler_parameters: str | None = None
    gres_types: str | None = None
    controllers: list[str] = Field(default_factory=list, description="'Slurmctld(primary) at x is UP' lines.")


_CONFIG_LINE = re.compile(r"^(?P<key>[A-Za-z_][A-Za-z0-9_\[\]\.\-/]*)\s*=\s?(?P<value>.*)$")


@unwrapped_input
def parse_scontrol_config(text: str) -> ScontrolConfigOutput:
    """Parse ``scontrol show config`` (also ``scontrol show config | grep ...`` fragments)."""
    kind = "scontrol-config"
    lines = text_lines(kind, text)
    settings: dict[str, str] = {}
    sections: dict[str, dict[str, str]] = {}
    section: str | None = None
    when = None
    controllers: list[str] = []
    warnings: list[str] = []
    for line in lines:
        stripped = line.strip()
        if not stripped:
            continue
        m_head = _PARSE_SCONTROL_CONFIG_RE1.match(stripped)
        if m_head:
            when = m_head.group(1).strip()
            section = None
            continue
        if _PARSE_SCONTROL_CONFIG_RE2.match(stripped):
            controllers.append(stripped)
            continue
        m = _CONFIG_LINE.match(stripped)
        if m:
            key, value = m.group("key"), m.group("value").strip()
            if section is None:
                if key in settings and settings[key] != value:
                    warnings.append(f"{key} appears twice; the first value is kept")
                settings.setdefault(key, value)
            else:
                sections[section].setdefault(key, value)
            continue
        if stripped.endswith(":") or stripped.endswith("Configuration"):
            section = stripped.rstrip(":").strip()
            sections.setdefault(section, {})
            continue
    if not settings:
        raise ParseError(kind, "no 'Key = Value' line found (expected output of scontrol show config)")
    if when is None and "SLURM_VERSION" not in settings:
        warnings.append("no 'Configuration data as of' header and no SLURM_VERSION: output may be partial")

    def get(key: str) -> str | None:
        value = settings.get(key)
        if value is None or value.strip() in ("", "(null)"):
            return None
        return value.strip()

    job_defaults = tres_map(settings.get("JobDefaults"))
    return ScontrolConfigOutput(
        settings=settings,
        sections=sections,
        configuration_time=when,
        slurm_version=get("SLURM_VERSION"),
        cluster_name=get("ClusterName"),
        topology_plugin=get("TopologyPlugin"),
        health_check_program=get("HealthCheckProgram"),
        health_check_interval=get("HealthCheckInterval"),
        prolog=get("Prolog"),
        epilog=get("Epilog"),
        def_mem_per_gpu=int_or_none(get("DefMemPerGPU") or job_defaults.get("DefMemPerGPU")),
        def_cpu_per_gpu=int_or_none(get("DefCpuPerGPU") or job_defaults.get("DefCpuPerGPU")),
        def_mem_per_cpu=int_or_none(get("DefMemPerCPU")),
        accounting_storage_type=get("AccountingStorageType"),
        mpi_default=get("MpiDefault"),
        select_type=get("SelectType"),
        scheduler_parameters=get("SchedulerParameters"),
        gres_types=get("GresTypes"),
        controllers=controllers,
        warnings=warnings,
    )


@unwrapped_detect
def detect_scontrol_config(text: str) -> float:
    if not isinstance(text, str):
        return 0.0
    head = text[:6000]
    if _DETECT_SCONTROL_CONFIG_RE1.search(head):
        return 0.98
    hits = len(_DETECT_SCONTROL_CONFIG_RE2.findall(head))
    return min(0.9, 0.3 * hits)
