"""storage_object (opt-in): the real AWS CLI against a real S3-compatible HTTP server (moto's server,
started here on the loopback), credentials from the environment only: they never reach the bundle."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from clustermax.engine.runner import ProbeContext, run_probe
from clustermax.models import ProbeStatus, SubStatus
from clustermax.probes.specs import load_probe_spec
from clustermax.resources import probes_dir
from clustermax.transport.local import LocalTransport
from tests.conftest import require

SECRET = "cmxS3cretNeverStored0123456789abcdefXYZ"
KEY_ID = "AKIACMXTESTKEYID0001"
SPEC = load_probe_spec(probes_dir() / "storage_object")


@pytest.fixture(scope="module")
def s3() -> Iterator[str]:
    server = Path(sys.executable).with_name("moto_server")
    require("S3 test server and AWS CLI", [t for t in (str(server), "aws") if shutil.which(t) is None])
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen(
        [str(server), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    pytest.fail("the S3 test server did not start")
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def creds(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))


def aws(endpoint: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["aws", "--endpoint-url", endpoint, *args], capture_output=True, text=True, timeout=60, check=False
    )


def test_put_get_measured_and_nothing_secret_or_left(s3: str, creds: None) -> None:
    assert aws(s3, "s3", "mb", "s3://cmx-bucket").returncode == 0
    params = {"bucket": "cmx-bucket", "endpoint_url": s3, "object_mib": 8}
    commands, result = run_probe(LocalTransport("local"), SPEC, "local", params, ProbeContext(role="local"))
    assert result.status is ProbeStatus.OK, (result.message, commands[0].stdout[-2000:])
    speeds = {m.labels["op"]: m for m in result.measurements if m.metric == "storage.s3_bw"}
    assert set(speeds) == {"put", "get"}
    for m in speeds.values():
        assert isinstance(m.value, float) and m.value > 0 and m.unit.value == "GiB/s"
        assert m.labels["object_bytes"] == str(8 * 2**20) and m.labels["endpoint"] == s3
    assert [m.value for m in result.measurements if m.metric == "storage.s3_leftover"] == [0]
    listing = aws(s3, "s3", "ls", "s3://cmx-bucket/", "--recursive")
    assert listing.returncode == 0 and listing.stdout.strip() == ""  # the test object is gone
    everything = result.model_dump_json() + json.dumps([c.model_dump(mode="json") for c in commands])
    assert SECRET not in everything and KEY_ID not in everything


def test_without_a_bucket_it_is_not_applicable(creds: None) -> None:
    _, result = run_probe(LocalTransport("local"), SPEC, "local", {}, ProbeContext(role="local"))
    assert (result.status, result.substatus) == (ProbeStatus.SKIPPED, SubStatus.NOT_APPLICABLE)
    assert "opt-in" in result.message


def test_a_failed_transfer_is_a_finding_not_a_speed(s3: str, creds: None) -> None:
    params = {"bucket": "no-such-bucket", "endpoint_url": s3, "object_mib": 1}
    _, result = run_probe(LocalTransport("local"), SPEC, "local", params, ProbeContext(role="local"))
    assert (result.status, result.substatus) == (ProbeStatus.ERROR, SubStatus.COMMAND_FAILED)
    assert all(m.value is None for m in result.measurements if m.metric == "storage.s3_bw")
    assert result.findings and result.findings[0].code.endswith("op-failed")
    assert SECRET not in result.model_dump_json()


def test_an_endpoint_with_credentials_is_refused_and_not_echoed(creds: None) -> None:
    params = {
        "bucket": "b",
        "endpoint_url": "https://user:pw-in-url@s3.example.invalid:9000/path",
        "object_mib": 1,
    }
    commands, result = run_probe(LocalTransport("local"), SPEC, "local", params, ProbeContext(role="local"))
    assert (result.status, result.substatus) == (ProbeStatus.ERROR, SubStatus.UNSUPPORTED)
    assert "must not carry credentials" in result.message
    assert "pw-in-url" not in commands[0].stdout + commands[0].stderr  # the probe never prints it
    # like every parameter, the value given is kept in the result's params: credentials belong in the
    # AWS CLI's environment or config, never in parameters (docs/probes-storage.md)


def test_the_endpoint_shown_is_scheme_host_and_port(creds: None) -> None:
    params = {
        "bucket": "b",
        "endpoint_url": "https://s3.example.invalid:9000/path?x=1",
        "object_mib": 1,
        "op_timeout_s": 5,
    }
    commands, _ = run_probe(LocalTransport("local"), SPEC, "local", params, ProbeContext(role="local"))
    assert "endpoint=https://s3.example.invalid:9000\n" in commands[0].stdout
