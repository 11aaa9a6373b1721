"""Parsers of the storage and node-performance probes on recorded real outputs: mount tables and fstab
(parsers/mounts.py), fio JSON (parsers/fio.py) and nvbandwidth (parsers/nvbandwidth.py)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from clustermax.parsers.base import ParseError
from clustermax.parsers.fio import detect_fio, parse_fio, split_tasks
from clustermax.parsers.mounts import (
    SHARED_TYPES,
    classify,
    mount_for_path,
    parse_auto_master,
    parse_fstab,
    parse_mounts,
    should_be_mounted,
)
from clustermax.parsers.nvbandwidth import detect_nvbandwidth, parse_nvbandwidth
from clustermax.resources import probes_dir

DATA = Path(__file__).resolve().parents[1] / "data"


def read(kind: str, name: str) -> str:
    return (DATA / kind / name).read_text(encoding="utf-8")


# ---------------------------------------------------------------------------------------------- mounts


def test_mountinfo_of_a_test_node() -> None:
    out = parse_mounts(read("mounts", "mountinfo-node1.txt"))
    assert out.format == "mountinfo" and not out.warnings
    by_target = {m.target: m for m in out.mounts}
    shared = by_target["/mnt/shared"]
    assert (shared.fstype, shared.kind) == ("fuse.sshfs", "shared")
    assert shared.source == "cmxtest@10.88.0.5:/tmp/stx/export"
    assert "allow_other" in shared.options and "nosuid" in shared.options  # per-mount + super options
    local = by_target["/mnt/local"]
    assert (local.kind, local.root, local.source) == ("local", "/tmp/stx/node1/local", "/dev/vda")
    assert by_target["/proc"].kind == "pseudo" and by_target["/dev/shm"].kind == "memory"
    assert "/mnt/nfs-missing" not in by_target
    assert mount_for_path(out.mounts, "/mnt/shared/a/b").target == "/mnt/shared"  # type: ignore[union-attr]
    assert mount_for_path(out.mounts, "/home/cmxtest").target == "/"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("name", "fmt", "target", "fstype"),
    [
        ("aws-fsx-lustre-2.15.6-proc-mounts-lustre.txt", "proc-mounts", "/mnt/lustre", "lustre"),
        ("aws-wekafs-5.1.27-proc-mounts-weka.txt", "proc-mounts", "/mnt/weka", "wekafs"),
        ("aws-fsx-lustre-2.15.6-mount.txt", "mount", "/mnt/lustre", "lustre"),
        ("aws-wekafs-5.1.27-mount.txt", "mount", "/mnt/weka", "wekafs"),
    ],
)
def test_parallel_filesystem_clients(name: str, fmt: str, target: str, fstype: str) -> None:
    out = parse_mounts(read("mounts", name))
    assert out.format == fmt and not out.warnings
    shared = [m for m in out.mounts if m.kind == "shared"]
    assert [(m.target, m.fstype) for m in shared] == [(target, fstype)]
    if fmt == "mount":  # the systemd automount of /boot/efi is autofs, with the real mount over it
        assert [m.kind for m in out.mounts if m.target == "/boot/efi"] == ["autofs", "local"]


def test_fstab_entries_and_which_should_be_mounted() -> None:
    entries = parse_fstab(read("mounts", "node1.fstab")).entries
    assert [(e.target, e.fstype, should_be_mounted(e)) for e in entries] == [
        ("/mnt/shared", "fuse.sshfs", True),
        ("/mnt/nfs-missing", "nfs4", True),  # nofail/_netdev do not excuse a missing mount
        ("/mnt/local", "none", True),  # a bind mount
        ("/mnt/scratch-missing", "tmpfs", False),  # noauto
    ]
    assert entries[1].line == 3 and "nofail" in entries[1].options


def test_fstab_swap_comments_and_short_lines() -> None:
    out = parse_fstab("# c\n\nUUID=ab none swap sw 0 0\n/dev/sda1 /boot ext4\nbroken line\n")
    assert [e.target for e in out.entries] == ["none", "/boot"]
    assert not should_be_mounted(out.entries[0]) and should_be_mounted(out.entries[1])
    assert out.entries[1].options == ["defaults"] and out.warnings == [
        "line 5: fewer than 3 fields: broken line"
    ]


def test_octal_escapes_and_not_a_table() -> None:
    line = r"36 35 0:40 / /mnt/with\040space rw - nfs4 srv:/a\040b rw" + "\n"
    m = parse_mounts(line).mounts[0]
    assert (m.target, m.source) == ("/mnt/with space", "srv:/a b")
    with pytest.raises(ParseError):
        parse_mounts("hello\nworld\n")


def test_auto_master() -> None:
    points, others = parse_auto_master(
        "# maps\n/shared /etc/auto.shared --timeout=60\n/- /etc/auto.direct\n+auto.master\n"
    )
    assert points == ["/shared"] and others == ["/-", "+auto.master"]


def test_classify() -> None:
    assert {classify(t) for t in ("nfs4", "lustre", "wekafs", "gpfs", "beegfs", "ceph", "virtiofs")} == {
        "shared"
    }
    assert classify("fuse.mountpoint-s3") == "object" and classify("xfs") == "local"
    assert classify("autofs") == "autofs" and classify("weirdfs") == "other"


@pytest.mark.parametrize("probe", ["storage_discover", "storage_fio", "storage_smallfiles"])
def test_scripts_pick_shared_filesystems_with_the_parsers_list(probe: str) -> None:
    text = (probes_dir() / probe / "run.sh").read_text(encoding="utf-8")
    found = re.search(r'^SHARED_TYPES="([^"]+)"$', text, re.M)
    assert found, f"{probe}/run.sh has no SHARED_TYPES line"
    assert set(found.group(1).split()) == set(SHARED_TYPES)


# -------------------------------------------------------------------------------------------------- fio

FIO = sorted(p.name for p in (DATA / "fio").glob("fio-3.33-*.json") if "einval" not in p.name)


@pytest.mark.parametrize("name", FIO)
def test_fio_json_documents(name: str) -> None:
    text = read("fio", name)
    assert detect_fio(text) > 0.5
    out = parse_fio(text)
    assert len(out.documents) == 1 and out.documents[0].version == "fio-3.33"
    job = out.documents[0].jobs[0]
    assert job.error == 0
    test = job.name
    moved = job.write if test == "seqwrite" else job.read
    assert moved is not None and moved.io_bytes > 0 and moved.bw_bytes_per_s > 0
    assert (job.read if test == "seqwrite" else job.write) is None  # the other direction moved nothing
    assert moved.clat_p99_us is not None and moved.clat_p50_us is not None
    assert moved.clat_p50_us <= moved.clat_p99_us
    assert job.options["direct"] == ("1" if "direct1" in name else "0")
    # bw_bytes (B/s) and bw (KiB/s) agree
    assert moved.iops > 0


def test_fio_refused_o_direct_prints_its_error_before_the_json() -> None:
    out = parse_fio(read("fio", "fio-3.33-ramfs-seqwrite-direct1-einval.json"))
    doc = out.documents[0]
    assert doc.messages and doc.messages[0].startswith("fio: pid=") and "err=22" in doc.messages[0]
    job = doc.jobs[0]
    assert job.error == 22 and job.write is None and job.read is None


def test_fio_srun_l_output_is_split_by_task() -> None:
    text = read("fio", "fio-3.33-srun-l-N4-sshfs-seqwrite.txt")
    tasks = split_tasks(text)
    assert sorted(tasks) == [0, 1, 2, 3]
    hosts = set()
    for stream in tasks.values():
        job = parse_fio(stream).documents[0].jobs[0]
        assert job.write is not None and job.write.bw_bytes_per_s > 0
        hosts.add(job.options["filename"].split(".")[1])
    assert hosts == {"node1", "node2", "node3", "node4"}
    with pytest.raises(ParseError):
        parse_fio(text)  # interleaved: not one document until split


def test_fio_concatenated_documents_and_garbage() -> None:
    one = read("fio", "fio-3.33-tmpfs-seqwrite-direct1.json")
    out = parse_fio("noise line\n" + one + "\n" + one + "\ntrailing words\n")
    assert len(out.documents) == 2 and out.documents[0].messages == ["noise line"]
    assert out.trailing == ["trailing words"]
    cut = parse_fio(one + "\n" + one[: len(one) // 2])
    assert len(cut.documents) == 1 and cut.warnings
    with pytest.raises(ParseError):
        parse_fio("fio: no JSON here\n")


# ------------------------------------------------------------------------------------------ nvbandwidth


def test_nvbandwidth_v08_sm_one_gpu() -> None:
    text = read("nvbandwidth", "a100-40gb-v0.8-h2d-sm-b512-issue42.txt")
    assert detect_nvbandwidth(text) > 0.5
    out = parse_nvbandwidth(text)
    assert (out.version, out.cuda_runtime, out.driver) == ("v0.8", "12060", "560.35.05")
    assert out.devices == {0: "NVIDIA A100-SXM4-40GB"}
    (mat,) = out.matrices
    assert (mat.test, mat.unit, mat.columns, mat.rows, mat.sum) == (
        "host_to_device_memcpy_sm",
        "GB/s",
        [0],
        {0: [25.13]},
        25.13,
    )


def test_nvbandwidth_v08_excerpt_without_header() -> None:
    mat = parse_nvbandwidth(read("nvbandwidth", "a6000x6-v0.8-d2d-read-ce-issue50.txt")).matrices[0]
    assert mat.test == "device_to_device_memcpy_read_ce" and len(mat.rows) == 6
    assert mat.rows[0][0] is None and mat.rows[0][1] == 26.34
    assert sum(v for row in mat.rows.values() for v in row if v is not None) == pytest.approx(
        mat.sum, abs=0.1
    )


def test_nvbandwidth_v010_bidirectional_matrices_stay_apart() -> None:
    out = parse_nvbandwidth(read("nvbandwidth", "b300x7-v0.10.0-ce-default.txt"))
    assert out.cuda_runtime == "13.3 (13030)" and not out.devices and not out.warnings
    names = [m.name for m in out.matrices if m.test == "device_to_device_bidirectional_memcpy_read_ce"]
    assert names == [
        "device_to_device_bidirectional_memcpy_read_ce_read1",
        "device_to_device_bidirectional_memcpy_read_ce_read2",
        "device_to_device_bidirectional_memcpy_read_ce_total",
    ]
    h2d = next(m for m in out.matrices if m.test == "host_to_device_memcpy_ce")
    assert len(h2d.rows[0]) == 7 and h2d.cv == 0.0
    total = next(m for m in out.matrices if m.name.endswith("read_ce_total"))
    assert total.cv == 0.0 and total.rows[0][1] == 1521.22


def test_nvbandwidth_five_runs_in_one_text() -> None:
    out = parse_nvbandwidth(read("nvbandwidth", "h100x8-v0.10.0-five-runs.txt"))
    assert [m.test for m in out.matrices] == [
        "device_to_device_latency_sm",
        "device_to_device_memcpy_read_ce",
        "device_to_device_memcpy_write_ce",
        "device_to_host_memcpy_ce",
        "host_to_device_memcpy_ce",
    ]
    assert out.matrices[0].unit == "ns" and out.matrices[1].unit == "GB/s"
    with pytest.raises(ParseError):
        parse_nvbandwidth("Running nothing.\n")
