"""nvidia-smi topo -m parser on real matrices (tabs and spaces)."""

from __future__ import annotations

from pathlib import Path

import pytest

from clustermax.parsers.base import ParseError
from clustermax.parsers.nvidia_smi_topo import detect_nvidia_smi_topo, parse_nvidia_smi_topo

DATA = Path(__file__).resolve().parents[1] / "data" / "nvidia-smi-topo"


def load(name: str) -> str:
    return (DATA / name).read_text(encoding="utf-8")


def test_tabs_ten_nics_with_legend() -> None:
    out = parse_nvidia_smi_topo(load("a100x8-10nic-tabs.txt"))
    assert out.gpus == [f"GPU{i}" for i in range(8)]
    assert out.nics == [f"mlx5_{i}" for i in range(10)]
    assert out.links["GPU0"]["GPU1"] == "NV12" and out.links["GPU0"]["GPU0"] == "X"
    assert out.links["GPU2"]["NIC2"] == "PXB" and out.links["NIC8"]["NIC9"] == "PIX"
    assert out.cpu_affinity["GPU4"] == "112-127,240-255" and out.numa_affinity["GPU4"] == "7"
    assert out.gpu_numa_id == {}
    assert out.warnings == []
    assert (DATA / "a100x8-10nic-tabs.txt.source").is_file()


def test_spaces_with_gpu_numa_id() -> None:
    out = parse_nvidia_smi_topo(load("h100x8-8nic-spaces-gpu-numa-id.txt"))
    assert out.links["GPU5"]["NIC5"] == "PIX" and out.links["GPU5"]["GPU0"] == "NV18"
    assert out.numa_affinity["GPU0"] == "0" and out.gpu_numa_id["GPU0"] is None
    assert out.nic_devices["NIC7"] == "mlx5_7"


def test_without_legends() -> None:
    text = load("h100x8-8nic-spaces-gpu-numa-id.txt")
    out = parse_nvidia_smi_topo(text[: text.index("Legend:")])
    assert out.nics == [f"NIC{i}" for i in range(8)]
    assert any("no 'NIC Legend'" in w for w in out.warnings)


def test_without_nics() -> None:
    text = "\tGPU0\tGPU1\tCPU Affinity\tNUMA Affinity\nGPU0\t X \tNV4\t0-11\t0\nGPU1\tNV4\t X \t0-11\t0\n"
    out = parse_nvidia_smi_topo(text)
    assert out.nics == [] and out.links["GPU1"]["GPU0"] == "NV4" and out.cpu_affinity["GPU1"] == "0-11"


def test_detect() -> None:
    assert detect_nvidia_smi_topo(load("a100x8-10nic-tabs.txt")) > 0.9


@pytest.mark.parametrize("text", ["", "GPU0 is here but no matrix", "nothing"])
def test_not_topo(text: str) -> None:
    with pytest.raises(ParseError, match="topo -m"):
        parse_nvidia_smi_topo(text)
