"""One reader per tool format, one mapping per metric: the gpu_health / fabric probes and `clustermax import`
give the same gpu.* / fabric.* values for the same text.

* The lead's raw captures of a 1 x H100 machine (table, -q, query CSV, topo -m with ANSI escapes, dmesg)
  imported with the real `clustermax import` command agree with the probe's recorded run on that machine.
* Every real nvidia-smi -q, kernel-log, dcgmi diag and ibstat fixture, wrapped in probe sections, gives the
  probe exactly the measurements and finding codes the import mappers give for the same file.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

from clustermax.bundle.from_files import import_files
from clustermax.models import Bundle, Measurement
from clustermax.parsers.infiniband import parse_ibstat
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


# --------------------------------------------------------------- same text, same measurements


def imported_result(path: Path, kind: str) -> tuple[list[Measurement], list[str]]:
    [res] = [
        r
        for r in import_files([str(path)], provider=None, cluster="c", kind=kind).bundle.results
        if r.command_ids
    ]
    assert res.status.value == "ok", res.message
    return list(res.measurements), sorted(f.code for f in res.findings)


SMI_Q = [*sorted((DATA / "nvidia-smi").glob("*-q-*.txt")), CAPTURE / "nvidia-smi-q.txt"]
KERNEL_LOGS = sorted(p for p in (DATA / "xid").iterdir() if p.suffix != ".source")
DCGM = sorted(p for p in (DATA / "dcgmi-diag").iterdir() if p.suffix != ".source")
# the probe's ibstat section holds ibstat's output (ibstatus / ibv_devinfo listings are import-only)
IBSTAT = sorted(
    p
    for p in (DATA / "ibstat").iterdir()
    if p.suffix != ".source" and parse_ibstat(p.read_text()).format == "ibstat"
)
TOPO = sorted(p for p in (DATA / "nvidia-smi-topo").iterdir() if p.suffix != ".source")
PROBE_ONLY = ("gpu.nvlink_inactive", "gpu.healthy", "gpu.dcgm_diag", "gpu.dcgm_failed_tests")
PROBE_CODES = {"kernel-log-unreadable"}


def test_fixture_lists_are_not_empty() -> None:
    assert len(SMI_Q) >= 5 and KERNEL_LOGS and DCGM and len(IBSTAT) >= 4 and TOPO


@pytest.mark.parametrize("path", SMI_Q, ids=[p.name for p in SMI_Q])
def test_nvidia_smi_q_same_measurements(path: Path) -> None:
    ms, codes = imported_result(path, "nvidia-smi")
    out = probe(GPU, section("nvidia-smi-q", path.read_text()))
    got = [m for m in out.measurements if m.metric not in PROBE_ONLY and not m.metric.startswith("gpu.xid")]
    got = [m for m in got if m.metric not in ("gpu.fallen_off_bus",)]
    assert [comparable(m) for m in got] == [comparable(m) for m in ms]
    assert sorted(f.code for f in out.findings if f.code not in PROBE_CODES) == codes


# the host's clock for the kernel logs: after every fixture's events, with a window wide enough to count all
CLOCK = (
    section("now", str(int(datetime(2030, 1, 1, tzinfo=timezone.utc).timestamp())))
    + section("uptime", "99999999.00 1.00")
    + section("tz", "+0000")
)


@pytest.mark.parametrize("path", KERNEL_LOGS, ids=[p.name for p in KERNEL_LOGS])
def test_kernel_log_same_measurements(path: Path) -> None:
    ms, codes = imported_result(path, "xid")
    smi = section("nvidia-smi-q", (CAPTURE / "nvidia-smi-q.txt").read_text())
    out = probe(GPU, CLOCK + smi + section("dmesg", path.read_text()), xid_window_days=36500)
    got = [m for m in out.measurements if m.metric.startswith("gpu.xid") or m.metric == "gpu.fallen_off_bus"]
    # the probe knows each event's age (the import has no clock): every other field is the same
    assert [comparable(m, drop=("age_s",)) for m in got] == [comparable(m, drop=("age_s",)) for m in ms]
    assert all(m.labels["age_s"] == "" for m in ms if m.metric == "gpu.xid_event")
    xid_codes = {"xid-critical", "xid-events", "fallen-off-bus"}
    assert sorted(f.code for f in out.findings if f.code in xid_codes) == codes


@pytest.mark.parametrize("path", DCGM, ids=[p.name for p in DCGM])
def test_dcgmi_same_measurements(path: Path) -> None:
    ms, codes = imported_result(path, "dcgmi-diag")
    smi = section("nvidia-smi-q", (CAPTURE / "nvidia-smi-q.txt").read_text())
    out = probe(GPU, smi + section("dcgmi-diag", path.read_text()))
    got = [m for m in out.measurements if m.metric.startswith("gpu.dcgm")]
    # the probe knows the run level (here the default 1); the import labels it unknown
    assert [comparable(m, drop=("level",)) for m in got] == [comparable(m, drop=("level",)) for m in ms]
    assert {m.labels["level"] for m in got} == {"1"} and {m.labels["level"] for m in ms} == {"unknown"}
    assert sorted(f.code for f in out.findings if f.code == "dcgm-failed") == codes


@pytest.mark.parametrize("path", IBSTAT, ids=[p.name for p in IBSTAT])
def test_ibstat_same_measurements(path: Path) -> None:
    ms, codes = imported_result(path, "ibstat")
    out = probe(FABRIC, section("ib-devices", "mlx5_0") + section("ibstat", path.read_text()))
    got = [m for m in out.measurements if m.metric not in ("fabric.gpudirect_rdma", "fabric.gpu_nic_pix")]
    # the probe says where it read the ports (label source=ibstat on fabric.ports)
    assert [comparable(m, drop=("source",)) for m in got] == [comparable(m) for m in ms]
    assert sorted(f.code for f in out.findings if f.code != "no-gpudirect") == codes


@pytest.mark.parametrize("path", TOPO, ids=[p.name for p in TOPO])
def test_topo_same_measurement(path: Path) -> None:
    ms, _ = imported_result(path, "nvidia-smi-topo")
    out = probe(FABRIC, section("nvidia-smi-topo", path.read_text()))
    got = [m for m in out.measurements if m.metric == "fabric.gpu_nic_pix"]
    assert [comparable(m) for m in got] == [comparable(m) for m in ms]
