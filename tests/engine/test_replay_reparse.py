"""Replaying a recorded audit through the engine, and re-deriving a bundle's results from its raw outputs."""

from __future__ import annotations

from pathlib import Path

import pytest

from clustermax.bundle.reparse import reparse_bundle
from clustermax.engine.audit import Audit, AuditRequest, HostSpec
from clustermax.models import ProbeStatus, SubStatus
from clustermax.probes.registry import PROBES
from clustermax.probes.specs import load_probe_specs
from clustermax.transport import LocalTransport
from clustermax.transport.base import ConnectError, Transport
from clustermax.transport.replay import ReplayTransport
from tests.engine import raising_parser
from tests.engine.probes_fixture import make_probes_root


def _request(root: Path) -> AuditRequest:
    return AuditRequest(
        cluster="c",
        login=HostSpec(name="box", role="local"),
        compute=[HostSpec(name="gone", role="compute")],
        specs=load_probe_specs(root),
        selected=["scheduler_detect", "system_info", "echo_params"],
        cli_params={"echo_params": {"text": "hello world"}},
        probes_root=root,
    )


def _record(tmp_path: Path):  # type: ignore[no-untyped-def]
    root = make_probes_root(tmp_path)

    def connect(h: HostSpec) -> Transport:
        if h.name == "gone":
            raise ConnectError("unreachable", "gone: cannot connect: Connection refused")
        return LocalTransport(h.name)

    return root, Audit(_request(root), connect, tmp_path / "rec").run()


def test_replay_reproduces_the_recorded_results(tmp_path: Path) -> None:
    root, recorded = _record(tmp_path)
    replays: dict[str, ReplayTransport] = {}

    def connect(h: HostSpec) -> Transport:
        if h.name == "gone":
            raise ConnectError("unreachable", "gone: cannot connect: Connection refused")
        return replays.setdefault(h.name, ReplayTransport.from_bundle(recorded, h.name))

    replayed = Audit(_request(root), connect, tmp_path / "replay").run()
    strip = {"started_at", "duration_s"}
    assert [r.model_dump(exclude=strip) for r in replayed.results] == [
        r.model_dump(exclude=strip) for r in recorded.results
    ]
    assert len(replays["box"].calls) == 3


def test_replay_never_invents_output(tmp_path: Path) -> None:
    _root, recorded = _record(tmp_path)
    raw = ReplayTransport.from_bundle(recorded, "box").run(
        "timeout -k 10 5 bash -s", stdin=b"echo hi", timeout_s=5
    )
    assert raw.exit_code is None and raw.stdout == b"" and raw.error and "no recording" in raw.error
    status, body, error = ReplayTransport("box", []).http_get(9400, "/metrics", 5)
    assert (status, body) == (None, b"") and error


def test_reparse_rederives_results_and_keeps_connection_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, recorded = _record(tmp_path)
    specs = load_probe_specs(root)
    same = reparse_bundle(recorded, specs)
    assert same.results == recorded.results
    gone = [r for r in recorded.results if r.host == "gone"]
    assert gone and all(r.substatus == SubStatus.UNREACHABLE for r in gone)
    # today's parser differs (here: it is broken): the results follow it, the raw outputs stay
    monkeypatch.setitem(PROBES, "system_info", raising_parser)
    changed = reparse_bundle(recorded, specs)
    assert changed.commands == recorded.commands
    sysinfo = next(r for r in changed.results if r.host == "box" and r.probe_id == "system_info")
    assert (sysinfo.status, sysinfo.substatus) == (ProbeStatus.ERROR, SubStatus.PARSE_ERROR)
    assert [r for r in changed.results if r.host == "gone"] == gone
    detect = next(r for r in changed.results if r.probe_id == "scheduler_detect")
    assert detect == next(r for r in recorded.results if r.probe_id == "scheduler_detect")
