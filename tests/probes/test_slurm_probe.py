"""The slurm probe: its parser on recorded real outputs, and the probe itself against the real test Slurm."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clustermax.engine.runner import ProbeContext, run_probe
from clustermax.models import ProbeSpec, ProbeStatus, Severity, SubStatus
from clustermax.parsers.slurm.srun import mpi_plugins, pyxis_in_help
from clustermax.parsers.slurm.topology import topology_switches
from clustermax.parsers.slurm.version import slurm_version
from clustermax.probes.base import ProbeInput, ProbeOutput, Section, split_sections
from clustermax.probes.slurm import from_sections
from clustermax.probes.specs import load_probe_spec
from clustermax.resources import probes_dir
from tests.infra.cluster import TestCluster
from tests.probes.standins import ssh_transport

DATA = Path(__file__).resolve().parents[1] / "data"
PROBE_DATA = DATA / "probe_slurm"


@pytest.fixture(scope="module")
def spec() -> ProbeSpec:
    return load_probe_spec(probes_dir() / "slurm")


def read(name: str) -> str:
    return (PROBE_DATA / name).read_text(encoding="utf-8")


def run_parser(spec: ProbeSpec, sections: dict[str, Section], host: str = "login1") -> ProbeOutput:
    return from_sections(ProbeInput(spec=spec, host=host, commands={}, sections=sections, params={}))


def parse_file(spec: ProbeSpec, name: str) -> ProbeOutput:
    return run_parser(spec, split_sections(read(name)))


def values(out: ProbeOutput) -> dict[str, object]:
    """metric -> value for unlabelled metrics (labelled ones are checked separately)."""
    return {m.metric: m.value for m in out.measurements if not m.labels}


def codes(out: ProbeOutput) -> set[str]:
    return {f.code for f in out.findings}


def with_sections(base: str, **replace_sections: str | None) -> dict[str, Section]:
    """Sections of a recorded output with some replaced (name with '_' for '-'; None removes)."""
    sections = split_sections(read(base))
    for key, text in replace_sections.items():
        name = key.replace("_", "-").replace("-stderr", "!stderr")
        if text is None:
            sections.pop(name, None)
        else:
            sections[name] = Section(name, text, 0)
    return sections


# --------------------------------------------------------------------------- recorded probe outputs


def test_test_cluster_output(spec: ProbeSpec) -> None:
    out = parse_file(spec, "testcluster-22.05.8-4nodes.txt")
    assert out.status == ProbeStatus.OK
    v = values(out)
    assert v["slurm.version"] == "22.05.8"
    assert v["slurm.controller_up"] is True
    assert (v["slurm.partitions"], v["slurm.partitions_up"], v["slurm.default_partition_set"]) == (1, 1, True)
    assert (v["slurm.nodes_total"], v["slurm.nodes_unavailable"], v["slurm.nodes_usable"]) == (4, 0, 4)
    assert v["slurm.nodes_unavailable_fraction"] == 0.0
    assert (v["slurm.gpu_nodes"], v["slurm.gpus_total"]) == (4, 32)
    per_node = [(m.labels["node"], m.labels["gpu_type"], m.value) for m in out.measurements
                if m.metric == "slurm.gpus_per_node"]  # fmt: skip
    assert per_node == [(f"node{i}", "h100", 8) for i in range(1, 5)]
    assert v["slurm.accounting"] is False  # accounting_storage/none: "Slurm accounting storage is disabled"
    assert v["slurm.mpi_plugins"] == "pmix,none,cray_shasta,pmi2,pmix_v4"
    assert v["slurm.pmix"] is True
    assert (v["slurm.pyxis"], v["slurm.enroot"]) == (False, False)
    assert (v["slurm.topology_plugin"], v["slurm.topology_configured"]) == ("topology/none", False)
    assert v["slurm.healthcheck_configured"] is False
    assert (v["slurm.prolog_configured"], v["slurm.epilog_configured"]) == (False, False)
    assert (v["slurm.def_mem_per_gpu_set"], v["slurm.def_cpu_per_gpu_set"]) == (False, False)
    assert v["slurm.multi_node_srun"] is True
    assert v["slurm.node_ssh"] is False  # the test user has no key to the nodes
    assert codes(out) == {
        "slurm.no-accounting", "slurm.no-pyxis", "slurm.no-topology", "slurm.no-healthcheck",
        "slurm.no-defaults", "slurm.no-node-ssh",
    }  # fmt: skip
    assert all(f.remediation for f in out.findings)
    facts = out.facts
    assert facts["slurm_version"] == "22.05.8" and facts["default_partition"] == "gpu"
    nodes = facts["compute_nodes"]
    assert [n["name"] for n in nodes] == ["node1", "node2", "node3", "node4"]
    assert nodes[0] == {
        "name": "node1", "address": "10.99.1.11", "hostname": "node1", "gpus": 8, "gpu_type": "h100",
        "state": "IDLE", "reason": None, "partitions": ["gpu"], "usable": True,
    }  # fmt: skip
    assert facts["usable_nodes"] == ["node1", "node2", "node3", "node4"]
    assert facts["gpus_per_node"] == {"node1": 8, "node2": 8, "node3": 8, "node4": 8}
    assert facts["partitions"][0]["name"] == "gpu" and facts["partitions"][0]["default"] is True
    assert facts["multi_node_srun_nodes"] == ["node1", "node2"]
    assert out.message == "Slurm 22.05.8; 4 nodes (4 usable), 32 GPUs; partitions gpu*"


def test_configured_cluster_with_a_drained_node(spec: ProbeSpec) -> None:
    out = parse_file(spec, "dev-22.05.8-tree-drained.txt")
    assert out.status == ProbeStatus.OK
    v = values(out)
    assert (v["slurm.topology_plugin"], v["slurm.topology_configured"]) == ("topology/tree", True)
    assert out.facts["topology_switches"] == 3
    assert v["slurm.healthcheck_configured"] is True
    assert (v["slurm.prolog_configured"], v["slurm.epilog_configured"]) == (True, True)
    assert (v["slurm.def_mem_per_gpu_set"], v["slurm.def_cpu_per_gpu_set"]) == (True, True)
    assert (v["slurm.nodes_total"], v["slurm.nodes_unavailable"], v["slurm.nodes_usable"]) == (3, 1, 2)
    assert v["slurm.nodes_unavailable_fraction"] == pytest.approx(1 / 3, abs=1e-6)
    assert (v["slurm.partitions"], v["slurm.default_partition_set"]) == (2, True)
    assert v["slurm.multi_node_srun"] is True
    assert v["slurm.node_ssh"] is False  # "Connection refused": no sshd on the nodes' address
    assert out.facts["usable_nodes"] == ["gpu1", "gpu2"]
    gpu3 = out.facts["compute_nodes"][2]
    assert gpu3["usable"] is False and gpu3["state"] == "IDLE+DRAIN"
    assert gpu3["reason"].startswith("xid 79 seen, waiting for RMA")
    bad = next(f for f in out.findings if f.code == "slurm.nodes-unavailable")
    assert "gpu3 (IDLE+DRAIN: xid 79 seen" in bad.message and bad.severity == Severity.HIGH  # 1/3 >= 25 %
    assert "slurm.no-topology" not in codes(out) and "slurm.no-healthcheck" not in codes(out)
    assert "slurm.no-defaults" not in codes(out)
    parts = {p["name"]: p for p in out.facts["partitions"]}
    assert parts["gpu"]["def_mem_per_gpu"] == 1024 and parts["gpu"]["max_time"] == "2-00:00:00"
    assert parts["debug"]["max_time"] == "00:30:00" and parts["debug"]["default"] is False


def test_nodes_not_registered_yet_are_not_usable(spec: ProbeSpec) -> None:
    out = parse_file(spec, "dev-22.05.8-ctld-restarted.txt")
    v = values(out)
    assert (v["slurm.nodes_total"], v["slurm.nodes_usable"]) == (3, 0)
    assert out.facts["usable_nodes"] == []
    assert v["slurm.multi_node_srun"] is None  # not tried: no idle node, so not measured (never False)
    assert v["slurm.node_ssh"] is None
    assert "fewer than 2 idle or mixed nodes" in " ".join(out.facts["notes"])
    assert "slurm.no-multi-node" not in codes(out)


def test_controller_down_fails_the_probe(spec: ProbeSpec) -> None:
    out = parse_file(spec, "dev-22.05.8-controller-down.txt")
    assert out.status == ProbeStatus.FAILED
    v = values(out)
    assert v["slurm.controller_up"] is False
    assert v["slurm.version"] == "22.05.8"  # from sinfo --version, which needs no controller
    # the script skips scontrol show partition/node without a controller: not collected, so left out
    assert {"slurm.nodes_total", "slurm.partitions", "slurm.gpus_total"}.isdisjoint(v)
    # scontrol show config ran and failed: its metrics are not measured (null)
    assert v["slurm.topology_configured"] is None and v["slurm.healthcheck_configured"] is None
    assert "compute_nodes" not in out.facts
    down = next(f for f in out.findings if f.code == "slurm.controller-down")
    assert down.severity == Severity.CRITICAL and "Unable to contact slurm controller" in down.message
    assert down.remediation and "slurmctld" in down.remediation
    assert "Unable to contact slurm controller" in out.message


def test_slurm_missing_is_skipped_not_failed(spec: ProbeSpec) -> None:
    out = run_parser(
        spec, {"unavailable": Section("unavailable", "no Slurm client commands on PATH of x", 0)}
    )
    assert (out.status, out.substatus) == (ProbeStatus.SKIPPED, SubStatus.NOT_INSTALLED)
    assert "no Slurm client commands" in out.message


# ----------------------------------------------------------- real outputs of other Slurm versions


@pytest.mark.parametrize(
    ("name", "expected", "pmix"),
    [
        ("mpi-list-pmix_v5-user-guide.txt", ["none", "cray_shasta", "pmi2", "pmix", "pmix_v5"], True),
        ("mpi-list-old-format-hipergator.txt",
         ["pmix_v3", "pmi2", "none", "pmix_v1", "pmix", "pmix_v2", "cray_shasta"], True),
        ("mpi-list-old-format-no-pmix.txt", ["cray_shasta", "none", "pmi2"], False),
    ],
)  # fmt: skip
def test_mpi_list_formats(spec: ProbeSpec, name: str, expected: list[str], pmix: bool) -> None:
    text = read(name)
    assert mpi_plugins(text) == expected
    # through the probe parser; old releases print the list on stderr, prefixed 'srun: '
    if text.startswith("srun:"):
        sections = with_sections("testcluster-22.05.8-4nodes.txt", mpi="", mpi_stderr=text)
    else:
        sections = with_sections("testcluster-22.05.8-4nodes.txt", mpi=text)
    v = values(run_parser(spec, sections))
    assert v["slurm.pmix"] is pmix
    assert v["slurm.mpi_plugins"] == ",".join(expected)


def test_pyxis_help_from_the_pyxis_readme(spec: ProbeSpec) -> None:
    help_text = read("srun-help-pyxis-readme.txt")
    assert pyxis_in_help(help_text)
    assert not pyxis_in_help(split_sections(read("testcluster-22.05.8-4nodes.txt"))["srun-help"].text)
    out = run_parser(spec, with_sections("testcluster-22.05.8-4nodes.txt", srun_help=help_text))
    assert values(out)["slurm.pyxis"] is True
    assert "slurm.no-pyxis" not in codes(out)


def test_slurm_23_11_multi_line_records_from_a_real_h100_cluster(spec: ProbeSpec) -> None:
    nodes = (DATA / "scontrol-node" / "nano-23.11.11-h100-mixed.txt").read_text()
    parts = (DATA / "scontrol-partition" / "nano-23.11-two-partitions.txt").read_text()
    out = run_parser(spec, with_sections("testcluster-22.05.8-4nodes.txt", nodes=nodes, partitions=parts))
    v = values(out)
    assert (v["slurm.nodes_total"], v["slurm.nodes_usable"], v["slurm.gpus_total"]) == (1, 1, 8)
    assert out.facts["compute_nodes"] == [{
        "name": "hgpn01", "address": "hgpn01", "hostname": "hgpn01", "gpus": 8, "gpu_type": "H100",
        "state": "MIXED", "reason": None, "partitions": ["dev"], "usable": True,
    }]  # fmt: skip
    # no partition is Default=YES there: no default partition, and DefMemPerGPU counts on any partition
    assert v["slurm.default_partition_set"] is False and out.facts["default_partition"] is None
    assert v["slurm.def_mem_per_gpu_set"] is True
    assert [p["name"] for p in out.facts["partitions"]] == ["dev", "8gpus"]


def test_slurm_24_05_drained_gpu_node_from_a_github_issue(spec: ProbeSpec) -> None:
    nodes = (DATA / "scontrol-node" / "awslabs-195-24.05-drain.txt").read_text()
    out = run_parser(spec, with_sections("testcluster-22.05.8-4nodes.txt", nodes=nodes))
    [node] = out.facts["compute_nodes"]
    assert (node["name"], node["gpus"], node["gpu_type"], node["state"], node["usable"]) == (
        "yigou-dev-102-68", 1, "nvidia-rtx-3090", "IDLE+DRAIN", False,
    )  # fmt: skip
    assert out.facts["usable_nodes"] == []
    bad = next(f for f in out.findings if f.code == "slurm.nodes-unavailable")
    assert "gres/gpu count reported lower than configured (0 < 1)" in bad.message
    assert values(out)["slurm.nodes_unavailable_fraction"] == 1.0


def test_down_and_drained_nodes_from_the_22_05_fixture(spec: ProbeSpec) -> None:
    nodes = (DATA / "scontrol-node" / "dev-22.05.8-oneliner.txt").read_text()
    out = run_parser(spec, with_sections("testcluster-22.05.8-4nodes.txt", nodes=nodes))
    facts = {n["name"]: n for n in out.facts["compute_nodes"]}
    assert facts["cpu1"]["usable"] is False and facts["cpu1"]["gpus"] == 0
    assert facts["cpu1"]["reason"] == "bad dimm [root@2026-11-26T15:46:00]"
    assert facts["gpu1"]["usable"] is True and facts["gpu1"]["state"] == "ALLOCATED"
    unusable = sorted(n for n, f in facts.items() if not f["usable"])
    assert unusable == ["cpu1", "gpu3"]
    assert values(out)["slurm.nodes_unavailable"] == 2
    assert out.facts["gpus_per_node"]["cpu1"] == 0


def test_small_helpers() -> None:
    assert slurm_version("slurm 23.11.4\n") == "23.11.4"
    assert slurm_version("slurm-wlm 22.05.8") == "22.05.8"
    assert slurm_version("bash: sinfo: command not found") is None
    tree = split_sections(read("dev-22.05.8-tree-drained.txt"))["topology"].text
    assert topology_switches(tree) == 3
    assert topology_switches("scontrol: error: No topology information available") == 0


# ------------------------------------------------------------------------------- cut and garbage


def test_output_cut_half_way_still_parses(spec: ProbeSpec) -> None:
    text = read("testcluster-22.05.8-4nodes.txt")
    cut = text[: text.index("@@CMX:BEGIN nodes@@") + 200]  # inside the nodes section
    out = run_parser(spec, split_sections(cut))
    v = values(out)
    assert v["slurm.partitions"] == 1
    assert v["slurm.nodes_total"] is None  # the cut section is not trusted (rc unknown)
    # the commands after the cut never printed a section: not collected, left out (not measured)
    assert {"slurm.accounting", "slurm.multi_node_srun", "slurm.node_ssh"}.isdisjoint(v)
    assert out.status == ProbeStatus.OK


def test_nothing_readable_is_an_error(spec: ProbeSpec) -> None:
    out = run_parser(spec, split_sections("garbage\n"))
    assert (out.status, out.substatus) == (ProbeStatus.ERROR, SubStatus.COMMAND_FAILED)
    assert all(m.value is None for m in out.measurements)


SECTION_NAMES = ["version", "config", "partitions", "nodes", "mpi", "mpi!stderr", "srun-help", "topology",
                 "srun-multi", "srun-multi!stderr", "node-ssh", "sacct"]  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(SECTION_NAMES),
        st.tuples(st.text(max_size=300), st.one_of(st.none(), st.integers(-1, 255))),
    )
)
def test_no_input_crashes_the_parser(sections: dict[str, tuple[str, int | None]]) -> None:
    spec = load_probe_spec(probes_dir() / "slurm")
    out = run_parser(spec, {k: Section(k, text, rc) for k, (text, rc) in sections.items()})
    declared = {m.name: m.unit for m in spec.metrics}
    for m in out.measurements:
        assert m.metric in declared and m.unit == declared[m.metric]


def test_every_metric_is_declared_with_its_unit_and_labels(spec: ProbeSpec) -> None:
    declared = {m.name: m for m in spec.metrics}
    emitted: set[str] = set()
    for name in (
        "testcluster-22.05.8-4nodes.txt",
        "dev-22.05.8-tree-drained.txt",
        "dev-22.05.8-controller-down.txt",
    ):
        for m in parse_file(spec, name).measurements:
            assert m.metric in declared, m.metric
            assert m.unit == declared[m.metric].unit
            assert set(m.labels) <= set(declared[m.metric].labels)
            emitted.add(m.metric)
    assert emitted == set(declared)  # every declared metric is produced (value or null)
    for finding in parse_file(spec, "testcluster-22.05.8-4nodes.txt").findings:
        assert finding.code.removeprefix("slurm.") in spec.remediation


# ------------------------------------------------------------------- the real probe on real Slurm


def squeue_names(cluster: TestCluster, prefix: str) -> list[str]:
    out = subprocess.run(["squeue", "-h", "-o", "%j %i %T"], capture_output=True, text=True,
                         env=cluster.env(), check=True).stdout  # fmt: skip
    return [line for line in out.splitlines() if line.startswith(prefix)]


@pytest.mark.slurm
@pytest.mark.sshd
def test_probe_on_the_test_cluster_over_ssh(testcluster: TestCluster, spec: ProbeSpec) -> None:
    ctx = ProbeContext(role="login", platform="slurm")
    with ssh_transport(testcluster, testcluster.login) as transport:
        commands, result = run_probe(transport, spec, "login1", {}, ctx)
    assert commands[0].exit_code == 0, commands[0].stderr
    assert result.status == ProbeStatus.OK, result.message
    v = {m.metric: m.value for m in result.measurements if not m.labels}
    assert v["slurm.controller_up"] is True and v["slurm.version"] == "22.05.8"
    assert v["slurm.multi_node_srun"] is True
    assert v["slurm.nodes_total"] == len(testcluster.nodes) and v["slurm.gpus_total"] == 8 * len(
        testcluster.nodes
    )
    nodes = result.facts["compute_nodes"]
    assert [(n["name"], n["address"], n["gpus"]) for n in nodes] == [
        (h.name, h.ip, 8) for h in testcluster.nodes
    ]
    assert result.facts["usable_nodes"] == [h.name for h in testcluster.nodes]
    assert squeue_names(testcluster, "cmx-slurm-") == []  # the multi-node srun left nothing
    assert 0 < commands[0].duration_s < 10


@contextmanager
def node_key(cluster: TestCluster) -> Iterator[None]:
    """Give the test user a key that the nodes accept (and take it away again)."""
    user = pwd.getpwnam(cluster.user)
    ssh_dir = Path(user.pw_dir) / ".ssh"
    existed = ssh_dir.exists()
    auth = cluster.base / "keys" / "authorized_keys"
    before = auth.read_text()
    tmp = Path(tempfile.mkdtemp(prefix="cmx-nodekey-"))
    try:
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp / "id_ed25519")], check=True
        )
        ssh_dir.mkdir(mode=0o700, exist_ok=True)
        for name in ("id_ed25519", "id_ed25519.pub"):
            shutil.copy(tmp / name, ssh_dir / name)
        for path in (ssh_dir, ssh_dir / "id_ed25519", ssh_dir / "id_ed25519.pub"):
            os.chown(path, user.pw_uid, user.pw_gid)
        (ssh_dir / "id_ed25519").chmod(0o600)
        auth.write_text(before + (tmp / "id_ed25519.pub").read_text())
        yield
    finally:
        auth.write_text(before)
        (ssh_dir / "id_ed25519").unlink(missing_ok=True)
        (ssh_dir / "id_ed25519.pub").unlink(missing_ok=True)
        if not existed:
            shutil.rmtree(ssh_dir, ignore_errors=True)
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.mark.slurm
@pytest.mark.sshd
def test_node_ssh_works_when_the_user_has_a_key(testcluster: TestCluster, spec: ProbeSpec) -> None:
    ctx = ProbeContext(role="login", platform="slurm")
    with node_key(testcluster), ssh_transport(testcluster, testcluster.login) as transport:
        commands, result = run_probe(transport, spec, "login1", {"multi_node": False}, ctx)
    v = {m.metric: m.value for m in result.measurements if not m.labels}
    assert v["slurm.node_ssh"] is True, commands[0].stdout[-2000:]
    assert v["slurm.multi_node_srun"] is None  # switched off by the parameter: not measured
    assert "disabled by the multi_node parameter" in " ".join(result.facts["notes"])
    # nothing was left in ~/.ssh: the node's host key went to a throwaway known_hosts
    assert not (Path(pwd.getpwnam(testcluster.user).pw_dir) / ".ssh" / "known_hosts").exists()


@pytest.mark.slurm
@pytest.mark.sshd
def test_probe_skips_when_slurm_is_not_on_path(
    testcluster: TestCluster, spec: ProbeSpec, tmp_path: Path
) -> None:
    # a copy of the probes whose slurm script cannot see sinfo/scontrol (they live in /usr/bin with bash)
    root = tmp_path / "probes"
    shutil.copytree(probes_dir(), root)
    script = root / "slurm" / "run.sh"
    hide = 'cmx_have() { [ "$1" != sinfo ] && [ "$1" != scontrol ] && command -v "$1" >/dev/null; }\n'
    script.write_text(hide + script.read_text())
    ctx = ProbeContext(role="login", platform="slurm", probes_root=root)
    with ssh_transport(testcluster, testcluster.login) as transport:
        _, result = run_probe(transport, spec, "login1", {}, ctx)
    assert (result.status, result.substatus) == (ProbeStatus.SKIPPED, SubStatus.NOT_INSTALLED)
    assert "no Slurm client commands" in result.message
