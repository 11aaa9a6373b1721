"""run_probe on the real local transport: script assembly, quoting, timeouts, endpoints, parser errors."""

from __future__ import annotations

import hashlib
import http.server
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from clustermax.engine.runner import ProbeContext, build_script, remote_command, run_probe
from clustermax.models import EndpointSpec, ProbeStatus, SubStatus
from clustermax.probes.registry import PROBES
from clustermax.probes.specs import load_probe_spec, load_probe_specs
from clustermax.transport import LocalTransport
from tests.engine import raising_parser
from tests.engine.probes_fixture import make_probes_root

NASTY = [
    "; touch {canary}",
    "$(touch {canary})",
    "`touch {canary}`",
    "' ; touch {canary} ; '",
    '" ; touch {canary} ; "',
    "a b\nc; touch {canary}",
    "\\'$(touch {canary})\\'",
]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return make_probes_root(tmp_path)


def _spec(root: Path, probe: str):  # type: ignore[no-untyped-def]
    return load_probe_spec(root / probe)


def test_remote_command_is_fixed_and_the_timeout_travels_in_the_supervisor_line(root: Path) -> None:
    assert remote_command(30) == remote_command(5, login_shell=True) == "bash -s"
    spec = _spec(root, "echo_params")
    for timeout, login, line in (
        (30, False, "cmx_supervise 30 0; exit $?"),
        (2.1, True, "cmx_supervise 3 1; exit $?"),
    ):
        script = build_script(spec.model_copy(update={"timeout_s": timeout}), "h", {},
                              ProbeContext(probes_root=root, login_shell=login))  # fmt: skip
        lines = script.splitlines()
        # the outer bash reads up to this line; everything after it is the inner script
        assert lines[lines.index("# clustermax context") - 1] == line
        assert script.index("cmx_supervise() {") < script.index(line) < script.index("export CMX_HOST=h")


@pytest.mark.parametrize("value", NASTY)
def test_param_values_arrive_verbatim_and_run_nothing(root: Path, tmp_path: Path, value: str) -> None:
    canary = tmp_path / "canary"
    text = value.format(canary=canary)
    ctx = ProbeContext(role="login", platform="bare", nodes=["n1", text], probes_root=root)
    commands, result = run_probe(
        LocalTransport("h"),
        _spec(root, "echo_params"),
        text,
        {"text": text, "count": 3, "flag": True, "items": ["a", text]},
        ctx,
    )
    out = commands[0].stdout
    assert f"TEXT=[{text}]" in out
    assert f"HOST=[{text}]" in out
    assert "COUNT=[3]" in out and "FLAG=[1]" in out
    assert f"ITEMS=[a {text}]" in out
    assert f"NODES=[n1 {text}]" in out
    assert not canary.exists()
    assert result.status == ProbeStatus.OK
    assert commands[0].command == "bash -s"


def test_script_layout_and_digest(root: Path) -> None:
    spec = _spec(root, "echo_params")
    ctx = ProbeContext(probes_root=root)
    script = build_script(spec, "h1", {"text": "x", "count": 2}, ctx)
    lines = script.splitlines()
    assert lines[lines.index("# clustermax context") + 1] == "export CMX_HOST=h1"
    assert "export CMX_PARAM_TEXT=x" in lines and "export CMX_PARAM_COUNT=2" in lines
    assert script.index("CMX_PARAM_TEXT") < script.index("cmx_section() {") < script.index("printf 'HOST=")
    commands, _ = run_probe(LocalTransport("h1"), spec, "h1", {"text": "x", "count": 2}, ctx)
    assert commands[0].script_sha256 == hashlib.sha256(script.encode()).hexdigest()
    assert commands[0].id == "h1/echo_params/main"


def test_bad_param_name_is_refused(root: Path) -> None:
    with pytest.raises(ValueError, match="not a valid identifier"):
        build_script(_spec(root, "echo_params"), "h", {"x; rm -rf /": 1}, ProbeContext(probes_root=root))


def test_timeout_cuts_the_command_and_kills_the_process_group(root: Path) -> None:
    tag = f"{os.getpid()}{int(time.time())}"
    t0 = time.monotonic()
    commands, result = run_probe(
        LocalTransport("h"), _spec(root, "hang"), "h", {"tag": tag}, ProbeContext(probes_root=root)
    )
    assert time.monotonic() - t0 < 8
    assert result.status == ProbeStatus.ERROR and result.substatus == SubStatus.TIMEOUT
    assert commands[0].exit_code == 124 and commands[0].timed_out
    assert commands[0].stderr.endswith("@@CMX:TIMEOUT 2@@\n")
    time.sleep(0.2)
    pid = int(Path(f"/tmp/cmx-hang-pid-{tag}").read_text())
    assert not Path(f"/proc/{pid}").exists()
    assert Path(f"/tmp/cmx-hang-cleaned-{tag}").exists()  # the prelude's cleanup ran on TERM
    procs = [p for p in Path("/proc").iterdir() if p.name.isdigit()]
    cmdlines = []
    for p in procs:
        try:
            cmdlines.append((p / "cmdline").read_bytes())
        except OSError:
            pass
    assert not any(f"3000.{tag}".encode() in c for c in cmdlines)


def test_stop_event_interrupts_and_cleanup_runs(root: Path) -> None:
    tag = f"7{os.getpid()}{int(time.time())}"
    stop = threading.Event()
    threading.Timer(0.5, stop.set).start()
    spec = _spec(root, "hang").model_copy(update={"timeout_s": 60})
    commands, result = run_probe(
        LocalTransport("h"), spec, "h", {"tag": tag}, ProbeContext(stop=stop, probes_root=root)
    )
    assert result.substatus == SubStatus.INTERRUPTED
    assert commands[0].error == "interrupted"
    assert Path(f"/tmp/cmx-hang-cleaned-{tag}").exists()


def test_output_is_capped(root: Path) -> None:
    raw = LocalTransport("h").run(
        "bash -s", stdin=b"head -c 3000000 /dev/zero; echo err >&2", timeout_s=20, max_output=1000
    )
    assert len(raw.stdout) == 1000 and raw.stdout_truncated and raw.exit_code == 0
    assert raw.stderr == b"err\n" and not raw.stderr_truncated


def test_parser_exception_becomes_parse_error(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(PROBES, "system_info", raising_parser)
    _, result = run_probe(LocalTransport("h"), _spec(root, "marker"), "h", {}, ProbeContext(probes_root=root))
    assert result.status == ProbeStatus.ERROR and result.substatus == SubStatus.PARSE_ERROR
    assert "RuntimeError" in result.message


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = f"# path {self.path}\nup 1\n".encode()
        self.send_response(200 if self.path == "/metrics" else 404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def http_port() -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()


def test_endpoints_are_fetched_as_extra_commands(root: Path, http_port: int) -> None:
    spec = _spec(root, "echo_params").model_copy(
        update={
            "endpoints": [
                EndpointSpec(name="exporter", port_param="count", path="/metrics"),
                EndpointSpec(name="missing", port_param="count", path="/nope"),
            ]
        }
    )
    commands, result = run_probe(
        LocalTransport("h"), spec, "h", {"count": http_port}, ProbeContext(probes_root=root)
    )
    by_step = {c.step: c for c in commands}
    assert by_step["exporter"].exit_code == 200 and "up 1" in by_step["exporter"].stdout
    assert by_step["exporter"].command == f"GET http://127.0.0.1:{http_port}/metrics"
    assert by_step["missing"].exit_code == 404
    assert result.command_ids == ["h/echo_params/main", "h/echo_params/exporter", "h/echo_params/missing"]


def test_endpoint_with_nothing_listening_records_the_error(root: Path) -> None:
    spec = _spec(root, "echo_params").model_copy(
        update={"endpoints": [EndpointSpec(name="exporter", port_param="count")]}
    )
    commands, _ = run_probe(LocalTransport("h"), spec, "h", {"count": 1}, ProbeContext(probes_root=root))
    assert commands[1].exit_code is None and commands[1].error


def test_shipped_probes_load() -> None:
    specs = load_probe_specs()
    assert {"system_info", "scheduler_detect"} <= set(specs)
