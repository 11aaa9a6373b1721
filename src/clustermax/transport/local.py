"""Run commands on this machine (``clustermax audit --local``): subprocess in its own process group."""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import socket
import subprocess
import threading
import time
from typing import IO

from .base import DEFAULT_MAX_OUTPUT, OutputCap, RawRun, utcnow

_POLL_S = 0.05
_TERM_GRACE_S = 12.0
"""How long an interrupted command gets to run its cleanup traps before SIGKILL."""


def _pump(stream: IO[bytes], cap: OutputCap) -> None:
    try:
        while True:
            chunk = stream.read1(65536) if hasattr(stream, "read1") else stream.read(65536)
            if not chunk:
                break
            cap.feed(chunk)
    except (OSError, ValueError):
        pass


def _feed_stdin(stream: IO[bytes], data: bytes) -> None:
    try:
        stream.write(data)
    except (BrokenPipeError, OSError):
        pass
    finally:
        with contextlib.suppress(OSError):
            stream.close()


def _killpg(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


class LocalTransport:
    """The local machine. ``command`` is split with :func:`shlex.split` and run without a shell."""

    def __init__(self, name: str | None = None) -> None:
        self.name = name or socket.gethostname()

    def run(
        self,
        command: str,
        *,
        stdin: bytes | None = None,
        timeout_s: float,
        max_output: int = DEFAULT_MAX_OUTPUT,
        stop: threading.Event | None = None,
    ) -> RawRun:
        started = utcnow()
        t0 = time.monotonic()
        try:
            proc = subprocess.Popen(
                shlex.split(command),
                stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,  # own process group: timeouts and Ctrl-C reach every child
            )
        except OSError as err:
            return RawRun(None, b"", b"", started, time.monotonic() - t0, error=f"could not start: {err}")
        out, err_cap = OutputCap(max_output), OutputCap(max_output)
        assert proc.stdout is not None and proc.stderr is not None
        threads = [
            threading.Thread(target=_pump, args=(proc.stdout, out), daemon=True),
            threading.Thread(target=_pump, args=(proc.stderr, err_cap), daemon=True),
        ]
        if stdin is not None:
            assert proc.stdin is not None
            threads.append(threading.Thread(target=_feed_stdin, args=(proc.stdin, stdin), daemon=True))
        for thread in threads:
            thread.start()
        deadline = t0 + timeout_s
        timed_out = interrupted = False
        kill_at: float | None = None
        while proc.poll() is None:
            now = time.monotonic()
            if not timed_out and now >= deadline:
                timed_out = True
                _killpg(proc.pid, signal.SIGTERM)
                kill_at = now + 2.0
            elif stop is not None and stop.is_set() and not interrupted and not timed_out:
                interrupted = True
                _killpg(proc.pid, signal.SIGTERM)
                kill_at = now + _TERM_GRACE_S
            if kill_at is not None and now >= kill_at:
                _killpg(proc.pid, signal.SIGKILL)
                kill_at = None
            time.sleep(_POLL_S)
        for thread in threads:
            thread.join(timeout=5)
        code = proc.returncode
        return RawRun(
            exit_code=None if timed_out else code,
            stdout=out.value(),
            stderr=err_cap.value(),
            started_at=started,
            duration_s=time.monotonic() - t0,
            timed_out=timed_out,
            stdout_truncated=out.truncated,
            stderr_truncated=err_cap.truncated,
            error="interrupted" if interrupted else None,
            interrupted=interrupted,
        )

    def http_get(self, port: int, path: str, timeout_s: float) -> tuple[int | None, bytes, str | None]:
        import httpx

        from .http import read_capped

        try:
            with (
                httpx.Client(timeout=timeout_s, trust_env=False) as client,
                client.stream("GET", f"http://127.0.0.1:{int(port)}{path}") as resp,
            ):
                return resp.status_code, read_capped(resp.iter_bytes()), None
        except httpx.HTTPError as err:
            return None, b"", f"{type(err).__name__}: {err}" if str(err) else type(err).__name__

    def close(self) -> None:
        return None
