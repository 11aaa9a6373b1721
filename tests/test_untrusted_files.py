"""Files handed to clustermax by someone else, and places it is asked to write to, through the real CLI.

Bundles as FIFOs, links to /dev/zero, numbers no measurement has; rubric references pointing anywhere;
report targets that are devices or sit beside a planted link; --out directories that are not empty, are
links, or cannot exist. Each ends in one line and exit 2 (nothing blocks, nothing grows without bound,
nothing outside the target is written).
"""

from __future__ import annotations

import copy
import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import require

CLI = str(Path(sys.executable).parent / "clustermax")
BUNDLE = Path(__file__).parent / "data" / "bundles" / "h100-healthy-ndr" / "bundle.json"
RUBRICS = Path(__file__).parents[1] / "rubrics"
MEMORY_LIMIT = 1024 * 1024 * 1024


def run(*args: str, cwd: Path | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    import resource

    def limit() -> None:  # a read that is not bounded fails this test instead of filling the machine
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))

    return subprocess.run(
        [CLI, *args], capture_output=True, text=True, cwd=cwd, timeout=timeout, preexec_fn=limit, check=False
    )


def one_error_line(proc: subprocess.CompletedProcess[str], fragment: str, code: int = 2) -> str:
    assert proc.returncode == code, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr and "unexpected" not in proc.stderr
    first = proc.stderr.splitlines()[0]
    assert first.startswith("error: ") and fragment in first, proc.stderr
    return first


def _bundle_with(tmp_path: Path, name: str, number: str) -> Path:
    """The healthy H100 bundle with every NCCL busbw (or one duration) replaced by ``number``, verbatim."""
    data = json.loads(BUNDLE.read_text())
    changed = copy.deepcopy(data)
    for res in changed["results"]:
        for m in res["measurements"]:
            if m["metric"].startswith("nccl.") and isinstance(m["value"], (int, float)):
                m["value"] = "__X__"
    out = tmp_path / name
    out.mkdir()
    (out / "bundle.json").write_text(json.dumps(changed).replace('"__X__"', number))
    return out


@pytest.mark.parametrize(
    ("number", "fragment"),
    [
        ("NaN", "nan is out of range"),
        ("Infinity", "inf is out of range"),
        ("1e308", "1e+308 is out of range"),
        ("9" * 400, "an integer of about 401 digits is out of range"),
        ("9" * 5000, "an integer of 5000 digits is out of range"),
    ],
)
@pytest.mark.parametrize(
    "command", [("score",), ("report", "--format", "html"), ("report", "--format", "csv")]
)
def test_numbers_no_measurement_has_are_refused(
    tmp_path: Path, number: str, fragment: str, command: tuple[str, ...]
) -> None:
    bundle = _bundle_with(tmp_path, "b", number)
    line = one_error_line(run(*command, str(bundle)), fragment)
    assert str(bundle / "bundle.json") in line


def test_a_fifo_bundle_does_not_block(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    os.mkfifo(tmp_path / "b" / "bundle.json")
    t0 = time.monotonic()
    one_error_line(run("score", str(tmp_path / "b"), timeout=30), "is a FIFO (named pipe)")
    assert time.monotonic() - t0 < 20


@pytest.mark.parametrize("command", [("score",), ("report",), ("compare",)])
def test_a_bundle_linked_to_dev_zero_is_refused(tmp_path: Path, command: tuple[str, ...]) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "bundle.json").symlink_to("/dev/zero")
    one_error_line(run(*command, str(tmp_path / "b")), "is a character device; clustermax reads only regular")


def _rubric_with_references(tmp_path: Path, references: str) -> Path:
    text = (RUBRICS / "clustermax-v1.yaml").read_text()
    assert "\nreferences: references.yaml\n" in text
    rubric = tmp_path / "rubric.yaml"
    rubric.write_text(text.replace("\nreferences: references.yaml\n", f"\nreferences: {references}\n"))
    return rubric


def test_rubric_references_outside_its_folder_are_refused_and_never_shown(tmp_path: Path) -> None:
    secret = tmp_path / "elsewhere" / "shadow"
    secret.parent.mkdir()
    secret.write_text("root:$6$secrethash:19000:0:99999:7:::\n")
    (tmp_path / "rub").mkdir()
    for ref in (str(secret), "../elsewhere/shadow", "/etc/passwd", "/dev/zero"):
        rubric = _rubric_with_references(tmp_path / "rub", ref)
        proc = run("rubric", "validate", str(rubric))
        assert proc.returncode == 2
        assert f"references: {ref!r} is outside the rubric's folder; refusing to read it" in proc.stdout
        assert "secrethash" not in proc.stdout + proc.stderr and "root:" not in proc.stdout + proc.stderr
        one_error_line(run("score", str(BUNDLE), "--rubric", str(rubric)), "is outside the rubric's folder")


def test_references_next_to_the_rubric_still_work(tmp_path: Path) -> None:
    (tmp_path / "refs").mkdir()
    (tmp_path / "refs" / "hw.yaml").write_text((RUBRICS / "references.yaml").read_text())
    rubric = _rubric_with_references(tmp_path, "refs/hw.yaml")
    proc = run("rubric", "validate", str(rubric))
    assert proc.returncode == 0 and ": ok (" in proc.stdout


def _device(path: Path) -> Path:
    require("character devices (mknod)", [] if os.geteuid() == 0 else ["root"])
    os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(1, 7))  # like /dev/full
    return path


def test_report_out_never_replaces_a_device_or_follows_a_planted_link(tmp_path: Path) -> None:
    full = _device(tmp_path / "full")
    one_error_line(run("report", str(BUNDLE), "--format", "markdown", "--out", str(full)), "character device")
    assert stat.S_ISCHR(full.lstat().st_mode)
    victim = tmp_path / "victim"
    victim.write_text("precious")
    (tmp_path / ".rep.md.tmp").symlink_to(victim)
    proc = run("report", str(BUNDLE), "--format", "markdown", "--out", str(tmp_path / "rep.md"))
    assert proc.returncode == 0, proc.stderr
    assert victim.read_text() == "precious"
    assert (tmp_path / "rep.md").read_text().startswith("# clustermax report")
    (tmp_path / "link.md").symlink_to(victim)
    one_error_line(run("report", str(BUNDLE), "--out", str(tmp_path / "link.md")), "is a symbolic link")
    assert victim.read_text() == "precious"
    one_error_line(
        run("report", str(BUNDLE), "--out", "/proc/self/nope/r.md"), "cannot write the report folder"
    )


def test_import_bundle_is_written_safely(tmp_path: Path) -> None:
    log = Path(__file__).parent / "data" / "nccl-tests" / "h100-2node-allreduce-mpirun.log"
    out = tmp_path / "imp"
    out.mkdir()
    victim = tmp_path / "victim"
    victim.write_text("precious")
    (out / ".bundle.json.tmp").symlink_to(victim)
    proc = run("import", "--provider", "p", "--cluster", "c", "--out", str(out), str(log))
    assert proc.returncode == 0, proc.stderr
    assert (
        victim.read_text() == "precious" and json.loads((out / "bundle.json").read_text())["kind"] == "import"
    )
    one_error_line(run("import", "--provider", "p", "--cluster", "c", "--out", "/proc/x", str(log)),
                   "cannot write the bundle folder")  # fmt: skip


@pytest.mark.parametrize("source", ["/dev/zero", "fifo"])
def test_parse_and_import_inputs_are_bounded(tmp_path: Path, source: str) -> None:
    path = source
    if source == "fifo":
        path = str(tmp_path / "fifo")
        os.mkfifo(path)
    one_error_line(run("parse", "nccl-tests", path, timeout=30), "clustermax reads only regular files")
    proc = run("import", "--provider", "p", "--cluster", "c", "--out", str(tmp_path / "i"), path, timeout=30)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "clustermax reads only regular files" in proc.stdout + proc.stderr


def test_audit_out_that_is_not_empty_a_link_or_impossible(tmp_path: Path) -> None:
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("mine")
    line = one_error_line(
        run("audit", "--local", "--probes", "system_info", "--out", str(busy)), "is not empty"
    )
    assert "notes.txt" in line
    assert sorted(p.name for p in busy.iterdir()) == [".clustermax.lock", "notes.txt"]
    proc = run("audit", "--local", "--probes", "system_info", "--out", str(busy), "--force")
    assert proc.returncode == 0, proc.stderr
    assert (busy / "bundle.json").exists() and (busy / "notes.txt").read_text() == "mine"
    # a directory that holds an audit is never written into again, --force or not
    again = run("audit", "--local", "--out", str(busy), "--force")
    one_error_line(again, "already holds an audit")
    assert "--resume" in again.stderr
    link = tmp_path / "etc-link"
    link.symlink_to("/etc")
    one_error_line(run("audit", "--local", "--out", str(link)), "is a symbolic link")
    one_error_line(run("audit", "--local", "--out", "/proc/x"), "/proc/x: cannot write the audit directory")
    assert not Path("/etc/journal.jsonl").exists() and not Path("/etc/bundle.json").exists()


def test_resume_needs_what_was_audited(tmp_path: Path) -> None:
    out = tmp_path / "o"
    assert run("audit", "--local", "--probes", "system_info", "--out", str(out)).returncode == 0
    proc = run("audit", "--resume", str(out))
    one_error_line(proc, "--resume needs what the audit audited, again")
    assert "never from the audit directory" in proc.stderr
    one_error_line(run("audit", "--resume", str(out), "someone@elsewhere"), "is an audit of --local")
    one_error_line(run("audit", "--resume", str(out), "--local", "--probes", "gpu_health"),
                   "an audit is finished as it was started")  # fmt: skip
    done = run("audit", "--resume", str(out), "--local")
    assert done.returncode == 0, done.stderr
    one_error_line(run("audit", "--resume", str(tmp_path), "--local"), "holds no audit to resume")


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"concurrency": "lots"}, "options.concurrency: Input should be a valid integer"),
        ({"mode": ["local"]}, "options.mode: Input should be 'local', 'inventory' or 'targets'"),
        ({"max_nodes": 0}, "options.max_nodes: Input should be greater than or equal to 1"),
        ({"probes": "system_info"}, "options.probes: Input should be a valid list"),
    ],
)
def test_a_damaged_journal_is_a_clear_error(tmp_path: Path, change: dict[str, object], fragment: str) -> None:
    out = tmp_path / "o"
    assert run("audit", "--local", "--probes", "system_info", "--out", str(out)).returncode == 0
    journal = out / "journal.jsonl"
    records = [json.loads(line) for line in journal.read_text().splitlines()]
    records[0]["data"]["options"].update(change)
    journal.write_text("".join(json.dumps(r) + "\n" for r in records[:1]))
    line = one_error_line(run("audit", "--resume", str(out), "--local"), fragment)
    assert str(journal) in line


@pytest.mark.parametrize(
    ("key", "fragment"),
    [
        ("/dev/zero", "identity file (-i) is a character device"),
        ("/no/such/key", "No such file or directory"),
    ],
)
def test_identity_file_given_on_the_command_line_is_checked_first(key: str, fragment: str) -> None:
    one_error_line(run("audit", "someone@127.0.0.1", "-i", key, timeout=60), fragment)


def test_a_bad_ssh_config_is_one_line_that_never_shows_the_file(tmp_path: Path) -> None:
    cfg = tmp_path / "config"
    cfg.write_text("Host x\n  HostName y\nroot:$6$secrethash:19000:0:99999:7:::\n")
    proc = run("audit", "x", "--ssh-config", str(cfg), "--out", str(tmp_path / "o"))
    line = one_error_line(proc, f"{cfg}:3: not a valid ssh_config line (the file is not shown)")
    assert "secrethash" not in proc.stderr and "19000" not in line
    for target in ("/dev/zero", str(tmp_path / "fifo")):
        if target.endswith("fifo"):
            os.mkfifo(target)
        one_error_line(
            run("audit", "x", "--ssh-config", target, timeout=30), "clustermax reads only regular files"
        )


def test_proxy_jump_loops_are_named(tmp_path: Path) -> None:
    cfg = tmp_path / "config"
    cfg.write_text("Host hopa\n  ProxyJump hopb\nHost hopb\n  ProxyJump hopa\n")
    inv = tmp_path / "inv.yaml"
    inv.write_text("cluster: c\nlogin: {name: login1, host: 10.0.0.1, proxy_jump: hopa}\n")
    one_error_line(run("audit", "--inventory", str(inv), "--ssh-config", str(cfg)),
                   "ProxyJump loop: 10.0.0.1 -> hopa -> hopb -> hopa")  # fmt: skip
    one_error_line(run("audit", "hopa", "--ssh-config", str(cfg)), "ProxyJump loop: hopa -> hopb -> hopa")


def test_inventory_key_and_known_hosts_files_are_checked_with_their_line(tmp_path: Path) -> None:
    inv = tmp_path / "inv.yaml"
    inv.write_text("cluster: c\nlogin: a\ncompute:\n  - {host: b, identity_file: /dev/zero}\n")
    one_error_line(
        run("audit", "--inventory", str(inv)), f"{inv}:4: compute[0].identity_file: /dev/zero: the"
    )
    inv.write_text("cluster: c\nlogin: a\nknown_hosts: [missing_kh]\n")
    one_error_line(
        run("audit", "--inventory", str(inv)), f"{inv}:3: known_hosts[0]: {tmp_path / 'missing_kh'}"
    )
