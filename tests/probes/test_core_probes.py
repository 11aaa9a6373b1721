"""system_info and scheduler_detect parsers on outputs recorded from real hosts (tests/data/...)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clustermax.models import ProbeStatus
from clustermax.probes.base import ProbeInput, split_sections
from clustermax.probes.scheduler_detect import from_sections as parse_detect
from clustermax.probes.scheduler_detect import kubectl_server_version
from clustermax.probes.specs import load_probe_spec
from clustermax.probes.system_info import from_sections as parse_sysinfo
from clustermax.resources import probes_dir

DATA = Path(__file__).resolve().parents[1] / "data"


def _inp(probe: str, stdout: str, host: str = "h") -> ProbeInput:
    spec = load_probe_spec(probes_dir() / probe)
    return ProbeInput(spec=spec, host=host, commands={}, sections=split_sections(stdout), params={})


def _values(out) -> dict[str, object]:  # type: ignore[no-untyped-def]
    return {m.metric: m.value for m in out.measurements}


def _declared(probe: str) -> list[str]:
    return [m.name for m in load_probe_spec(probes_dir() / probe).metrics]


def test_system_info_local_machine() -> None:
    out = parse_sysinfo(_inp("system_info", (DATA / "system_info/dev-debian12-local.txt").read_text()))
    v = _values(out)
    assert list(v) == _declared("system_info")
    assert v["system.hostname"] == "vm"
    assert v["system.os"] == "Debian GNU/Linux 12 (bookworm)"
    assert v["system.kernel"] == "6.18.44-fc-v657"
    assert v["system.arch"] == "x86_64"
    assert v["system.cpu_model"] == "AMD EPYC"
    assert v["system.cpu_count"] == 2
    assert v["system.memory_total"] == round(24684092 * 1024 / 2**30, 2)
    assert v["system.uptime"] == 1029.51
    assert out.status == ProbeStatus.OK
    assert {m.unit.value for m in out.measurements} >= {"text", "version", "count", "GiB", "s"}
    assert all(m.host == "h" for m in out.measurements)


@pytest.mark.parametrize("host", ["login1", "node1"])
def test_system_info_test_cluster_hosts(host: str) -> None:
    out = parse_sysinfo(_inp("system_info", (DATA / f"system_info/testcluster-{host}.txt").read_text(), host))
    assert _values(out)["system.hostname"] == host
    assert out.facts["hostname"] == host


def test_system_info_cut_output_keeps_what_arrived() -> None:
    text = (DATA / "system_info/dev-debian12-local.txt").read_text()
    cut = text[: text.index("@@CMX:BEGIN lscpu@@") + 200]  # timed out inside lscpu
    v = _values(parse_sysinfo(_inp("system_info", cut)))
    assert v["system.hostname"] == "vm" and v["system.cpu_count"] == 2
    assert v["system.cpu_model"] is None  # the lscpu section never ended: not measured, not guessed
    assert v["system.memory_total"] is None and v["system.uptime"] is None


def test_system_info_lscpu_missing_falls_back_to_cpuinfo() -> None:
    text = (DATA / "system_info/dev-debian12-local.txt").read_text()
    sections = split_sections(text)
    body = (
        "\n".join(
            f"@@CMX:BEGIN {s.name}@@\n{s.text}\n@@CMX:END {s.name} rc={s.rc}@@"
            for s in sections.values()
            if s.name != "lscpu"
        )
        + "\n@@CMX:BEGIN lscpu@@\n\n@@CMX:END lscpu rc=127 missing=lscpu@@\n"
    )
    assert _values(parse_sysinfo(_inp("system_info", body)))["system.cpu_model"] == "AMD EPYC"


def test_system_info_nothing_is_an_error_not_zero() -> None:
    out = parse_sysinfo(_inp("system_info", ""))
    assert out.status == ProbeStatus.ERROR
    assert all(m.value is None for m in out.measurements)


def test_detect_test_cluster_login_is_slurm() -> None:
    out = parse_detect(
        _inp("scheduler_detect", (DATA / "scheduler_detect/testcluster-login1.txt").read_text())
    )
    v = _values(out)
    assert list(v) == _declared("scheduler_detect")
    assert v["scheduler.slurm_present"] is True
    assert v["scheduler.slurm_version"] == "22.05.8"
    assert v["scheduler.kubectl_present"] is True
    assert v["scheduler.kubectl_configured"] is False  # no current-context
    assert v["scheduler.nvidia_smi_present"] is False
    assert v["scheduler.platform"] == "slurm"
    assert out.facts == {
        "platform": "slurm",
        "slurm": True,
        "kubernetes": False,
        "nvidia_smi": False,
        "slurm_version": "22.05.8",
    }


def test_detect_unconfigured_slurm_client_is_bare() -> None:
    # this machine: sinfo is installed but has no slurm.conf ("Could not establish a configuration source")
    out = parse_detect(
        _inp("scheduler_detect", (DATA / "scheduler_detect/dev-debian12-local.txt").read_text())
    )
    v = _values(out)
    assert v["scheduler.slurm_present"] is True and v["scheduler.slurm_version"] is None
    assert v["scheduler.platform"] == "bare" and out.facts["slurm"] is False


def test_detect_kubectl_with_a_context_that_answers() -> None:
    base = (DATA / "scheduler_detect/dev-debian12-local.txt").read_text()
    server = (DATA / "kubectl-version/short-k3s-skew-rancher-shell-21.txt").read_text()
    # derived: the same run, but kubectl has a context and its `kubectl version` reached a real k3s server
    text = base.replace(
        "@@CMX:BEGIN kubectl-context@@\n\n@@CMX:END kubectl-context rc=1@@",
        f"@@CMX:BEGIN kubectl-context@@\ndefault\n@@CMX:END kubectl-context rc=0@@\n"
        f"@@CMX:BEGIN kubectl-server@@\n{server}\n@@CMX:END kubectl-server rc=0@@",
    )
    out = parse_detect(_inp("scheduler_detect", text))
    assert _values(out)["scheduler.kubectl_configured"] is True
    assert out.facts["platform"] == "kubernetes"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("short-k3s-skew-rancher-shell-21.txt", "v1.17.17+k3s1"),
        ("dev-1.32.4-refused.txt", None),
        ("dev-1.32.4-client.txt", None),
    ],
)
def test_kubectl_server_version(name: str, expected: str | None) -> None:
    assert kubectl_server_version((DATA / "kubectl-version" / name).read_text()) == expected


def test_detect_without_output_is_an_error() -> None:
    out = parse_detect(_inp("scheduler_detect", ""))
    assert out.status == ProbeStatus.ERROR and out.facts["platform"] == "unknown"


@settings(max_examples=200, deadline=None)
@given(st.text(), st.integers(min_value=0, max_value=4000))
def test_parsers_never_crash(noise: str, cut: int) -> None:
    for probe, parser, name in (
        ("system_info", parse_sysinfo, "system_info/testcluster-node1.txt"),
        ("scheduler_detect", parse_detect, "scheduler_detect/testcluster-login1.txt"),
    ):
        real = (DATA / name).read_text()
        for text in (noise, real[:cut] + noise, noise + real[cut:]):
            out = parser(_inp(probe, text))
            assert [m.metric for m in out.measurements] == _declared(probe)
