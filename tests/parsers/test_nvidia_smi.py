"""nvidia-smi parser (table, -q, CSV) on real outputs in tests/data/nvidia-smi."""

from __future__ import annotations

from pathlib import Path

import pytest

from clustermax.parsers.base import ParseError
from clustermax.parsers.nvidia_smi import detect_nvidia_smi, parse_nvidia_smi

DATA = Path(__file__).resolve().parents[1] / "data" / "nvidia-smi"


def load(name: str) -> str:
    return (DATA / name).read_text(encoding="utf-8")


def test_every_fixture_has_provenance() -> None:
    for f in DATA.glob("*.txt"):
        assert (DATA / f"{f.name}.source").is_file(), f.name


def test_wide_table_h100() -> None:
    out = parse_nvidia_smi(load("h100x8-565-table.txt"))
    assert (out.format, out.driver_version, out.cuda_version, out.gpu_count) == (
        "table",
        "565.57.01",
        "12.7",
        8,
    )
    g = out.gpus[7]
    assert (g.index, g.name, g.bus_id, g.persistence_mode, g.pstate) == (
        7,
        "NVIDIA H100 80GB HBM3",
        "00000000:DB:00.0",
        True,
        "P0",
    )
    assert (g.temperature_c, g.power_draw_w, g.power_limit_w) == (29.0, 75.0, 700.0)
    assert (g.memory_used_mib, g.memory_total_mib, g.utilization_pct, g.ecc_uncorrected_volatile) == (
        1.0,
        81559.0,
        0.0,
        0,
    )
    assert g.fan_pct is None  # N/A
    assert out.processes == []
    assert out.warnings == []
    assert g.pcie_gen_current is None  # the table does not print it


def test_persistence_off() -> None:
    out = parse_nvidia_smi(load("h100x8-560-persistence-off.txt"))
    assert [g.persistence_mode for g in out.gpus] == [False] * 8


def test_narrow_old_table_without_ecc() -> None:
    out = parse_nvidia_smi(load("titanrtx4-520-narrow-table.txt"))
    assert out.gpu_count == 4 and out.driver_version == "520.61.05"
    g = out.gpus[3]
    assert (g.name, g.bus_id, g.fan_pct, g.temperature_c, g.power_draw_w, g.ecc_uncorrected_volatile) == (
        "NVIDIA TITAN RTX",
        "00000000:AF:00.0",
        41.0,
        25.0,
        3.0,
        None,
    )


def test_truncated_name_and_process() -> None:
    out = parse_nvidia_smi(load("v100-460-process.txt"))
    g = out.gpus[0]
    assert g.name == "Tesla V100-SXM2..." and g.name_truncated
    assert any("truncated the product name" in w for w in out.warnings)
    assert out.processes is not None and len(out.processes) == 1
    p = out.processes[0]
    assert (p.gpu, p.pid, p.type, p.name, p.memory_mib) == (
        0,
        3721,
        "C",
        "...nvs/codeparrot/bin/python",
        2629.0,
    )


def test_pci_domain_above_zero_and_not_supported_memory() -> None:
    out = parse_nvidia_smi(load("gb10-580-domain-000F-table.txt"))
    g = out.gpus[0]
    assert g.bus_id == "0000000F:01:00.0"
    assert (g.power_draw_w, g.power_limit_w) == (105.0, None)
    assert (g.memory_used_mib, g.memory_total_mib, g.utilization_pct) == (None, None, 96.0)
    assert out.processes is not None and out.processes[0].pid == 452072


def test_two_tables_reports_the_first() -> None:
    out = parse_nvidia_smi(load("two-tables-515-and-530.txt"))
    assert out.gpu_count == 1 and out.gpus[0].name == "NVIDIA TITAN V"
    assert "2 nvidia-smi tables in one input: only the first is reported" in out.warnings


def test_query_new_driver() -> None:
    out = parse_nvidia_smi(load("a10-550-q-swpowercap.txt"))
    assert (out.format, out.driver_version, out.cuda_version, out.attached_gpus) == (
        "query",
        "550.90.12",
        "12.4",
        1,
    )
    g = out.gpus[0]
    assert g.clocks_event_reasons_active == ["SW Power Cap"]
    assert (g.pcie_gen_current, g.pcie_gen_max, g.pcie_width_current, g.pcie_width_max) == (1, 4, 16, 16)
    assert (g.remapped_rows_pending, g.remapped_rows_failure, g.retired_pages_pending) == (False, False, None)
    assert (g.serial, g.uuid, g.vbios) == (
        "1325221009692",
        "GPU-14705cc6-2e5b-ae28-e00a-0f87622e4299",
        "94.02.5C.00.04",
    )
    assert (g.power_draw_w, g.power_limit_w, g.temperature_c) == (15.65, 150.0, 33.0)
    assert g.ecc_uncorrected_volatile == 0


def test_query_old_driver_throttle_reasons_and_elision() -> None:
    out = parse_nvidia_smi(load("titanrtx4-520-q-elided.txt"))
    g = out.gpus[0]
    assert g.clocks_event_reasons_active == ["Idle"]  # "Clocks Throttle Reasons" on old drivers
    assert g.power_limit_w == 280.0  # "Power Readings / Power Limit"
    assert g.remapped_rows_pending is None  # "Remapped Rows : N/A"
    assert g.ecc_uncorrected_volatile is None  # all N/A
    assert out.attached_gpus == 4 and out.gpu_count == 2
    assert "'Attached GPUs' says 4 but 2 GPU section(s) were found" in out.warnings
    assert any("author-elided" in w for w in out.warnings)


def test_query_remap_pending_fixture() -> None:
    out = parse_nvidia_smi(load("a100x4-555-q-remap-pending.txt"))
    assert out.gpu_count == 4
    assert any(g.remapped_rows_pending for g in out.gpus)


def test_query_performance_section_only() -> None:
    out = parse_nvidia_smi(load("gb10-580-q-performance.txt"))
    g = out.gpus[0]
    assert g.bus_id == "0000000F:01:00.0" and g.pstate == "P0"
    assert g.clocks_event_reasons_active == []  # section present, nothing active
    assert g.name is None


def test_csv_with_header_and_units() -> None:
    out = parse_nvidia_smi(load("rtx5060ti-580-csv-header.txt"))
    assert out.format == "csv" and out.driver_version == "580.178.04"
    g = out.gpus[0]
    assert (g.index, g.name, g.memory_total_mib, g.memory_used_mib, g.utilization_pct, g.pstate) == (
        0,
        "NVIDIA GeForce RTX 5060 Ti",
        16311.0,
        1.0,
        0.0,
        "P8",
    )


def test_csv_noheader_columns_from_the_command_line() -> None:
    out = parse_nvidia_smi(load("a800-noheader-units.txt"))
    assert out.gpu_count == 2
    with_units, without = out.gpus
    assert (with_units.utilization_pct, with_units.temperature_c, with_units.memory_total_mib) == (
        9.0,
        33.0,
        81920.0,
    )
    assert (without.utilization_pct, without.memory_used_mib) == (0.0, 53776.0)


def test_csv_noheader_without_command_is_refused_not_guessed() -> None:
    # without a header or the --query-gpu line the columns are unknowable: say so, do not guess
    with pytest.raises(ParseError, match="--query-gpu"):
        parse_nvidia_smi("9 %, 33, 81920 MiB, 55760 MiB\n")
    header_only_fields = parse_nvidia_smi(
        "index, name, memory.total [MiB]\n0, NVIDIA H100 80GB HBM3, 81559 MiB\n"
    )
    assert header_only_fields.gpus[0].memory_total_mib == 81559.0


def test_csv_clock_reason_bitmask() -> None:
    out = parse_nvidia_smi("index, clocks_event_reasons.active\n0, 0x0000000000000005\n")
    assert out.gpus[0].clocks_event_reasons_active == ["Idle", "SW Power Cap"]


@pytest.mark.parametrize("name", [p.name for p in DATA.glob("*.txt")])
def test_detect(name: str) -> None:
    assert detect_nvidia_smi(load(name)) >= 0.7


@pytest.mark.parametrize("text", ["", "no gpu here", "+-----+\n| x |\n"])
def test_not_nvidia_smi(text: str) -> None:
    with pytest.raises(ParseError, match="expected nvidia-smi output"):
        parse_nvidia_smi(text)


@pytest.mark.parametrize(
    ("name", "gpus", "driver", "cuda"),
    [
        ("b300x7-610-table-kmd-version-header.txt", 7, "610.57.04", "13.3"),
        ("rtx4060-610-table-kmd-header-after-prompt-xorg-process.txt", 1, "610.57.04", "13.3"),
    ],
)
def test_driver_610_header(name: str, gpus: int, driver: str, cuda: str) -> None:
    """R610 prints 'KMD Version:' and 'CUDA UMD Version:' where older drivers print Driver/CUDA Version."""
    out = parse_nvidia_smi(load(name))
    assert (out.format, out.gpu_count, out.driver_version, out.cuda_version) == ("table", gpus, driver, cuda)
    assert detect_nvidia_smi(load(name)) == 0.95


def test_windows_table_pasted_with_a_leading_space() -> None:
    out = parse_nvidia_smi(load("win-rtx4060-560-table-leading-space-wddm-na-process-memory.txt"))
    (gpu,) = out.gpus
    assert (gpu.name, gpu.persistence_mode, gpu.memory_total_mib) == ("NVIDIA GeForce RTX 4060", None, 8188.0)
    assert out.processes is not None and len(out.processes) == 28
    assert all(p.memory_mib is None and p.type == "C+G" for p in out.processes)
    assert out.warnings == ["removed a common indentation of 1 character(s) from every line"]


def test_health_line_after_the_table_is_kept() -> None:
    out = parse_nvidia_smi(load("p100-470-table-inforom-warning-exitcode.txt"))
    assert "nvidia-smi said: WARNING: infoROM is corrupted at gpu 0000:0B:00.0" in out.warnings
    assert out.processes == []  # "No running processes found": an empty list the table states


def test_list_format() -> None:
    out = parse_nvidia_smi(load("h100-L-mig-list.txt"))
    assert (out.format, out.gpu_count) == ("list", 1)
    assert out.gpus[0].uuid == "GPU-b4895dbf-9350-2524-a89b-98161ddd9fe4"
    assert out.warnings[0] == "7 MIG device line(s) listed (MIG devices are not modelled)"


def test_query_line_in_prose_or_history_is_no_csv() -> None:
    history = "nvidia-smi --query-gpu=index,name,driver_version --format=csv\nsinfo -N\nls -la, and more\n"
    assert detect_nvidia_smi(history) == 0.0
    with pytest.raises(ParseError):
        parse_nvidia_smi(history)
    sidecar = (DATA / "b300x7-610-csv-driver-name-computecap.txt.source").read_text()
    assert detect_nvidia_smi(sidecar) == 0.0


def test_csv_behind_host_prefixes() -> None:
    out = parse_nvidia_smi(load("pdsh-2.34-exec-2hosts-a800x8-csv.txt"))
    assert out.gpu_count == 16  # read as one output: the warning says so, an import splits it by host
    assert "lines grouped by host and read as one output" in out.warnings[0]
