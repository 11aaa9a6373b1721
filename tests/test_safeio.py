"""clustermax.safeio on real files, links, FIFOs, devices and a full (tmpfs) disk."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from clustermax.errors import ConfigError, OutputError, UsageError
from clustermax.safeio import (
    AppendLog,
    DirLock,
    atomic_write,
    bad_number,
    check_regular_file,
    parse_json,
    read_bytes,
    read_text,
)
from tests.conftest import require


def _char_device(path: Path, minor: int = 7) -> Path:
    """A character device node like /dev/full (1,7): what a careless writer would replace."""
    require("character devices (mknod)", [] if os.geteuid() == 0 else ["root"])
    os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(1, minor))
    return path


@contextlib.contextmanager
def small_tmpfs(where: Path, size: str = "64k") -> Iterator[Path]:
    """A tmpfs of ``size`` mounted at ``where`` (a disk that fills up), unmounted afterwards."""
    require("a tmpfs mount", [] if os.geteuid() == 0 else ["root"])
    where.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], check=True)
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def fill(directory: Path, leave: int) -> Path:
    """Fill the file system of ``directory`` but ``leave`` bytes (whole 4 KiB pages)."""
    free = os.statvfs(directory).f_bavail * os.statvfs(directory).f_frsize
    filler = directory / "filler"
    with filler.open("wb") as fh:
        with contextlib.suppress(OSError):
            fh.write(b"\0" * max(0, free - leave))
    return filler


def test_a_fifo_is_refused_at_once(tmp_path: Path) -> None:
    fifo = tmp_path / "bundle.json"
    os.mkfifo(fifo)
    t0 = time.monotonic()
    with pytest.raises(ConfigError, match="is a FIFO"):
        read_bytes(fifo, what="bundle")
    assert time.monotonic() - t0 < 2  # a plain open() would block until a writer came


@pytest.mark.parametrize("target", ["/dev/zero", "/dev/urandom", "/proc/self"])
def test_devices_and_directories_are_refused_even_through_a_link(tmp_path: Path, target: str) -> None:
    link = tmp_path / "inventory.yaml"
    link.symlink_to(target)
    with pytest.raises(ConfigError) as info:
        read_text(link, what="inventory")
    assert "clustermax reads only regular files" in info.value.message
    assert str(link) in info.value.message


def test_size_cap_and_a_link_to_a_regular_file(tmp_path: Path) -> None:
    big = tmp_path / "big"
    big.write_bytes(b"x" * 5 * 1024)
    with pytest.raises(ConfigError, match="the file is 5 KiB, more than the 4 KiB clustermax reads"):
        read_bytes(big, limit=4 * 1024)
    link = tmp_path / "link"
    link.symlink_to(big)  # a link to a regular file is fine (dotfiles are often links)
    assert read_bytes(link, limit=5 * 1024) == b"x" * 5 * 1024


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        read_text(tmp_path / "nope.yaml", what="rubric")
    assert info.value.detail == "cannot read the rubric: No such file or directory"


@pytest.mark.parametrize(
    ("data", "fragment", "line"),
    [
        ("cluster: c\n".encode("utf-16"), "is UTF-16 text", None),
        ("cluster: c\n".encode("utf-16-be").join([b"\xfe\xff", b""]), "is UTF-16 text", None),
        (b"cluster: ok\nprovider: caf\xe9\n", "not UTF-8 text (byte 0xe9)", 2),
    ],
)
def test_text_must_be_utf8(tmp_path: Path, data: bytes, fragment: str, line: int | None) -> None:
    path = tmp_path / "inv.yaml"
    path.write_bytes(data)
    with pytest.raises(ConfigError) as info:
        read_text(path, what="inventory")
    assert fragment in info.value.detail and info.value.line == line
    bom = tmp_path / "bom.yaml"
    bom.write_bytes(b"\xef\xbb\xbfcluster: c\n")
    assert read_text(bom) == "cluster: c\n"


def test_check_regular_file(tmp_path: Path) -> None:
    key = tmp_path / "id"
    key.write_text("k")
    assert check_regular_file(key) == key
    with pytest.raises(ConfigError, match="character device"):
        check_regular_file("/dev/zero", what="identity file")
    with pytest.raises(ConfigError, match="No such file"):
        check_regular_file(tmp_path / "missing", what="identity file")


def test_atomic_write_refuses_devices_fifos_links_and_directories(tmp_path: Path) -> None:
    full = _char_device(tmp_path / "full")
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    victim = tmp_path / "victim"
    victim.write_text("precious")
    link = tmp_path / "link.md"
    link.symlink_to(victim)
    (tmp_path / "dir").mkdir()
    for target, kind in ((full, "character device"), (fifo, "FIFO"), (link, "symbolic link"),
                         (tmp_path / "dir", "directory")):  # fmt: skip
        with pytest.raises(OutputError, match=kind):
            atomic_write(target, "report")
    assert stat.S_ISCHR(full.lstat().st_mode) and stat.S_ISFIFO(fifo.lstat().st_mode)
    assert victim.read_text() == "precious" and link.is_symlink()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dir", "fifo", "full", "link.md", "victim"]


def test_a_planted_temp_file_or_link_is_never_followed(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("precious")
    for name in (".report.md.tmp", f".report.md.{os.getpid()}.tmp"):
        (tmp_path / name).symlink_to(victim)
    out = atomic_write(tmp_path / "report.md", "# report\n")
    assert out.read_text() == "# report\n" and not out.is_symlink()
    assert victim.read_text() == "precious"
    # only the target and the planted links are there: the temporary file was renamed, not left behind
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == sorted([".report.md.tmp", f".report.md.{os.getpid()}.tmp", "report.md", "victim"])
    mode = out.stat().st_mode & 0o777
    umask = os.umask(0)
    os.umask(umask)
    assert mode == 0o666 & ~umask


def test_atomic_write_on_a_full_disk_keeps_the_old_file(tmp_path: Path) -> None:
    with small_tmpfs(tmp_path / "disk") as disk:
        target = disk / "bundle.json"
        atomic_write(target, "old\n")
        filler = fill(disk, leave=4096)
        with pytest.raises(OutputError) as info:
            atomic_write(target, "x" * 200_000, what="bundle")
        assert info.value.message == f"{target}: no space left on the device while writing the bundle"
        assert target.read_text() == "old\n"
        assert sorted(p.name for p in disk.iterdir()) == ["bundle.json", "filler"]  # no temp file left
        filler.unlink()


def test_append_log_never_ends_in_half_a_record(tmp_path: Path) -> None:
    with small_tmpfs(tmp_path / "disk") as disk:
        log = AppendLog(disk / "journal.jsonl", sync=True)
        fill(disk, leave=8192)
        written = 0
        with pytest.raises(OutputError, match="no space left on the device while writing the journal"):
            for i in range(10_000):
                log.append((json.dumps({"i": i, "pad": "y" * 1000}) + "\n").encode())
                written += 1
        log.close()
        lines = (disk / "journal.jsonl").read_bytes().split(b"\n")
        assert lines[-1] == b""  # ends with a newline: the failed record was cut back whole
        assert [json.loads(line)["i"] for line in lines[:-1]] == list(range(written))
        assert written > 0


def test_append_log_refuses_links_and_devices(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("precious")
    (tmp_path / "journal.jsonl").symlink_to(victim)
    with pytest.raises(OutputError, match="symbolic link"):
        AppendLog(tmp_path / "journal.jsonl")
    assert victim.read_text() == "precious"
    with pytest.raises(OutputError, match="character device"):
        AppendLog(_char_device(tmp_path / "dev"))


def test_dir_lock_is_exclusive_across_processes(tmp_path: Path) -> None:
    code = (
        "import sys, time; from clustermax.safeio import DirLock; "
        f"DirLock({str(tmp_path)!r}).acquire(); print('locked', flush=True); time.sleep(30)"
    )
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        t0 = time.monotonic()
        with pytest.raises(UsageError) as info:
            DirLock(tmp_path).acquire()
        assert time.monotonic() - t0 < 1
        assert info.value.message == f"{tmp_path} is in use by another clustermax audit (pid {holder.pid})"
    finally:
        holder.kill()
        holder.wait()
    with DirLock(tmp_path):  # free again once the holder is gone (even killed)
        pass


def test_dir_lock_within_one_process_and_threads(tmp_path: Path) -> None:
    first = DirLock(tmp_path).acquire()
    errors: list[BaseException] = []

    def second() -> None:
        try:
            DirLock(tmp_path).acquire()
        except UsageError as err:
            errors.append(err)

    t = threading.Thread(target=second)
    t.start()
    t.join()
    assert len(errors) == 1
    first.release()


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("[NaN]", "NaN is not a number clustermax accepts"),
        ('{"a": Infinity}', "Infinity is not a number"),
        ("[1e400]", "the number 1e400 is out of range"),
        ("[" + "9" * 400 + "]", "an integer of 400 digits is out of range"),
        ("[" + "9" * 5000 + "]", "an integer of 5000 digits is out of range"),
        ("[9223372036854775808]", "an integer of 19 digits is out of range"),
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
        ('{"a": 1,}', "not valid JSON"),
    ],
)
def test_parse_json_bounds(text: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_json(text, "f.json")
    assert fragment in info.value.detail


def test_parse_json_accepts_ordinary_numbers() -> None:
    assert parse_json('{"a": [9223372036854775807, -1.5e18, 0.1]}', "f") == {
        "a": [9223372036854775807, -1.5e18, 0.1]
    }


def test_bad_number_walks_models_and_data() -> None:
    from clustermax.models import Measurement, Unit

    assert bad_number({"a": [1, {"b": 2.5}], "c": True}) is None
    assert bad_number({"a": [1, {"b": float("inf")}]}) == ("a[1].b", float("inf"))
    m = Measurement(metric="nccl.busbw", value=float("nan"), unit=Unit.GBPS)
    where, value = bad_number([m])  # type: ignore[misc]
    assert where == "[0].value" and value != value
    deep: list[object] = []
    cur = deep
    for _ in range(50_000):  # no recursion: a deep tree is walked, not a RecursionError
        nxt: list[object] = []
        cur.append(nxt)
        cur = nxt
    cur.append(10**30)
    assert bad_number(deep) is not None


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("results", 0, "measurements", 0, "value"), float("nan")),
        (("results", 0, "duration_s"), float("inf")),
        (("results", 0, "facts", "gpus", 1), 10**40),
        (("commands", 0, "exit_code"), 2**63),
        (("options", "concurrency"), -(2**64)),
    ],
)
def test_bundle_bad_number_finds_numbers_where_they_can_be(
    path: tuple[str | int, ...], value: object
) -> None:
    from clustermax.models import Bundle
    from clustermax.safeio import bundle_bad_number

    data = json.loads(
        (Path(__file__).parent / "data" / "bundles" / "h100-healthy-ndr" / "bundle.json").read_text()
    )
    bundle = Bundle.model_validate(data)
    assert bundle_bad_number(bundle) is None and bad_number(bundle) is None
    data["results"][0]["facts"]["gpus"] = [1, 2]
    data["results"][0]["measurements"] = data["results"][0]["measurements"] or [
        {"metric": "x", "value": 1, "unit": "count"}
    ]
    node: object = data
    for key in path[:-1]:
        node = node[key]  # type: ignore[index]
    node[path[-1]] = value  # type: ignore[index]
    where = "".join(f"[{k}]" if isinstance(k, int) else f".{k}" for k in path).lstrip(".")
    found = bundle_bad_number(Bundle.model_validate(data))
    assert found is not None and found[0] == where
    assert found[1] == value or (found[1] != found[1] and value != value)


def test_errno_names_for_write_errors(tmp_path: Path) -> None:
    from clustermax.safeio import write_error

    err = write_error(tmp_path / "x", OSError(errno.EACCES, "Permission denied"), "report")
    assert err.message == f"{tmp_path / 'x'}: cannot write the report: Permission denied"
    assert err.exit_code == 2
