"""`clustermax import`: real CLI runs on real fixtures; the bundle, the import list, exit codes, reparse."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from clustermax.importer import PROBE_OF_KIND, import_files, reparse_import_command
from clustermax.models import Bundle, ProbeStatus, SubStatus

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
    assert lines[5] == f"unrecognised -                  {junk}: no parser recognised it"
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
        "run": "0",
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
    labels = outcome.bundle.results[0].measurements[0].labels
    assert labels["scope"] == "intra" and labels["collective"] == "unknown"
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
        f"unrecognised -                  {junk}: no parser recognised it",
        f"unrecognised -                  {tmp_path / 'missing.log'}: cannot read: No such file or directory",
    ]
    assert r.stderr == "error: no file could be imported; nothing written\n"
    assert not (out / "bundle.json").exists()


def test_unknown_kind_is_a_usage_error(tmp_path: Path) -> None:
    r = run("--provider", "p", "--cluster", "c", "--out", str(tmp_path), "--kind", "bogus", str(SMI))
    assert r.returncode == 2 and r.stderr.startswith("error: bogus: unknown kind")


def test_reparse_import_command_rederives_the_result() -> None:
    bundle = import_files([str(DCGM), str(NCCL)], provider=None, cluster="c").bundle
    for cmd, original in zip(bundle.commands, bundle.results, strict=True):
        again = reparse_import_command(cmd)
        assert again.measurements == original.measurements
        assert again.findings == original.findings
        assert again.command_ids == [cmd.id]
    with pytest.raises(ValueError, match="not an imported command"):
        reparse_import_command(bundle.commands[0].model_copy(update={"step": "main"}))


def test_every_kind_has_a_probe() -> None:
    from clustermax.parsers.registry import PARSERS

    assert set(PARSERS) == set(PROBE_OF_KIND)


def test_cluster_kinds_dispatch_to_their_mappers(tmp_path: Path) -> None:
    files = [p for k in ("sinfo", "ibstat") for p in sorted((DATA / k).glob("*")) if p.suffix != ".source"]
    outcome = import_files([str(files[0]), str(files[-1])], provider=None, cluster="c")
    probes = {r.probe_id for r in outcome.bundle.results}
    assert probes == {"slurm", "fabric"}
    assert all(r.measurements for r in outcome.bundle.results)
