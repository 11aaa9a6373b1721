"""gpu_health probe: the parser on recorded real outputs, and the real script over SSH on the test cluster
with nvidia-smi / dcgmi / dmesg stand-ins that print recorded real outputs per node."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone

import pytest

from clustermax.engine.runner import ProbeContext, run_probe
from clustermax.models import ProbeStatus, SubStatus
from clustermax.parsers.kernel_log import parse_xid
from clustermax.parsers.nvidia_smi import parse_nvidia_smi
from clustermax.probes.base import ProbeInput, split_sections
from clustermax.probes.gpu_health import (
    HostClock,
    cluster_findings,
    cluster_measurements,
    event_age_s,
    from_sections,
)
from tests.infra.cluster import TestCluster
from tests.probes.standins import (
    DATA,
    Standins,
    installed_standins,
    section,
    spec,
    ssh_transport,
    value,
    values,
)
from tests.probes.standins import value as metric

SPEC = spec("gpu_health")
H100_Q = "captures/h100-fc-2026-11-26/nvidia-smi-q.txt"
A100X4_REMAP = "nvidia-smi/a100x4-555-q-remap-pending.txt"
L4_X8 = "nvidia-smi/l4-550-q-pcie-x8.txt"
GH200_ECC = "nvidia-smi/gh200-550-q-ecc-aggregate-uncorrectable.txt"
XID_AKASH = "xid/dmesg-T-akash-43-31-94.log"  # dmesg -T: Xid 43, 43, 31, 94 in Jul/Aug 2024
FALLEN = "xid/dmesg-fallen-off-bus-no-xid.log"  # plain dmesg: [1843.3] ... fallen off the bus
DCGM_FAIL_GPU0 = "dcgmi-diag/dcgm-r2-fail-gpu0-excerpt.txt"
DCGM_B200_PCIE = "dcgmi-diag/dcgm441-b200x8-r2-pcie-fail.txt"


def run_parser(stdout: str, **params: object):  # type: ignore[no-untyped-def]
    inp = ProbeInput(spec=SPEC, host="n1", commands={}, sections=split_sections(stdout), params=dict(params))
    return from_sections(inp)


def clock(now: datetime) -> str:
    return (
        section("now", str(int(now.timestamp())))
        + section("uptime", "5000.00 9000.00")
        + section("tz", "+0000")
    )


AUG_2024 = datetime(2024, 8, 10, tzinfo=timezone.utc)


# ------------------------------------------------------------------------------------------------ parser


def test_healthy_h100_single_gpu() -> None:
    out = run_parser(clock(AUG_2024) + section("nvidia-smi-q", (DATA / H100_Q).read_text()), expected_gpus=1)
    assert out.status is ProbeStatus.OK
    assert metric(out, "gpu.count") == 1 and metric(out, "gpu.count_ok") is True
    assert metric(out, "gpu.model") == "NVIDIA H100 80GB HBM3"
    assert metric(out, "gpu.driver_version") == "580.159.04" and metric(out, "gpu.cuda_version") == "13.0"
    assert metric(out, "gpu.memory_total") == 81559
    assert metric(out, "gpu.persistence_mode") is True
    assert metric(out, "gpu.power_limit") == 700.0
    assert metric(out, "gpu.ecc_uncorrected") == 0 and metric(out, "gpu.remapped_rows_pending") == 0
    assert metric(out, "gpu.pcie_degraded") == 0 and metric(out, "gpu.throttled") == 0
    # no kernel log section: the log was not collected, so its metrics are left out (never 0) and
    # nothing says it was unreadable
    assert not values(out, "gpu.xid_events") and not values(out, "gpu.fallen_off_bus")
    assert out.findings == []
    assert metric(out, "gpu.healthy") is True


def test_remapped_rows_pending_and_missing_gpus_from_gres() -> None:
    gres = "NodeName=node2 Arch=x86_64 CoresPerSocket=1\n   Gres=gpu:h100:8(S:0)\n   State=IDLE"
    out = run_parser(
        section("nvidia-smi-q", (DATA / A100X4_REMAP).read_text()) + section("scontrol-node", gres)
    )
    assert out.status is ProbeStatus.FAILED
    assert metric(out, "gpu.count") == 4 and metric(out, "gpu.expected_count") == 8
    assert metric(out, "gpu.count_ok") is False
    assert metric(out, "gpu.remapped_rows_pending") == 1 and metric(out, "gpu.remapped_rows_failed") == 0
    codes = {f.code: f for f in out.findings}
    assert "00000000:9E:00.0" in codes["remapped-rows-pending"].message
    assert codes["remapped-rows-pending"].remediation == SPEC.remediation["remapped-rows-pending"]
    assert codes["gpu-missing"].host == "n1"
    assert metric(out, "gpu.healthy") is False
    assert "4 of 8 expected GPUs" in out.message


def test_pcie_x8_is_degraded_but_idle_generation_is_not() -> None:
    # the L4 runs x8 of x16 (a fault) and Gen1 of Gen4 at idle (power saving, not a fault)
    out = run_parser(section("nvidia-smi-q", (DATA / L4_X8).read_text()), expected_gpus=1)
    assert metric(out, "gpu.pcie_degraded") == 1
    finding = next(f for f in out.findings if f.code == "pcie-degraded")
    assert "x8 of x16" in finding.message and "Gen" not in finding.message
    assert out.status is ProbeStatus.FAILED


def test_lifetime_uncorrectable_ecc_is_a_warning_not_a_failure() -> None:
    out = run_parser(section("nvidia-smi-q", (DATA / GH200_ECC).read_text()), expected_gpus=1)
    assert metric(out, "gpu.ecc_uncorrected") == 0
    assert metric(out, "gpu.ecc_uncorrected_aggregate") == 1
    assert {f.code for f in out.findings} >= {"ecc-aggregate"}
    assert metric(out, "gpu.healthy") is True


def test_xid_window_and_classes() -> None:
    log = (DATA / XID_AKASH).read_text()
    smi = section("nvidia-smi-q", (DATA / H100_Q).read_text())
    recent = run_parser(clock(AUG_2024) + smi + section("dmesg", log), expected_gpus=1, xid_window_days=30)
    assert metric(recent, "gpu.xid_events") == 4  # 43, 43 (Jul 31), 31 (Aug 5), 94 (Aug 9)
    assert metric(recent, "gpu.xid_critical") == 0
    assert sorted(values_of(recent, "gpu.xid_event")) == [31, 43, 43, 94]
    assert any(f.code == "xid-events" for f in recent.findings)
    assert metric(recent, "gpu.healthy") is True
    narrow = run_parser(clock(AUG_2024) + smi + section("dmesg", log), expected_gpus=1, xid_window_days=3)
    assert metric(narrow, "gpu.xid_events") == 1  # only the Xid 94 of Aug 9 is younger than 3 days
    later = run_parser(
        clock(datetime(2026, 1, 1, tzinfo=timezone.utc)) + smi + section("dmesg", log), expected_gpus=1
    )
    assert metric(later, "gpu.xid_events") == 0


def values_of(out, name: str) -> list[object]:  # type: ignore[no-untyped-def]
    return [m.value for m in out.measurements if m.metric == name]


def test_fallen_off_the_bus_multiline_message() -> None:
    # the shared kernel-log parser reads the multi-line message as one Xid 79 (fallen off the bus)
    events = parse_xid((DATA / FALLEN).read_text()).events
    assert [e.xid for e in events] == [79]
    host_clock = HostClock(now=None, uptime=2000.0, tz=timezone.utc)
    assert event_age_s(events[0], host_clock) == pytest.approx(2000.0 - 1843.308145)
    out = run_parser(
        clock(AUG_2024)
        + section("nvidia-smi-q", (DATA / H100_Q).read_text())
        + section("dmesg", (DATA / FALLEN).read_text()),
        expected_gpus=1,
    )
    assert metric(out, "gpu.fallen_off_bus") is True
    assert any(f.code == "fallen-off-bus" and f.severity.value == "critical" for f in out.findings)
    assert out.status is ProbeStatus.FAILED


def test_journal_permission_hint_is_not_an_empty_log() -> None:
    smi = section("nvidia-smi-q", (DATA / H100_Q).read_text())
    hint = "Hint: You are currently not seeing messages from other users and the system."
    out = run_parser(
        clock(AUG_2024) + smi + section("journalctl-k", "") + section("journalctl-k!stderr", hint),
        expected_gpus=1,
    )
    assert metric(out, "gpu.xid_events") is None


def test_dcgm_failure_on_one_gpu() -> None:
    smi = section("nvidia-smi-q", (DATA / H100_Q).read_text())
    out = run_parser(
        smi + section("dcgmi-level", "2") + section("dcgmi-diag", (DATA / DCGM_FAIL_GPU0).read_text()),
        expected_gpus=1,
    )
    assert metric(out, "gpu.dcgm_diag", level="2") == "fail"
    assert metric(out, "gpu.dcgm_failed_tests", level="2") == 1
    assert metric(out, "gpu.dcgm_test", level="2", test="GPU Memory") == "fail"
    finding = next(f for f in out.findings if f.code == "dcgm-failed")
    assert "GPU Memory (GPU 0)" in finding.message
    # without the dcgmi-level section (and no dcgm_level parameter) the run level is unknown
    b200 = run_parser(smi + section("dcgmi-diag", (DATA / DCGM_B200_PCIE).read_text()), expected_gpus=1)
    assert metric(b200, "gpu.dcgm_test", level="unknown", test="pcie") == "fail"
    assert metric(b200, "gpu.dcgm_test", level="unknown", test="memory") == "pass"


def test_dcgm_missing_is_not_measured() -> None:
    smi = section("nvidia-smi-q", (DATA / H100_Q).read_text())
    out = run_parser(
        smi + section("dcgmi-level", "1") + section("dcgmi-diag", "", 127, "dcgmi"), expected_gpus=1
    )
    assert metric(out, "gpu.dcgm_diag", level="1") is None


def test_no_nvidia_smi_is_skipped_not_installed() -> None:
    out = run_parser(section("nvidia-smi-q", "", 127, "nvidia-smi"))
    assert out.status is ProbeStatus.SKIPPED and out.substatus is SubStatus.NOT_INSTALLED


@pytest.mark.parametrize("cut", [0.1, 0.35, 0.5, 0.9])
def test_truncated_report_never_crashes(cut: float) -> None:
    text = (DATA / A100X4_REMAP).read_text()
    out = run_parser(section("nvidia-smi-q", text[: int(len(text) * cut)]), expected_gpus=4)
    assert metric(out, "gpu.count") >= 1


def test_smi_q_fields_the_probe_reads() -> None:
    # the probe reads -q through the shared nvidia-smi parser (no reader of its own)
    report = parse_nvidia_smi((DATA / A100X4_REMAP).read_text())
    assert report.attached_gpus == 4 and len(report.gpus) == 4
    g = report.gpus[1]
    assert g.remapped_rows_pending is True
    assert g.pcie_width_max == 16


def test_recorded_probe_output_of_a_bare_h100() -> None:
    # real stdout of the probe script on a 1 x H100 VM (no DCGM, kernel log via dmesg -T)
    out = run_parser((DATA / "probe_gpu_health" / "h100-fc-bare-local.stdout").read_text(), expected_gpus=1)
    assert out.status is ProbeStatus.OK, out.message
    assert metric(out, "gpu.healthy") is True
    assert metric(out, "gpu.xid_events") == 0  # NVRM lines, but no Xid
    assert metric(out, "gpu.nvlink_inactive") == 0  # nvlink -s lists no link on this VM
    assert metric(out, "gpu.dcgm_diag", level="1") is None  # dcgmi not installed
    assert metric(out, "gpu.model") == "NVIDIA H100 80GB HBM3"


# ------------------------------------------------------------------------------------------ cluster scope


def _result(host: str, model: str, driver: str, cuda: str):  # type: ignore[no-untyped-def]
    from clustermax.models import Measurement, ProbeResult, Unit

    ms = [
        Measurement(metric=n, value=v, unit=u, host=host)
        for n, v, u in (
            ("gpu.model", model, Unit.TEXT),
            ("gpu.driver_version", driver, Unit.VERSION),
            ("gpu.cuda_version", cuda, Unit.VERSION),
        )
    ]
    return ProbeResult(
        probe_id="gpu_health",
        host=host,
        status=ProbeStatus.OK,
        started_at=AUG_2024,
        duration_s=1.0,
        measurements=ms,
    )


def test_versions_consistent_is_cluster_scope() -> None:
    same = [_result(f"n{i}", "NVIDIA H100 80GB HBM3", "580.159.04", "13.0") for i in range(3)]
    [m] = cluster_measurements(same)
    assert m.metric == "gpu.versions_consistent" and m.value is True and m.host is None
    assert cluster_findings(same) == []
    mixed = [*same, _result("n9", "NVIDIA H100 80GB HBM3", "560.35.03", "12.6")]
    [m2] = cluster_measurements(mixed)
    assert m2.value is False and m2.labels["variants"] == "2"
    [finding] = cluster_findings(mixed)
    assert finding.code == "versions-mixed" and "n9" in finding.message
    assert cluster_measurements([])[0].value is None


# ------------------------------------------------------------------------------------ real launch path


@pytest.fixture()
def standins(testcluster: TestCluster) -> Iterator[Standins]:
    with installed_standins(testcluster) as s:
        yield s


@pytest.mark.sshd
@pytest.mark.slurm
def test_gpu_health_over_ssh_on_every_node(testcluster: TestCluster, standins: Standins) -> None:
    standins.scenario(
        "node1",
        {"nvidia-smi": [{"match": ["-q"], "file": H100_Q}], "dmesg": [{"match": ["-T"], "file": XID_AKASH}]},
    )
    standins.scenario(
        "node2",
        {
            "nvidia-smi": [{"match": ["-q"], "file": A100X4_REMAP}],
            "dcgmi": [{"match": ["diag"], "file": DCGM_FAIL_GPU0}],
            "dmesg": [{"match": ["-T"], "file": XID_AKASH}],
        },
    )
    standins.scenario(
        "node3",
        {"nvidia-smi": [{"match": ["-q"], "file": L4_X8}], "dmesg": [{"match": ["-T"], "file": FALLEN}]},
    )
    standins.scenario(
        "node4",
        {
            "nvidia-smi": [{"match": ["-q"], "file": GH200_ECC}],
            "dmesg": [{"match": ["-T"], "file": XID_AKASH}],
        },
    )
    params = {
        "node1": {"expected_gpus": 1},
        "node2": {},
        "node3": {"expected_gpus": 1, "xid_window_days": 36500},
        "node4": {"expected_gpus": 1},
    }
    results = {}
    for host in testcluster.nodes:
        ctx = ProbeContext(role="compute", platform="slurm")
        with ssh_transport(testcluster, host) as transport:
            commands, result = run_probe(
                transport, SPEC, host.name, {**params[host.name], "dcgm_level": 1}, ctx
            )
        assert commands[0].exit_code == 0, commands[0].stderr
        results[host.name] = (commands[0], result)

    cmd1, r1 = results["node1"]
    assert r1.status is ProbeStatus.OK, r1.message
    assert value(r1, "gpu.healthy") is True
    assert value(r1, "gpu.xid_events") == 0  # the 2024 events are outside the 30-day window
    assert value(r1, "gpu.nvlink_inactive") is None  # no recorded nvlink -s output: not measured
    assert value(r1, "gpu.dcgm_diag", level="1") is None  # no recorded dcgmi output on node1
    assert "@@CMX:BEGIN scontrol-node@@" in cmd1.stdout  # Slurm's GRES was read on the node itself

    _, r2 = results["node2"]
    assert r2.status is ProbeStatus.FAILED
    assert value(r2, "gpu.expected_count") == 8  # from the node's GRES gpu:h100:8 (real Slurm)
    assert value(r2, "gpu.count_ok") is False
    assert value(r2, "gpu.remapped_rows_pending") == 1
    assert value(r2, "gpu.dcgm_diag", level="1") == "fail"
    codes2 = {f.code for f in r2.findings}
    assert {"gpu-missing", "remapped-rows-pending", "dcgm-failed"} <= codes2
    assert all(f.host == "node2" for f in r2.findings)

    _, r3 = results["node3"]
    assert value(r3, "gpu.pcie_degraded") == 1
    assert value(r3, "gpu.fallen_off_bus") is True
    assert {"pcie-degraded", "fallen-off-bus"} <= {f.code for f in r3.findings}
    assert r3.status is ProbeStatus.FAILED

    _, r4 = results["node4"]
    assert value(r4, "gpu.ecc_uncorrected_aggregate") == 1
    assert r4.status is ProbeStatus.OK

    [consistent] = cluster_measurements([r for _, r in results.values()])
    assert consistent.value is False  # H100 / A100 / L4 / GH200 on one cluster

    calls = standins.calls()
    hosts = {c["host"] for c in calls if c["tool"] == "nvidia-smi" and c["args"] == ["-q"]}
    assert hosts == {"node1", "node2", "node3", "node4"}
    assert {tuple(c["args"]) for c in calls if c["tool"] == "dcgmi"} == {("diag", "-r", "1")}
