"""One reader per tool format, one mapping per metric: the gpu_health / fabric probes and `clustermax import`
give the same gpu.* / fabric.* values for the same text.

* The lead's raw captures of a 1 x H100 machine (table, -q, query CSV, topo -m with ANSI escapes, dmesg)
  imported with the real `clustermax import` command agree with the probe's recorded run on that machine.
* Every real fixture of every kind, wrapped in probe sections, gives the probe exactly the measurements and
  findings the import gives for the same file: tests/probes/test_audit_import_agree.py.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from clustermax.models import Bundle, Measurement
from clustermax.probes.base import ProbeInput, ProbeOutput, split_sections
from clustermax.probes.fabric import from_sections as parse_fabric
from clustermax.probes.gpu_health import from_sections as parse_gpu_health
from tests.probes.standins import DATA, spec

CAPTURE = DATA / "captures" / "h100-fc-2026-11-26"
PROBE_RUN = DATA / "probe_gpu_health" / "h100-fc-bare-local.stdout"
GPU = spec("gpu_health")
FABRIC = spec("fabric")

H100 = {
    "gpu.count": 1,
    "gpu.model": "NVIDIA H100 80GB HBM3",
    "gpu.driver_version": "580.159.04",
    "gpu.cuda_version": "13.0",
    "gpu.memory_total": 81559,
    "gpu.persistence_mode": True,
}


def section(name: str, text: str, rc: int = 0) -> str:
    return f"@@CMX:BEGIN {name}@@\n{text}\n@@CMX:END {name} rc={rc}@@\n"


def probe(spec_: object, stdout: str, **params: object) -> ProbeOutput:
    inp = ProbeInput(
        spec=spec_,  # type: ignore[arg-type]
        host="imported",
        commands={},
        sections=split_sections(stdout),
        params=dict(params),  # type: ignore[arg-type]
    )
    return (parse_fabric if spec_ is FABRIC else parse_gpu_health)(inp)


def values(ms: list[Measurement]) -> dict[str, object]:
    return {m.metric: m.value for m in ms if m.metric.startswith("gpu.") and not m.labels}


def comparable(m: Measurement, drop: tuple[str, ...] = ()) -> tuple[object, ...]:
    labels = tuple(sorted((k, v) for k, v in m.labels.items() if k not in drop))
    return (m.metric, m.value, m.unit, m.host, labels)


# ----------------------------------------------------------------------- the H100 captures, both paths


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> Bundle:
    out = tmp_path_factory.mktemp("import")
    files = [
        CAPTURE / name
        for name in (
            "nvidia-smi.txt",
            "nvidia-smi-q.txt",
            "nvidia-smi-query-csv.txt",
            "nvidia-smi-topo-m.txt",
            "dmesg.txt",
        )
    ]
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "clustermax",
            "import",
            "--provider",
            "lab",
            "--cluster",
            "h100",
            "--out",
            str(out),
        ]
        + [str(f) for f in files],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[-1].endswith("(5 of 5 file(s) imported)"), r.stdout
    return Bundle.model_validate_json((out / "bundle.json").read_text())


def by_file(bundle: Bundle) -> dict[str, list[Measurement]]:
    """Measurements of each imported file (the cluster-wide result derived from them has no command)."""
    per_file = [r for r in bundle.results if r.command_ids]
    return {
        cmd.command.removeprefix("import "): list(res.measurements)
        for cmd, res in zip(bundle.commands, per_file, strict=True)
    }


def test_import_detects_each_capture(imported: Bundle) -> None:
    assert [(Path(i.path).name, i.kind, i.status) for i in imported.imports] == [
        ("nvidia-smi.txt", "nvidia-smi", "imported"),
        ("nvidia-smi-q.txt", "nvidia-smi", "imported"),
        ("nvidia-smi-query-csv.txt", "nvidia-smi", "imported"),
        ("nvidia-smi-topo-m.txt", "nvidia-smi-topo", "imported"),
        ("dmesg.txt", "xid", "imported"),
    ]


def test_imported_captures_equal_the_probe_run_on_the_same_h100(imported: Bundle) -> None:
    run = probe(GPU, PROBE_RUN.read_text(), expected_gpus=1)
    probe_values = values(run.measurements)
    assert {k: probe_values[k] for k in H100} == H100
    files = by_file(imported)
    table, query, csv = (
        values(files[n]) for n in ("nvidia-smi.txt", "nvidia-smi-q.txt", "nvidia-smi-query-csv.txt")
    )
    # -q and the table print every identity field: the same values as the probe
    assert {k: query[k] for k in H100} == H100
    assert {k: table[k] for k in H100} == H100
    # the query CSV asked for no driver or CUDA version: those are not measured, the rest agree
    assert {k: csv[k] for k in H100} == {**H100, "gpu.driver_version": None, "gpu.cuda_version": None}
    # -q also tells the health fields; on this healthy GPU they agree with the probe's run
    for metric in (
        "gpu.power_limit",
        "gpu.throttled",
        "gpu.ecc_uncorrected",
        "gpu.ecc_uncorrected_aggregate",
        "gpu.retired_pages_pending",
        "gpu.remapped_rows_pending",
        "gpu.remapped_rows_failed",
        "gpu.pcie_degraded",
    ):
        assert query[metric] == probe_values[metric], metric
    assert (query["gpu.power_limit"], query["gpu.pcie_degraded"], query["gpu.throttled"]) == (700.0, 0, 0)
    # the kernel log: NVRM lines but no Xid, on both paths
    xid = values(files["dmesg.txt"])
    assert {k: xid[k] for k in ("gpu.xid_events", "gpu.xid_critical", "gpu.fallen_off_bus")} == {
        "gpu.xid_events": 0,
        "gpu.xid_critical": 0,
        "gpu.fallen_off_bus": False,
    }
    assert (probe_values["gpu.xid_events"], probe_values["gpu.xid_critical"]) == (0, 0)
    assert probe_values["gpu.fallen_off_bus"] is False
    # topo -m with ANSI escapes, no NIC: the import and the fabric probe both count 0 GPUs near a NIC
    [pix] = [m.value for m in files["nvidia-smi-topo-m.txt"] if m.metric == "fabric.gpu_nic_pix"]
    fabric = probe(FABRIC, (DATA / "probe_fabric" / "h100-fc-bare-local.stdout").read_text())
    assert pix == 0 == next(m.value for m in fabric.measurements if m.metric == "fabric.gpu_nic_pix")
