"""A real PostgreSQL server for the history database tests, started and stopped by the test session.

Debian's ``postgresql`` package (installed by scripts/install-test-deps.sh): ``initdb`` a cluster in a
temporary directory, run ``postgres`` on a Unix socket only (no TCP listener), trust authentication for a
test role, as the ``postgres`` user when the tests run as root (PostgreSQL refuses to run as root). The
server is a child of the test process (``subprocess.Popen``), stopped by PID (SIGINT: fast shutdown).

Run by hand with ``python -m tests.infra.postgres`` (prints the URL and waits for Ctrl-C).
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROLE = "cmx"


def bindir() -> Path | None:
    """The newest /usr/lib/postgresql/N/bin that has initdb and postgres."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[4]))
    return Path(found[-1]).parent if found else None


def missing_requirements() -> list[str]:
    b = bindir()
    if b is None or not (b / "postgres").exists():
        return ["postgresql (initdb, postgres)"]
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return ["the postgres user"]
    return []


@dataclass
class Server:
    base: Path
    port: int
    proc: subprocess.Popen[bytes]

    def url(self, database: str = "postgres", user: str = ROLE, password: str | None = None) -> str:
        auth = user if password is None else f"{user}:{password}"
        return f"postgresql://{auth}@/{database}?host={self.base}&port={self.port}"

    def psql(self, sql: str, database: str = "postgres") -> str:
        b = bindir()
        assert b is not None
        out = subprocess.run(
            [str(b / "psql"), "-h", str(self.base), "-p", str(self.port), "-U", ROLE, "-d", database,
             "-v", "ON_ERROR_STOP=1", "-At", "-c", sql],
            capture_output=True, text=True, check=True, timeout=60,
        )  # fmt: skip
        return out.stdout

    def create_database(self, name: str) -> str:
        self.psql(f'CREATE DATABASE "{name}"')
        return self.url(name)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_postgres() -> dict[str, object]:
    return {"user": "postgres", "group": "postgres"} if os.geteuid() == 0 else {}


@contextlib.contextmanager
def running_server() -> Iterator[Server]:
    b = bindir()
    if b is None:
        raise RuntimeError("PostgreSQL is not installed (bash scripts/install-test-deps.sh)")
    base = Path(tempfile.mkdtemp(prefix="cmx-pg-"))
    proc: subprocess.Popen[bytes] | None = None
    try:
        os.chmod(base, 0o755)
        if os.geteuid() == 0:
            shutil.chown(base, "postgres", "postgres")
        data = base / "data"
        subprocess.run(
            [str(b / "initdb"), "-D", str(data), "-A", "trust", "-U", ROLE, "--no-sync", "-E", "UTF8"],
            capture_output=True, check=True, timeout=120, **_as_postgres(),  # type: ignore[arg-type]
        )  # fmt: skip
        port = _free_port()
        log = (base / "server.log").open("ab")
        proc = subprocess.Popen(
            [str(b / "postgres"), "-D", str(data), "-k", str(base), "-p", str(port),
             "-c", "listen_addresses=", "-c", "fsync=off", "-c", "max_connections=100"],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, **_as_postgres(),  # type: ignore[arg-type]
        )  # fmt: skip
        log.close()
        sock = base / f".s.PGSQL.{port}"
        deadline = time.monotonic() + 30
        server = Server(base, port, proc)
        while True:
            if proc.poll() is not None:
                raise RuntimeError(
                    "postgres exited: " + (base / "server.log").read_text(errors="replace")[-2000:]
                )
            if sock.exists():
                try:
                    server.psql("SELECT 1")
                    break
                except subprocess.CalledProcessError:
                    pass
            if time.monotonic() > deadline:
                raise RuntimeError("postgres did not start within 30 s")
            time.sleep(0.1)
        yield server
    finally:
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGINT)  # fast shutdown
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        shutil.rmtree(base, ignore_errors=True)


def main() -> int:
    with running_server() as server:
        print(server.url(), flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            signal.sigwait({signal.SIGINT, signal.SIGTERM})
    return 0


if __name__ == "__main__":
    sys.exit(main())
