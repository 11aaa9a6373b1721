"""``nvidia-smi topo -m`` -> :class:`NvidiaSmiTopoOutput`.

Tabs (as printed) or spaces (as re-printed by collect_env scripts), with or without the legends,
NICs named ``NIC<n>`` (mapped to device names through the "NIC Legend") or directly (``mlx5_0``,
older drivers), and the trailing "CPU Affinity", "NUMA Affinity" and "GPU NUMA ID" columns.
"""

from __future__ import annotations

import re

from pydantic import Field

from ._paste import unwrapped_detect, unwrapped_input
from ._text import normalize
from .base import ParsedOutput, ParseError

KIND = "nvidia-smi-topo"

_TRAILING = ("CPU Affinity", "NUMA Affinity", "GPU NUMA ID")
_LEGEND_NIC = re.compile(r"^\s*(NIC\d+)\s*:\s*(\S+)\s*$")
_LABEL = re.compile(r"^(?:GPU\d+|NIC\d+|mlx\d+_\d+|mlx\d+_bond_\d+|[a-z]+\d*_\w+)$")


# precompiled (were re.<fn>(pattern, ...) calls in the functions named)
_DETECT_NVIDIA_SMI_TOPO_RE1 = re.compile(r"^\s*GPU0\s+X\s", re.M)


class NvidiaSmiTopoOutput(ParsedOutput):
    gpus: list[str] = Field(default_factory=list, description="GPU labels in order (GPU0, GPU1, ...).")
    nics: list[str] = Field(
        default_factory=list,
        description="NICs in order, as device names (mlx5_0) when the NIC Legend gives them.",
    )
    nic_devices: dict[str, str] = Field(
        default_factory=dict, description="NIC label -> device name (NIC Legend)."
    )
    links: dict[str, dict[str, str]] = Field(
        default_factory=dict,
        description="Row label -> column label -> link type (X, NV18, PIX, PXB, PHB, NODE, SYS).",
    )
    cpu_affinity: dict[str, str | None] = Field(default_factory=dict)
    numa_affinity: dict[str, str | None] = Field(default_factory=dict)
    gpu_numa_id: dict[str, str | None] = Field(default_factory=dict)


def _na(v: str | None) -> str | None:
    if v is None:
        return None
    v = v.strip()
    return None if not v or v.upper() == "N/A" else v


@unwrapped_input
def parse_nvidia_smi_topo(text: str) -> NvidiaSmiTopoOutput:
    if not isinstance(text, str):
        raise ParseError(KIND, "expected text")
    text = normalize(text)
    lines = text.split("\n")
    header_i = -1
    labels: list[str] = []
    trailing: list[str] = []
    for i, line in enumerate(lines):
        if "GPU0" not in line:
            continue
        head = line
        cut = len(head)
        found: list[tuple[int, str]] = []
        for name in _TRAILING:
            pos = head.find(name)
            if pos >= 0:
                found.append((pos, name))
                cut = min(cut, pos)
        tokens = head[:cut].split()
        if tokens and tokens[0] == "GPU0" and all(_LABEL.match(t) for t in tokens):
            header_i, labels = i, tokens
            trailing = [name for _, name in sorted(found)]
            break
    if header_i < 0:
        raise ParseError(
            KIND, "expected 'nvidia-smi topo -m' output: a header row starting with GPU0; found none"
        )
    warnings: list[str] = []
    n = len(labels)
    links: dict[str, dict[str, str]] = {}
    cpu: dict[str, str | None] = {}
    numa: dict[str, str | None] = {}
    numa_id: dict[str, str | None] = {}
    nic_devices: dict[str, str] = {}
    label_set = set(labels)
    in_legend = False
    for line in lines[header_i + 1 :]:
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith("NIC Legend"):
            in_legend = True
            continue
        if in_legend:
            m = _LEGEND_NIC.match(line)
            if m:
                nic_devices[m.group(1)] = m.group(2)
            continue
        tokens = stripped.split()
        row = tokens[0]
        if row not in label_set or ":" in row:
            continue
        values = tokens[1 : 1 + n]
        if len(values) < n:
            warnings.append(f"row {row} has {len(values)} of {n} cells (cut?)")
        links[row] = {col: val for col, val in zip(labels, values, strict=False)}
        rest = tokens[1 + n :]
        if row.startswith("GPU"):
            extra = dict(zip(trailing, rest, strict=False))
            cpu[row] = _na(extra.get("CPU Affinity"))
            numa[row] = _na(extra.get("NUMA Affinity"))
            if "GPU NUMA ID" in trailing:
                numa_id[row] = _na(extra.get("GPU NUMA ID"))
    gpus = [label for label in labels if label.startswith("GPU")]
    nic_labels = [label for label in labels if not label.startswith("GPU")]
    missing = [g for g in gpus if g not in links]
    if missing:
        warnings.append(f"no matrix row for {', '.join(missing)}")
    if nic_labels and any(label.startswith("NIC") for label in nic_labels) and not nic_devices:
        warnings.append("no 'NIC Legend': NICs are reported by their NIC<n> labels")
    nics = [nic_devices.get(label, label) for label in nic_labels]
    return NvidiaSmiTopoOutput(
        warnings=warnings,
        gpus=gpus,
        nics=nics,
        nic_devices=nic_devices,
        links=links,
        cpu_affinity=cpu,
        numa_affinity=numa,
        gpu_numa_id=numa_id,
    )


_TOPO_HEADER = re.compile(
    r"^\s*GPU0(?:\s+GPU\d+)*(?:\s+(?:NIC|mlx)\S*)*\s+(?:CPU Affinity|NUMA Affinity)?", re.M
)


@unwrapped_detect
def detect_nvidia_smi_topo(text: str) -> float:
    """Confidence from the matrix: a header of GPU0 GPU1 ... columns and a GPU0 row whose own cell is X."""
    if not isinstance(text, str):
        return 0.0
    head = text[:50_000]
    row = _DETECT_NVIDIA_SMI_TOPO_RE1.search(head)
    if row and _TOPO_HEADER.search(head, 0, row.start() + 1):
        return 0.95
    if row:
        return 0.7
    return 0.0
