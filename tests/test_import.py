"""`clustermax import`: real CLI runs on real fixtures; the bundle, the import list, exit codes, reparse."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from clustermax.bundle.from_files import import_files, reparse_import_command, reparse_import_commands
from clustermax.models import Bundle, Measurement, ProbeStatus, SubStatus
from clustermax.probes.registry import file_kinds

DATA = Path(__file__).resolve().parent / "data"
NCCL = DATA / "nccl-tests" / "h100-2node-allreduce-mpirun.log"
SMI = DATA / "nvidia-smi" / "h100x8-560-persistence-off.txt"
DCGM = DATA / "dcgmi-diag" / "dcgm338-h100x8-r3-cuda-fail-all.txt"
XID = DATA / "xid" / "dmesg-fallen-off-bus-no-xid.log"
TOPO = DATA / "nvidia-smi-topo" / "h100x8-8nic-spaces-gpu-numa-id.txt"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "clustermax", "import", *args], capture_output=True, text=True, timeout=120
    )


def load(out: Path) -> Bundle:
    return Bundle.model_validate_json((out / "bundle.json").read_text())


def test_import_mixed_files(tmp_path: Path) -> None:
    junk = tmp_path / "notes.txt"
    junk.write_text("shopping list: milk, eggs\n")
    broken = tmp_path / "smi.txt"
    broken.write_text("nothing to see\n")
    out = tmp_path / "out"
    files = [str(p) for p in (NCCL, SMI, DCGM, XID, TOPO, junk)]
    r = run("--provider", "acme", "--cluster", "c1", "--out", str(out), *files)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == f"imported     nccl-tests         {NCCL} host=cluster"
    assert lines[1] == f"imported     nvidia-smi         {SMI} host=imported"
    assert lines[5] == f"unrecognised -                  {junk}: 1 line(s) of text in no tool's output format"
    assert lines[-1] == f"wrote {out / 'bundle.json'} (5 of 6 file(s) imported)"

    bundle = load(out)
    assert bundle.kind == "import" and bundle.complete
    assert (bundle.target.cluster, bundle.target.provider) == ("c1", "acme")
    assert [i.status for i in bundle.imports] == ["imported"] * 5 + ["unrecognised"]
    kinds = [i.kind for i in bundle.imports[:5]]
    assert kinds == ["nccl-tests", "nvidia-smi", "dcgmi-diag", "xid", "nvidia-smi-topo"]

    cmd = bundle.commands[0]
    assert (cmd.probe_id, cmd.step, cmd.command, cmd.host) == (
        "nccl_allreduce",
        "import:nccl-tests",
        f"import {NCCL.name}",
        "cluster",
    )
    assert cmd.stdout == NCCL.read_text()
    assert cmd.id == "cluster/nccl_allreduce/import:nccl-tests"

    by_probe: dict[str, list[str]] = {}
    for res in bundle.results:
        by_probe.setdefault(res.probe_id, []).extend(m.metric for m in res.measurements)
    nccl_metrics = {"nccl.busbw", "nccl.busbw_peak", "nccl.busbw_band_mean", "nccl.busbw_max_size"}
    assert nccl_metrics <= set(by_probe["nccl_allreduce"])
    gpu = {m.metric: m for res in bundle.results if res.probe_id == "gpu_health" for m in res.measurements}
    assert gpu["gpu.count"].value == 8 and gpu["gpu.persistence_mode"].value is False
    assert gpu["gpu.dcgm_diag"].value == "fail" and gpu["gpu.dcgm_failed_tests"].value == 1
    assert gpu["gpu.fallen_off_bus"].value is True and gpu["gpu.xid_critical"].value == 1
    assert gpu["gpu.throttled"].value is None  # a table has no reasons: not measured, not 0
    codes = {f.code for res in bundle.results for f in res.findings}
    assert {"persistence-off", "dcgm-failed", "xid-critical", "fallen-off-bus"} <= codes
    fabric = [m for res in bundle.results if res.probe_id == "fabric" for m in res.measurements]
    assert [(m.metric, m.value) for m in fabric] == [("fabric.gpu_nic_pix", 8)]


def test_nccl_measurement_labels(tmp_path: Path) -> None:
    outcome = import_files([str(NCCL)], provider=None, cluster="c")
    (res,) = outcome.bundle.results
    peak = next(m for m in res.measurements if m.metric == "nccl.busbw_peak")
    assert peak.labels == {
        "collective": "all_reduce",
        "impl": "nccl-tests",
        "scope": "inter",
        "nodes": "2",
        "ranks": "16",
        "run": "1",
    }
    assert peak.value == 338.82 and peak.unit.value == "GB/s"
    band = next(m for m in res.measurements if m.metric == "nccl.busbw_band_mean")
    # rows of 16 MiB..512 MiB: 32.18, 59.36, 99.74, 152.32, 213.19, 263.69
    assert band.value == pytest.approx((32.18 + 59.36 + 99.74 + 152.32 + 213.19 + 263.69) / 6, abs=1e-3)
    at_max = next(m for m in res.measurements if m.metric == "nccl.busbw_max_size")
    assert at_max.labels["size_bytes"] == "8589934592" and at_max.value == 338.82
    sizes = [m.labels["size_bytes"] for m in res.measurements if m.metric == "nccl.busbw"]
    assert len(sizes) == 31 and sizes[0] == "8"


def test_single_host_nccl_and_host_option(tmp_path: Path) -> None:
    k80 = DATA / "nccl-tests" / "k80-old-error-column-nccl-info.log"
    outcome = import_files([str(k80)], provider=None, cluster="c")
    assert outcome.bundle.commands[0].host == "2e3f9af7241040529530e810ce60fe5d000002"
    labels = next(m for m in outcome.bundle.results[0].measurements if m.metric == "nccl.busbw").labels
    # the log never names its collective: the table does (redop sum, size = count x 4 B)
    assert labels["scope"] == "intra" and labels["collective"] == "all_reduce"
    wrong = next(m for m in outcome.bundle.results[0].measurements if m.metric == "nccl.wrong")
    assert wrong.value is None  # old float "error" column: not measured
    forced = import_files([str(k80), str(SMI)], provider=None, cluster="c", host="node-7")
    assert {c.host for c in forced.bundle.commands} == {"node-7"}


def test_kind_option_and_parse_error(tmp_path: Path) -> None:
    out = tmp_path / "o"
    r = run("--provider=p", "--cluster=c", "--out", str(out), "--kind", "nvidia-smi", str(SMI), str(NCCL))
    assert r.returncode == 0
    assert r.stdout.splitlines()[1].startswith(
        f"parse-error  nvidia-smi         {NCCL} host=imported: nvidia-smi: expected nvidia-smi output"
    )
    bundle = load(out)
    bad = bundle.results[1]
    assert (bad.status, bad.substatus) == (ProbeStatus.ERROR, SubStatus.PARSE_ERROR)
    assert bundle.commands[1].stdout == NCCL.read_text()  # the evidence is kept


def test_nothing_imported_exits_2(tmp_path: Path) -> None:
    junk = tmp_path / "a.txt"
    junk.write_text("hello\n")
    out = tmp_path / "o"
    r = run("--provider", "p", "--cluster", "c", "--out", str(out), str(junk), str(tmp_path / "missing.log"))
    assert r.returncode == 2
    assert r.stdout.splitlines() == [
        f"unrecognised -                  {junk}: 1 line(s) of text in no tool's output format",
        f"unrecognised -                  {tmp_path / 'missing.log'}: cannot read: No such file or directory",
    ]
    assert r.stderr.splitlines() == [
        "error: no file could be imported (2 unrecognised); nothing written",
        "  hint: a file gets a kind only when its structure is that tool's output;"
        " --kind KIND=FILE forces one (clustermax parse --list shows the kinds)",
    ]
    assert not (out / "bundle.json").exists()


def test_unknown_kind_is_a_usage_error(tmp_path: Path) -> None:
    r = run("--provider", "p", "--cluster", "c", "--out", str(tmp_path), "--kind", "bogus", str(SMI))
    assert r.returncode == 2 and r.stderr.startswith("error: bogus: unknown kind")


def test_reparse_import_command_rederives_the_result() -> None:
    bundle = import_files([str(DCGM), str(NCCL)], provider=None, cluster="c").bundle
    own = [r for r in bundle.results if r.command_ids]  # the derived cluster result has no command
    assert [r.host for r in bundle.results if not r.command_ids] == ["cluster"]
    for cmd, original in zip(bundle.commands, own, strict=True):
        again = reparse_import_command(cmd)
        assert again.measurements == original.measurements
        assert again.findings == original.findings
        assert again.command_ids == [cmd.id]
    with pytest.raises(ValueError, match="not an imported command"):
        reparse_import_command(bundle.commands[0].model_copy(update={"step": "main"}))


def test_every_kind_has_a_probe() -> None:
    from clustermax.parsers.registry import PARSERS

    assert set(PARSERS) == set(file_kinds())


def test_cluster_kinds_dispatch_to_their_mappers(tmp_path: Path) -> None:
    files = [p for k in ("sinfo", "ibstat") for p in sorted((DATA / k).glob("*")) if p.suffix != ".source"]
    outcome = import_files([str(files[0]), str(files[-1])], provider=None, cluster="c")
    probes = {r.probe_id for r in outcome.bundle.results}
    assert probes == {"slurm", "fabric"}
    assert all(r.measurements for r in outcome.bundle.results)


# ------------------------------------------------------------------------------ NCCL: import == probe

H100_2N = DATA / "nccl-tests" / "h100-2node-allreduce-mpirun.log"
GH200_WRONG = DATA / "nccl-tests" / "gh200-2node-srun-wrong-issue369.log"
RTX_NEW = DATA / "nccl-tests" / "rtx6000d-2node-newest-header.log"
V100_CONCAT = DATA / "nccl-tests" / "v100-dgx2-old-concatenated.log"


def _probe_nccl(log: Path, ranks: int, nodes: int = 2):  # type: ignore[no-untyped-def]
    """The nccl_allreduce probe parser on one recorded run of ``log`` (as run.sh frames it)."""
    from clustermax.probes.base import ProbeInput, split_sections
    from clustermax.probes.nccl_allreduce import from_sections
    from clustermax.probes.specs import load_probe_specs

    def section(name: str, text: str) -> str:
        return f"@@CMX:BEGIN {name}@@\n{text}\n@@CMX:END {name} rc=0@@\n"

    stdout = (
        section("plan", "platform=slurm\ncollective=all_reduce\nimpl=nccl-tests")
        + section(f"run-n{nodes}-r1-meta", f"impl=nccl-tests\nnodes={nodes}\nranks={ranks}\nlauncher=srun")
        + section(f"run-n{nodes}-r1", log.read_text())
    )
    spec = load_probe_specs()["nccl_allreduce"]
    return from_sections(
        ProbeInput(spec=spec, host="cluster", commands={}, sections=split_sections(stdout), params={})
    )


def _triples(measurements: list[Measurement]) -> list[tuple[str, object, tuple[tuple[str, str], ...]]]:
    return sorted(
        ((m.metric, m.value, tuple(sorted(m.labels.items()))) for m in measurements),
        key=lambda t: (t[0], t[2]),
    )


@pytest.mark.parametrize(("log", "ranks"), [(H100_2N, 16), (GH200_WRONG, 2), (RTX_NEW, 16)])
def test_import_gives_the_probes_nccl_metrics(log: Path, ranks: int) -> None:
    """The same run gives the same nccl.* values, labels and finding codes by probe and by import."""
    probe = _probe_nccl(log, ranks)
    (res,) = import_files([str(log)], provider=None, cluster="c").bundle.results
    # what only the probe can know: whether a run hung (the import cannot tell)
    probe_ms = [m for m in probe.measurements if m.metric != "nccl.runs_hung"]
    assert _triples(res.measurements) == _triples(probe_ms)
    assert res.findings == probe.findings
    assert "nccl.busbw_peak_median" in {m.metric for m in res.measurements}


def test_logs_of_one_configuration_are_its_repetitions(tmp_path: Path) -> None:
    # a second run of the same configuration, derived in test code: the real log cut after 1 GiB
    text = H100_2N.read_text()
    cut = tmp_path / "h100-cut.log"
    cut.write_text(text[: text.index("  2147483648 ")])
    logs = [str(H100_2N), str(cut), str(H100_2N)]  # the same file twice counts once
    outcome = import_files(logs, provider=None, cluster="c")
    (res,) = outcome.bundle.results
    assert res.command_ids == [c.id for c in outcome.bundle.commands] and res.host == "cluster"
    peaks = {m.labels["run"]: m.value for m in res.measurements if m.metric == "nccl.busbw_peak"}
    assert peaks == {"1": 338.82, "2": 297.86}
    (median,) = [m for m in res.measurements if m.metric == "nccl.busbw_peak_median"]
    (spread,) = [m for m in res.measurements if m.metric == "nccl.busbw_peak_spread"]
    assert median.labels == {
        "collective": "all_reduce",
        "impl": "nccl-tests",
        "scope": "inter",
        "nodes": "2",
        "ranks": "16",
        "runs": "2",
    }
    assert median.value == round((338.82 + 297.86) / 2, 3)
    assert spread.value == round((338.82 - 297.86) / median.value, 4)
    assert outcome.bundle.imports[2].reason == f"same content as {H100_2N}: its runs count once"
    # --reparse: all the result's logs are re-read together
    again = reparse_import_commands(outcome.bundle.commands)
    assert again.measurements == res.measurements and again.command_ids == res.command_ids


def test_concatenated_runs_each_count_and_version_from_header() -> None:
    (res,) = import_files([str(V100_CONCAT), str(RTX_NEW)], provider=None, cluster="c").bundle.results
    aggs = sorted(
        (m.labels["collective"], m.labels["runs"])
        for m in res.measurements
        if m.metric == "nccl.busbw_peak_median"
    )
    assert aggs == [("all_gather", "1"), ("all_reduce", "1"), ("all_reduce", "1"), ("broadcast", "1")]
    versions = [m.value for m in res.measurements if m.metric == "nccl.version"]
    assert versions == ["2.30.3"]  # only the rtx log prints it; the V100 log's is unknown, not invented
    assert not {"nccl.runs_hung", "nccl.autoconfig", "nccl.env_tuned"} & {m.metric for m in res.measurements}


def test_nccl_environment_only_when_the_log_shows_it() -> None:
    from clustermax.probes.nccl_allreduce import env_from_log

    # a line as NCCL 2.2x prints it with NCCL_DEBUG=INFO (a real log: an 8xH100 vLLM run posted on GitHub)
    line = "gpu-dev-aa464b9b:1801:1801 [6] NCCL INFO NCCL_ALGO set by environment to ring,tree\n"
    assert env_from_log(H100_2N.read_text()) is None
    assert env_from_log(H100_2N.read_text() + line) == {"NCCL_ALGO": "ring,tree"}
    from clustermax.parsers.nccl_tests import parse_nccl_tests
    from clustermax.probes.nccl_allreduce import ImportedLog, import_measurements

    text = line + H100_2N.read_text()
    ms, findings = import_measurements([ImportedLog(parse_nccl_tests(text), "cluster", text)])
    got = {m.metric: m.value for m in ms}
    assert got["nccl.autoconfig"] is False and got["nccl.env_tuned"] == "NCCL_ALGO=ring,tree"
    assert [f.code for f in findings] == ["nccl-env-forced"]


# ------------------------------------------------------------------------------ --profile, reproducible


def test_profile_option_sets_the_override_and_scoring_uses_it(tmp_path: Path) -> None:
    from clustermax.scoring import load_rubric, score_bundle

    bare, prof = tmp_path / "bare", tmp_path / "prof"
    assert run("--provider", "p", "--cluster", "c", "--out", str(bare), str(H100_2N)).returncode == 0
    r = run(
        "--provider", "p", "--cluster", "c", "--out", str(prof), str(H100_2N),
        "--profile", "gpu_model=H100-SXM", "--profile", "fabric=infiniband-ndr",
        "--profile", "nic_count=8", "--profile", "nic_rate_gbps=400",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    bundle = load(prof)
    assert bundle.target.profile_override == {
        "gpu_model": "H100-SXM", "fabric": "infiniband-ndr", "nic_count": 8, "nic_rate_gbps": 400.0
    }  # fmt: skip
    rubric = load_rubric(None)
    without = {c.id: c for c in score_bundle(load(bare), rubric).criteria}
    inter = without["nccl-inter-busbw"]
    assert inter.verdict.value == "not_measured"
    assert "`clustermax import --profile fabric=... --profile nic_count=...`" in inter.explanation
    scored = score_bundle(bundle, rubric)
    with_profile = {c.id: c for c in scored.criteria}
    assert with_profile["nccl-inter-busbw"].verdict.value == "pass"  # 338.82 >= 0.9 x 46 x 8
    assert scored.profile.source == "inventory" and scored.profile.fabric == "ib-ndr-400"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["gpus=8"],
            "unknown profile key 'gpus' (accepted: gpu_model, gpus_per_node, fabric, nic_count,"
            " nic_rate_gbps)",
        ),
        (
            ["gpu_model=H100"],
            "profile gpu_model='H100' matches no GPU of the hardware references (accepted: h100-sxm,",
        ),
        (["nic_count=eight"], "profile nic_count='eight': expected scale-out NICs per node, an integer >= 0"),
        (
            ["fabric=roce"],
            "profile fabric='roce' matches no fabric of the hardware references without nic_rate_gbps",
        ),
        (["nic_count"], "'nic_count' is not KEY=VALUE"),
        (["nic_count=8", "nic_count=4"], "profile key 'nic_count' given twice"),
    ],
)
def test_bad_profile_is_a_usage_error(tmp_path: Path, args: list[str], message: str) -> None:
    opts = [x for a in args for x in ("--profile", a)]
    r = run("--provider", "p", "--cluster", "c", "--out", str(tmp_path / "o"), str(H100_2N), *opts)
    assert r.returncode == 2
    assert r.stderr.startswith(f"error: --profile: {message}")
    assert not (tmp_path / "o" / "bundle.json").exists()


def test_source_date_epoch_makes_the_bundle_reproducible(tmp_path: Path) -> None:
    env = {**os.environ, "SOURCE_DATE_EPOCH": "1767225600"}
    texts = []
    for name in ("a", "b"):
        out = tmp_path / name
        r = subprocess.run(
            [sys.executable, "-m", "clustermax", "import", "--provider", "p", "--cluster", "c",
             "--out", str(out), str(H100_2N)],
            capture_output=True, text=True, timeout=120, env=env,
        )  # fmt: skip
        assert r.returncode == 0, r.stderr
        texts.append((out / "bundle.json").read_text().replace(str(out), "OUT"))
    assert texts[0] == texts[1]
    bundle = Bundle.model_validate_json(texts[0])
    assert (
        bundle.started_at.isoformat()
        == "2026-01-01T00:00:00+00:00"
        == bundle.commands[0].started_at.isoformat()
    )
    assert (bundle.origin.python, bundle.origin.platform, bundle.origin.run_from) == (
        "unrecorded",
        "unrecorded",
        None,
    )
    bad = subprocess.run(
        [sys.executable, "-m", "clustermax", "import", "--provider", "p", "--cluster", "c",
         "--out", str(tmp_path / "c"), str(H100_2N)],
        capture_output=True, text=True, timeout=120, env={**env, "SOURCE_DATE_EPOCH": "yesterday"},
    )  # fmt: skip
    assert bad.returncode == 2 and bad.stderr.startswith(
        "error: SOURCE_DATE_EPOCH='yesterday' is not a number"
    )


# ------------------------------------------------------------------------- expected GPU count of nvidia-smi

SMI_TABLE = DATA / "nvidia-smi" / "h100x8-565-table.txt"  # 8x H100
NODE_ONE = DATA / "scontrol-node" / "nano-23.11.11-h100-mixed.txt"  # hgpn01, Gres=gpu:H100:8
NODES_MIXED = DATA / "scontrol-node" / "dev-22.05.8.txt"  # cpu1 (no GPU), gpu1..gpu3 gpu:h100:8


def _expected(bundle: Bundle) -> list[tuple[str, object, dict[str, str]]]:
    return [
        (m.metric, m.value, m.labels)
        for r in bundle.results
        if r.probe_id == "gpu_health"
        for m in r.measurements
        if m.metric in ("gpu.expected_count", "gpu.count_ok")
    ]


def _import(tmp_path: Path, *args: str) -> Bundle:
    out = tmp_path / "out"
    r = run("--provider", "p", "--cluster", "c", "--out", str(out), *args)
    assert r.returncode == 0, r.stderr
    return load(out)


def _reparse_is_identical(bundle: Bundle) -> None:
    from clustermax.bundle.reparse import reparse_bundle
    from clustermax.scoring import load_rubric, score_bundle

    again = reparse_bundle(bundle)
    assert again.results == bundle.results
    rubric = load_rubric(None)
    assert score_bundle(again, rubric).model_dump(exclude={"bundle_sha256"}) == score_bundle(
        bundle, rubric
    ).model_dump(exclude={"bundle_sha256"})


def test_profile_gpus_per_node_is_the_expected_count(tmp_path: Path) -> None:
    from clustermax.scoring import load_rubric, score_bundle

    bundle = _import(tmp_path, "--profile", "gpus_per_node=8", str(SMI_TABLE))
    assert bundle.target.profile_override == {"gpus_per_node": 8}
    assert _expected(bundle) == [
        ("gpu.expected_count", 8, {"expected_source": "profile"}),
        ("gpu.count_ok", True, {"expected_source": "profile"}),
    ]
    result = score_bundle(bundle, load_rubric(None))
    assert {c.id: c.verdict.value for c in result.criteria}["gpu-count-ok"] == "pass"
    assert not [h for h in result.held_down_by if h.criteria == ["gpu-count-ok"]]
    _reparse_is_identical(bundle)


def test_profile_expecting_more_gpus_than_visible_fails_the_count(tmp_path: Path) -> None:
    bundle = _import(tmp_path, "--profile", "gpus_per_node=16", str(SMI_TABLE))
    assert _expected(bundle) == [
        ("gpu.expected_count", 16, {"expected_source": "profile"}),
        ("gpu.count_ok", False, {"expected_source": "profile"}),
    ]
    smi = next(r for r in bundle.results if r.probe_id == "gpu_health")
    assert [(f.code, f.message) for f in smi.findings if f.code == "gpu-missing"] == [
        ("gpu-missing", "8 of 16 expected GPUs are visible")
    ]
    _reparse_is_identical(bundle)


def test_profile_wins_over_gres(tmp_path: Path) -> None:
    bundle = _import(tmp_path, "--profile", "gpus_per_node=4", str(SMI_TABLE), str(NODE_ONE))
    assert _expected(bundle)[0] == ("gpu.expected_count", 4, {"expected_source": "profile"})
    _reparse_is_identical(bundle)


def test_gres_of_the_only_node_is_the_expected_count(tmp_path: Path) -> None:
    # the scontrol file comes after the nvidia-smi file: the whole import is read before mapping
    bundle = _import(tmp_path, str(SMI_TABLE), str(NODE_ONE))
    assert bundle.target.profile_override is None
    assert _expected(bundle) == [
        ("gpu.expected_count", 8, {"expected_source": "gres"}),
        ("gpu.count_ok", True, {"expected_source": "gres"}),
    ]
    # the raw evidence is kept as it was
    assert [c.stdout for c in bundle.commands] == [SMI_TABLE.read_text(), NODE_ONE.read_text()]
    _reparse_is_identical(bundle)


def test_gres_of_the_node_named_by_host(tmp_path: Path) -> None:
    bundle = _import(tmp_path, "--host", "gpu2", str(NODES_MIXED), str(SMI_TABLE))
    assert _expected(bundle) == [
        ("gpu.expected_count", 8, {"expected_source": "gres"}),
        ("gpu.count_ok", True, {"expected_source": "gres"}),
    ]
    _reparse_is_identical(bundle)


@pytest.mark.parametrize(
    ("args", "why"),
    [
        ([str(SMI_TABLE)], "no profile and no scontrol output"),
        ([str(SMI_TABLE), str(NODES_MIXED)], "nodes differ (cpu1 has no GPU) and no --host names one"),
        (["--host", "cpu1", str(SMI_TABLE), str(NODES_MIXED)], "the named node has no GPU in its GRES"),
    ],
)
def test_no_expected_count_without_a_source(tmp_path: Path, args: list[str], why: str) -> None:
    from clustermax.scoring import load_rubric, score_bundle

    bundle = _import(tmp_path, *args)
    assert _expected(bundle) == [("gpu.expected_count", None, {}), ("gpu.count_ok", None, {})], why
    result = score_bundle(bundle, load_rubric(None))
    assert {c.id: c.verdict.value for c in result.criteria}["gpu-count-ok"] == "not_measured"
    assert [(h.bound, h.tier.value) for h in result.held_down_by if h.criteria == ["gpu-count-ok"]] == [
        ("floor", "bronze")
    ]
    _reparse_is_identical(bundle)


def test_reparse_needs_the_bundle_context_for_the_expected_count(tmp_path: Path) -> None:
    bundle = _import(tmp_path, str(SMI_TABLE), str(NODE_ONE))
    smi_cmd = bundle.commands[0]
    alone = reparse_import_commands([smi_cmd])
    with_gres = reparse_import_commands([smi_cmd], context=bundle.commands)
    with_profile = reparse_import_commands([smi_cmd], profile={"gpus_per_node": 2}, context=bundle.commands)
    counts = [
        next(m for m in r.measurements if m.metric == "gpu.expected_count")
        for r in (alone, with_gres, with_profile)
    ]
    assert [(m.value, m.labels) for m in counts] == [
        (None, {}),
        (8, {"expected_source": "gres"}),
        (2, {"expected_source": "profile"}),
    ]


def test_score_cli_reparse_matches_with_gres(tmp_path: Path) -> None:
    _import(tmp_path, "--host", "gpu1", str(SMI_TABLE), str(NODES_MIXED))

    def score(*extra: str) -> str:
        proc = subprocess.run(
            [sys.executable, "-m", "clustermax", "score", "-f", "json", *extra, str(tmp_path / "out")],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    plain = score()
    assert '"gpu-count-ok"' in plain
    assert plain == score("--reparse")


# ------------------------------------------------------------------ recognised by structure, not words

ROOT = DATA.parents[1]


def test_readme_and_a_hostname_are_not_imported(tmp_path: Path) -> None:
    """The issue's run: nothing is a tool output, so nothing is written and the exit status says so."""
    hostname = tmp_path / "hostname"
    hostname.write_text("gpu-node-07\n")
    out = tmp_path / "d"
    r = run("--provider", "P", "--cluster", "C", "--out", str(out), str(hostname), str(ROOT / "README.md"))
    assert r.returncode == 2
    assert r.stdout.splitlines() == [
        f"unrecognised -                  {hostname}: 1 line(s) of text in no tool's output format",
        f"unrecognised -                  {ROOT / 'README.md'}: prose or Markdown"
        f" ({_prose(ROOT / 'README.md')}): no tool output's structure in it",
    ]
    assert r.stderr.startswith("error: no file could be imported (2 unrecognised); nothing written\n")
    assert not out.exists()


def _prose(path: Path) -> str:
    from clustermax.parsers.registry import recognise

    reason = recognise(path.read_text()).reason
    return reason[reason.index("(") + 1 : reason.index(")")]


def test_what_is_no_tool_output_is_listed_with_its_reason(tmp_path: Path) -> None:
    history = tmp_path / "history.txt"
    history.write_text("cd /shared\nnvidia-smi --query-gpu=index,name --format=csv\nsinfo -N -l\ndmesg -T\n")
    binary = tmp_path / "core.bin"
    binary.write_bytes(b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)) * 8)
    pod = tmp_path / "pod.json"
    import json

    import yaml

    pod.write_text(json.dumps(yaml.safe_load((DATA / "k8s-objects" / "pod-cuda-vectoradd.yaml").read_text())))
    sidecar = DATA / "nvidia-smi" / "b300x7-610-csv-driver-name-computecap.txt.source"
    docs = ROOT / "docs" / "parsers-gpu.md"
    outcome = import_files(
        [str(p) for p in (history, binary, pod, sidecar, docs, XID)], provider=None, cluster="c"
    )
    reasons = {Path(i.path).name: (i.status, i.reason) for i in outcome.bundle.imports}
    assert reasons["history.txt"] == (
        "unrecognised",
        "shell commands (a history or a script), not their output",
    )
    assert reasons["core.bin"] == ("unrecognised", "binary file")
    assert reasons["pod.json"][0] == "unrecognised" and reasons["pod.json"][1].startswith(
        "JSON that no parser reads"
    )
    assert reasons[sidecar.name] == (
        "unrecognised",
        "a YAML document (key: value) that no parser reads (not a Node or kubectl version)",
    )
    assert reasons["parsers-gpu.md"][0] == "unrecognised"
    assert reasons["parsers-gpu.md"][1].startswith("prose or Markdown")
    assert reasons[XID.name][0] == "imported" and outcome.imported == 1


def test_kind_for_one_file(tmp_path: Path) -> None:
    """--kind KIND=FILE forces one file's kind; the others are still recognised by their structure."""
    labels = DATA / "kubectl-nodes" / "labels-describe-device-plugin-1501.txt"  # too partial to detect
    out = tmp_path / "o"
    r = run(
        "--provider=p",
        "--cluster=c",
        "--out",
        str(out),
        f"--kind=kubectl-nodes={labels}",
        str(labels),
        str(SMI),
    )
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].startswith(
        f"imported     kubectl-nodes      {labels} host=imported: kind given (--kind KIND=FILE)"
    )
    assert lines[1].startswith(f"imported     nvidia-smi         {SMI}")
    assert load(out).options["kinds"] == {str(labels): "kubectl-nodes"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--kind", "bogus=x.txt"], "error: --kind bogus=x.txt: unknown kind 'bogus'"),
        (
            ["--kind", "xid=other.log"],
            "error: --kind xid=other.log: other.log is not one of the files to import",
        ),
        (
            ["--kind", "xid", "--kind", "nvidia-smi"],
            "error: --kind xid and --kind nvidia-smi: one kind for every file",
        ),
    ],
)
def test_kind_option_errors(tmp_path: Path, args: list[str], message: str) -> None:
    r = run("--provider", "p", "--cluster", "c", "--out", str(tmp_path / "o"), *args, str(SMI))
    assert r.returncode == 2 and r.stderr.startswith(message)


def test_fanout_output_of_two_hosts_is_two_hosts(tmp_path: Path) -> None:
    """pdsh's 'host: ' lines of two nodes are each node's own nvidia-smi output, under its own name."""
    pdsh = DATA / "nvidia-smi" / "pdsh-2.34-exec-2hosts-a800x8-csv.txt"
    bundle = import_files([str(pdsh)], provider=None, cluster="c").bundle
    assert [(c.host, c.step) for c in bundle.commands] == [
        ("gpu02", "import:nvidia-smi"),
        ("gpu01", "import:nvidia-smi"),
    ]
    counts = {r.host: m.value for r in bundle.results for m in r.measurements if m.metric == "gpu.count"}
    assert counts == {"gpu02": 8, "gpu01": 8}
    assert (bundle.imports[0].reason or "").startswith("host gpu02, 2 hosts in the file")
    for cmd, result in zip(bundle.commands, [r for r in bundle.results if r.command_ids], strict=True):
        assert reparse_import_command(cmd).measurements == result.measurements
