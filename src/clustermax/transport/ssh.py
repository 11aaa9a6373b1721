"""SSH transport (paramiko): strict host-key checking, ProxyJump, one connection per host, retries.

* Host keys are checked against known_hosts files (the user's ``~/.ssh/known_hosts``, those named by the
  ssh_config's UserKnownHostsFile, the inventory or ``--known-hosts``, and clustermax's own file).
  Unknown keys are refused unless ``accept_new`` is set, in which case they are recorded in clustermax's
  own file (``$CLUSTERMAX_KNOWN_HOSTS`` or ``~/.config/clustermax/known_hosts``); a *changed* key is always
  refused.
* ProxyJump: the target is reached through a ``direct-tcpip`` channel of the jump host's connection (which
  is itself cached and reused, e.g. the login node), and the target's own host key is verified too.
* Connects are retried with backoff on banner/reset errors (sshd's MaxStartups drops connections).
* Passwords and private keys are never logged or stored: auth uses key files and the ssh-agent.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import select
import socket
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import paramiko

from ..errors import ConfigError, UsageError
from ..safeio import (
    MAX_KNOWN_HOSTS_BYTES,
    MAX_SSH_FILE_BYTES,
    AppendLog,
    check_regular_file,
    read_text,
)
from .base import DEFAULT_MAX_OUTPUT, ConnectError, OutputCap, RawRun, utcnow

_TERM_GRACE_S = 12.0

# paramiko logs channel-open failures etc. through logging's last-resort handler (stderr) when the
# application configured none; the engine reports those itself.
logging.getLogger("paramiko").addHandler(logging.NullHandler())


def own_known_hosts_path() -> Path:
    """The known_hosts file clustermax owns (``--accept-new-host-keys`` writes here)."""
    env = os.environ.get("CLUSTERMAX_KNOWN_HOSTS")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "clustermax" / "known_hosts"


def known_hosts_name(hostname: str, port: int) -> str:
    """The name a host has in known_hosts: ``host`` on port 22, ``[host]:port`` otherwise."""
    return hostname if port == 22 else f"[{hostname}]:{port}"


@dataclass(frozen=True)
class SSHTarget:
    """A host to connect to, fully resolved (ssh_config applied)."""

    alias: str
    """Name as given (inventory name, ssh alias, or address)."""
    hostname: str
    port: int = 22
    user: str | None = None
    identity_files: tuple[str, ...] = ()
    identities_only: bool = False
    jump: SSHTarget | None = None
    known_hosts_files: tuple[str, ...] = ()
    """Extra known_hosts files for this host (ssh_config UserKnownHostsFile)."""

    def key(self) -> tuple[Any, ...]:
        return (self.user, self.hostname, self.port, self.jump.key() if self.jump else None)

    def describe(self) -> str:
        who = f"{self.user}@" if self.user else ""
        port = f":{self.port}" if self.port != 22 else ""
        via = f" via {self.jump.alias}" if self.jump else ""
        return f"{who}{self.hostname}{port}{via}"


def parse_destination(spec: str) -> tuple[str | None, str, int | None]:
    """``[user@]host[:port]`` (IPv6 as ``[addr]:port``) -> (user, host, port)."""
    user: str | None = None
    rest = spec.strip()
    if "@" in rest:
        user, _, rest = rest.rpartition("@")
        user = user or None
    port: int | None = None
    if rest.startswith("["):
        host, _, tail = rest[1:].partition("]")
        if tail.startswith(":") and tail[1:]:
            port = _port(tail[1:], spec)
    elif rest.count(":") == 1:
        host, _, p = rest.partition(":")
        port = _port(p, spec) if p else None
    else:
        host = rest
    if not host:
        raise ValueError(f"no host name in {spec!r}")
    return user, host, port


def _port(text: str, spec: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ValueError(f"bad port {text!r} in {spec!r}")
    return int(text)


class SafeSSHConfig(paramiko.SSHConfig):
    """An ssh_config read with bounds (regular file, at most 1 MiB, UTF-8) whose errors never quote it.

    A lookup that fails (a ``Match`` paramiko cannot evaluate, a bad token) is a ConfigError naming the
    file, not a traceback, and not the content of the line: the path may have come from somewhere else.
    Names looked up here must be trusted or checked (:mod:`clustermax.hostnames`): paramiko runs
    ``Match exec`` commands with the name substituted in.
    """

    path: str | None = None

    def lookup(self, hostname: str) -> paramiko.SSHConfigDict:
        try:
            return super().lookup(hostname)
        except Exception as err:
            where = self.path or "ssh_config"
            raise ConfigError(
                where,
                None,
                f"cannot resolve {hostname!r} with this ssh_config ({type(err).__name__})",
                hint="check its Match and Host lines (Match exec needs the 'invoke' package)",
            ) from None  # fmt: skip  (the cause may quote the file's lines: never chained into error.log)


def _parse_ssh_config(text: str, path: str) -> SafeSSHConfig:
    try:
        config = SafeSSHConfig.from_text(text)
    except paramiko.ConfigParseError:
        line = None
        for number, one in enumerate(text.splitlines(), start=1):
            try:
                paramiko.SSHConfig.from_text(one)
            except paramiko.ConfigParseError:
                line = number
                break
        # paramiko's message quotes the line: the cause is dropped so error.log never holds the file
        raise ConfigError(path, line, "not a valid ssh_config line (the file is not shown)",
                          hint="each line is 'Keyword value'; see ssh_config(5)") from None  # fmt: skip
    except Exception as err:
        raise ConfigError(path, None, f"cannot parse the ssh_config ({type(err).__name__})") from None
    config.path = path
    return config


def load_ssh_config(path: str | Path | None) -> SafeSSHConfig:
    """The ssh_config to resolve names with: ``path``, else ``~/.ssh/config`` when present, else empty.

    Read through :func:`clustermax.safeio.read_text` (regular file, 1 MiB, UTF-8); ConfigError otherwise.
    """
    if path is not None:
        p = Path(path).expanduser()
    else:
        p = Path.home() / ".ssh" / "config"
        if not p.exists():
            return SafeSSHConfig()
    return _parse_ssh_config(read_text(p, what="ssh_config", limit=MAX_SSH_FILE_BYTES), str(p))


def resolve_target(
    destination: str,
    config: paramiko.SSHConfig | None = None,
    *,
    user: str | None = None,
    port: int | None = None,
    identity_file: str | None = None,
    proxy_jump: str | None = None,
    hop_user: str | None = None,
    hop_identity_file: str | None = None,
    _chain: tuple[str, ...] = (),
) -> SSHTarget:
    """Resolve ``destination`` (``[user@]alias[:port]``) as OpenSSH would: explicit values win over the
    ssh_config (Host/HostName/User/Port/IdentityFile/IdentitiesOnly/ProxyJump/UserKnownHostsFile).

    ``hop_user``/``hop_identity_file`` apply to the ProxyJump hops that neither name a user or key nor
    get one from the ssh_config (an inventory's ``defaults``). A ProxyJump loop (a hop that leads back to
    itself) or a chain of more than 8 hops is a UsageError naming the chain; a bad ``[user@]host[:port]``
    is a ValueError.
    """
    d_user, alias, d_port = parse_destination(destination)
    chain = (*_chain, alias)
    if alias in _chain:
        raise UsageError(
            f"ProxyJump loop: {' -> '.join(chain)}",
            hint="fix the proxy_jump of the inventory or the ProxyJump lines of the ssh_config",
        )
    if len(_chain) > 8:
        raise UsageError(f"ProxyJump chain of more than 8 hops: {' -> '.join(chain)}")
    entry: dict[str, Any] = dict(config.lookup(alias)) if config is not None else {}
    hostname = str(entry.get("hostname") or alias)
    final_user = user or d_user or entry.get("user")
    final_port = port or d_port or _config_port(entry.get("port"), alias)
    files: list[str] = []
    if identity_file:
        files.append(identity_file)
    for f in entry.get("identityfile", []) or []:
        # OpenSSH skips IdentityFile entries that do not exist; so do we (a missing key named on the
        # command line or in an inventory is refused before this, with its own message)
        if f not in files and Path(f).expanduser().is_file():
            files.append(f)
    identities_only = str(entry.get("identitiesonly", "no")).lower() == "yes"
    known = tuple(
        str(Path(p).expanduser())
        for p in str(entry.get("userknownhostsfile", "")).split()
        if p and p.lower() != "none"
    )
    jump_spec = proxy_jump if proxy_jump is not None else entry.get("proxyjump")
    jump: SSHTarget | None = None
    if jump_spec and str(jump_spec).lower() != "none":
        hops = [h.strip() for h in str(jump_spec).split(",") if h.strip()]
        for hop in hops:  # "a,b": connect a, through a to b, through b to the target
            hop_target = resolve_target(
                hop, config, hop_user=hop_user, hop_identity_file=hop_identity_file, _chain=chain
            )
            if hop_target.user is None and hop_user:
                hop_target = replace(hop_target, user=hop_user)
            if not hop_target.identity_files and hop_identity_file:
                hop_target = replace(hop_target, identity_files=(str(Path(hop_identity_file).expanduser()),))
            if jump is not None:
                hop_target = replace(hop_target, jump=jump)
            jump = hop_target
    return SSHTarget(
        alias=alias,
        hostname=hostname,
        port=int(final_port),
        user=final_user,
        identity_files=tuple(str(Path(f).expanduser()) for f in files),
        identities_only=identities_only,
        jump=jump,
        known_hosts_files=known,
    )


def _config_port(value: Any, alias: str) -> int:
    if value is None:
        return 22
    text = str(value)
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise UsageError(f"the ssh_config gives {alias} a bad Port ({text[:20]!r})")
    return int(text)


class _UnknownHostKey(Exception):
    def __init__(self, hostname: str, key: paramiko.PKey) -> None:
        super().__init__(hostname)
        self.hostname = hostname
        self.key = key


def fingerprint(key: paramiko.PKey) -> str:
    return str(key.fingerprint)  # "SHA256:..." like ssh-keygen -l


class _HostKeyPolicy(paramiko.MissingHostKeyPolicy):
    def __init__(self, connector: SSHConnector) -> None:
        self._connector = connector

    def missing_host_key(self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey) -> None:
        if not self._connector.accept_new:
            raise _UnknownHostKey(hostname, key)
        self._connector.record_new_key(hostname, key)
        client.get_host_keys().add(hostname, key.get_name(), key)


def _is_retryable(err: BaseException) -> bool:
    if isinstance(err, (ConnectionResetError, EOFError, BrokenPipeError)):
        return True
    if isinstance(err, paramiko.SSHException) and not isinstance(
        err, (paramiko.AuthenticationException, paramiko.BadHostKeyException)
    ):
        text = str(err)
        return "banner" in text or "reset" in text.lower() or "EOF" in text or "closed" in text.lower()
    return False


@dataclass
class _Conn:
    client: paramiko.SSHClient
    connect_time_s: float
    lock: threading.Lock = field(default_factory=threading.Lock)


class SSHConnector:
    """Opens (and caches) one SSH connection per host; jump hosts' connections are reused too."""

    def __init__(
        self,
        *,
        known_hosts_files: list[str | Path] | None = None,
        accept_new: bool = False,
        own_known_hosts: Path | None = None,
        connect_timeout_s: float = 15.0,
        retries: int = 4,
        use_user_known_hosts: bool = True,
    ) -> None:
        self.accept_new = accept_new
        self.own_known_hosts = own_known_hosts or own_known_hosts_path()
        files: list[Path] = []
        if use_user_known_hosts:
            files.append(Path.home() / ".ssh" / "known_hosts")
        files += [Path(f).expanduser() for f in known_hosts_files or []]
        self.known_hosts_files = files
        self.connect_timeout_s = connect_timeout_s
        self.retries = retries
        self._conns: dict[tuple[Any, ...], _Conn] = {}
        self._locks: dict[tuple[Any, ...], threading.Lock] = {}
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()

    # -- host keys -------------------------------------------------------------------------------
    def _load_keys(self, client: paramiko.SSHClient, target: SSHTarget) -> None:
        extra = [Path(p) for p in target.known_hosts_files]
        for path in [*self.known_hosts_files, *extra, self.own_known_hosts]:
            # regular files only, of a sane size (a FIFO or /dev/zero here would hang or fill memory)
            with contextlib.suppress(OSError, paramiko.SSHException, ValueError, ConfigError):
                check_regular_file(path, what="known_hosts file", limit=MAX_KNOWN_HOSTS_BYTES)
                client.load_system_host_keys(str(path))

    def record_new_key(self, hostname: str, key: paramiko.PKey) -> None:
        """Append a new (never a changed) host key to clustermax's own known_hosts."""
        if not hostname or any(c.isspace() or not c.isprintable() for c in hostname):
            raise _UnknownHostKey(hostname, key)  # never write a name that could add a line
        with self._write_lock:
            path = self.own_known_hosts
            path.parent.mkdir(parents=True, exist_ok=True)
            line = f"{hostname} {key.get_name()} {key.get_base64()}\n"
            log = AppendLog(path, what="known_hosts file", sync=True)
            try:
                log.append(line.encode("ascii", "replace"))
            finally:
                log.close()
            with contextlib.suppress(OSError):
                os.chmod(path, 0o600)

    # -- connections -----------------------------------------------------------------------------
    def connect(self, target: SSHTarget, name: str | None = None) -> SSHTransport:
        """A transport on ``target`` (an existing connection when there is one). Raises ConnectError."""
        conn = self._connection(target)
        return SSHTransport(name or target.alias, conn.client, target, conn.connect_time_s)

    def _connection(self, target: SSHTarget) -> _Conn:
        key = target.key()
        with self._lock:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            conn = self._conns.get(key)
            if conn is not None:
                transport = conn.client.get_transport()
                if transport is not None and transport.is_active():
                    return conn
            conn = self._open(target)
            with self._lock:
                self._conns[key] = conn
            return conn

    def _open(self, target: SSHTarget) -> _Conn:
        t0 = time.monotonic()
        last: BaseException | None = None
        for path in target.identity_files:
            try:  # paramiko would read a FIFO or /dev/zero given as a key until memory runs out
                check_regular_file(path, what="identity file", limit=MAX_SSH_FILE_BYTES)
            except ConfigError as err:
                raise ConnectError("auth", f"{target.describe()}: {err.message}") from err
        for attempt in range(self.retries + 1):
            started = time.monotonic()
            try:
                client = self._open_once(target)
                return _Conn(client, time.monotonic() - t0)
            except ConnectError:
                raise
            except Exception as err:
                last = err
                # a host that said nothing for the whole timeout will not say more on a retry
                waited = time.monotonic() - started >= 0.9 * self.connect_timeout_s
                if not _is_retryable(err) or waited or attempt == self.retries:
                    break
                time.sleep(min(4.0, 0.3 * 2**attempt) * (0.5 + random.random()))
        assert last is not None
        raise self._classify(target, last) from last

    def _sock_for(self, target: SSHTarget) -> socket.socket | paramiko.Channel:
        if target.jump is None:
            try:
                return socket.create_connection(
                    (target.hostname, target.port), timeout=self.connect_timeout_s
                )
            except TimeoutError:
                raise ConnectError(
                    "timeout",
                    f"{target.describe()}: no answer within {self.connect_timeout_s:g} s "
                    "(host down, firewalled, or wrong address)",
                ) from None
            except OSError as err:
                raise ConnectError(
                    "unreachable", f"{target.describe()}: cannot connect: {err.strerror or err}"
                ) from err
        try:
            jump_conn = self._connection(target.jump)
        except ConnectError as err:
            raise ConnectError(err.kind, f"jump host {target.jump.alias}: {err.message}") from err
        transport = jump_conn.client.get_transport()
        assert transport is not None
        try:
            return transport.open_channel(
                "direct-tcpip", (target.hostname, target.port), ("127.0.0.1", 0),
                timeout=self.connect_timeout_s,
            )  # fmt: skip
        except paramiko.ChannelException as err:
            raise ConnectError(
                "unreachable",
                f"{target.describe()}: the jump host {target.jump.alias} cannot reach "
                f"{target.hostname}:{target.port} ({err.text})",
            ) from err

    def _open_once(self, target: SSHTarget) -> paramiko.SSHClient:
        sock = self._sock_for(target)
        client = paramiko.SSHClient()
        self._load_keys(client, target)
        client.set_missing_host_key_policy(_HostKeyPolicy(self))
        try:
            client.connect(
                target.hostname,
                port=target.port,
                username=target.user,
                key_filename=list(target.identity_files) or None,  # type: ignore[arg-type]  # str | list
                allow_agent=not target.identities_only,
                look_for_keys=not target.identity_files,
                timeout=self.connect_timeout_s,
                banner_timeout=self.connect_timeout_s,
                auth_timeout=self.connect_timeout_s,
                sock=sock,
            )
        except BaseException:
            client.close()
            with contextlib.suppress(Exception):
                sock.close()
            raise
        transport = client.get_transport()
        if transport is not None:
            transport.set_keepalive(30)
        return client

    def _classify(self, target: SSHTarget, err: BaseException) -> ConnectError:
        where = target.describe()
        if isinstance(err, _UnknownHostKey):
            port_opt = f" -p {target.port}" if target.port != 22 else ""
            return ConnectError(
                "host-key",
                f"{where}: host key {err.key.get_name()} {fingerprint(err.key)} is not in known_hosts; "
                f"nothing was run. Check the fingerprint with the provider, then add it "
                f"(ssh-keyscan{port_opt} {target.hostname} >> ~/.ssh/known_hosts) or re-run with "
                f"--accept-new-host-keys to record it in {self.own_known_hosts}",
            )
        if isinstance(err, paramiko.BadHostKeyException):
            return ConnectError(
                "host-key",
                f"{where}: host key CHANGED (got {err.key.get_name()} {fingerprint(err.key)}, known_hosts "
                f"has {fingerprint(err.expected_key)}); nothing was run. This can be an attack; if the host "
                f"was really reinstalled, remove the old entry with ssh-keygen -R "
                f"'{known_hosts_name(target.hostname, target.port)}' and verify the new key",
            )
        if isinstance(err, paramiko.PasswordRequiredException):
            return ConnectError(
                "auth", f"{where}: the private key is encrypted; load it into ssh-agent (ssh-add) first"
            )
        if isinstance(err, paramiko.AuthenticationException):
            who = target.user or "the default user"
            return ConnectError(
                "auth",
                f"{where}: authentication failed for {who} ({err}); check the user and identity file "
                "(or ssh-agent), and that the public key is in the remote authorized_keys",
            )
        if isinstance(err, (socket.timeout, TimeoutError)):
            return ConnectError("timeout", f"{where}: timed out while connecting ({err})")
        text = str(err)
        if isinstance(err, paramiko.SSHException) and (text == "No existing session" or "banner" in text):
            # paramiko gives up waiting for the server's banner or key exchange after the timeout and
            # then reports "No existing session"
            return ConnectError(
                "timeout",
                f"{where}: the port answers but no SSH server spoke within {self.connect_timeout_s:g} s "
                "(no SSH banner or key exchange: an overloaded sshd, a firewall or proxy, or not SSH)",
            )
        if isinstance(err, paramiko.ssh_exception.NoValidConnectionsError):
            return ConnectError("unreachable", f"{where}: cannot connect: {err}")
        if isinstance(err, FileNotFoundError) and err.filename:
            return ConnectError("auth", f"{where}: identity file {err.filename} not found")
        if isinstance(err, OSError):
            return ConnectError("unreachable", f"{where}: cannot connect: {err.strerror or err}")
        text = text or type(err).__name__
        if isinstance(err, paramiko.SSHException) and "authentication" in text.lower():
            return ConnectError("auth", f"{where}: {text}")
        return ConnectError("unreachable", f"{where}: SSH connection failed: {text}")

    def close_all(self) -> None:
        with self._lock:
            conns = list(self._conns.values())
            self._conns.clear()
        # targets first, jump hosts last: the reverse of opening order
        for conn in reversed(conns):
            with contextlib.suppress(Exception):
                conn.client.close()


def _send_signal(channel: paramiko.Channel, signame: str) -> None:
    """RFC 4254 6.9 "signal" request (OpenSSH >= 7.9 delivers it to the session's process group).

    paramiko has no public method for it; this builds the message the way its own channel requests do.
    """
    from paramiko.common import cMSG_CHANNEL_REQUEST
    from paramiko.message import Message

    msg = Message()
    msg.add_byte(cMSG_CHANNEL_REQUEST)
    msg.add_int(channel.remote_chanid)
    msg.add_string("signal")
    msg.add_boolean(False)
    msg.add_string(signame)
    transport = channel.transport
    if transport is None:
        return
    with contextlib.suppress(Exception):
        transport._send_user_message(msg)  # type: ignore[attr-defined]


class SSHTransport:
    """One host over an (already authenticated, possibly shared) SSH connection."""

    def __init__(
        self, name: str, client: paramiko.SSHClient, target: SSHTarget, connect_time_s: float = 0.0
    ) -> None:
        self.name = name
        self.client = client
        self.target = target
        self.connect_time_s = connect_time_s

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
        transport = self.client.get_transport()
        try:
            if transport is None or not transport.is_active():
                raise paramiko.SSHException("connection is closed")
            chan = transport.open_session(timeout=30)
            chan.exec_command(command)
        except (paramiko.SSHException, OSError, EOFError) as err:
            return RawRun(None, b"", b"", started, time.monotonic() - t0, error=f"SSH session failed: {err}")
        out, err_cap = OutputCap(max_output), OutputCap(max_output)

        def feed() -> None:
            try:
                if stdin:
                    chan.sendall(stdin)
                chan.shutdown_write()
            except (OSError, paramiko.SSHException, EOFError):
                pass

        writer = threading.Thread(target=feed, daemon=True)
        writer.start()
        deadline = t0 + timeout_s
        timed_out = interrupted = False
        give_up_at: float | None = None
        error: str | None = None
        while True:
            drained = True
            while chan.recv_ready():
                out.feed(chan.recv(65536))
                drained = False
            while chan.recv_stderr_ready():
                err_cap.feed(chan.recv_stderr(65536))
                drained = False
            if drained and (chan.closed or (chan.eof_received and chan.exit_status_ready())):
                break
            now = time.monotonic()
            if not timed_out and now >= deadline:
                timed_out = True
                _send_signal(chan, "KILL")
                give_up_at = now + 2.0
            elif stop is not None and stop.is_set() and not interrupted and not timed_out:
                interrupted = True
                _send_signal(chan, "TERM")
                give_up_at = now + _TERM_GRACE_S
            if give_up_at is not None and now >= give_up_at:
                break
            if transport is not None and not transport.is_active():
                error = "connection lost"
                break
            if drained:
                with contextlib.suppress(OSError, ValueError):
                    select.select([chan], [], [], 0.05)
        code: int | None = None
        if chan.exit_status_ready():
            code = chan.recv_exit_status()
            if code == -1:
                code = None
        chan.close()
        writer.join(timeout=2)
        if code is None and error is None and not timed_out:
            error = "interrupted" if interrupted else "the command ended without an exit status"
        return RawRun(
            exit_code=None if timed_out else code,
            stdout=out.value(),
            stderr=err_cap.value(),
            started_at=started,
            duration_s=time.monotonic() - t0,
            timed_out=timed_out,
            stdout_truncated=out.truncated,
            stderr_truncated=err_cap.truncated,
            error="interrupted" if interrupted and error is None else error,
            interrupted=interrupted,
        )

    def http_get(self, port: int, path: str, timeout_s: float) -> tuple[int | None, bytes, str | None]:
        from .http import http_get_over

        transport = self.client.get_transport()
        if transport is None or not transport.is_active():
            return None, b"", "SSH connection is closed"
        return http_get_over(transport, port, path, timeout_s)

    def close(self) -> None:
        """Connections belong to the :class:`SSHConnector` (shared with jump users); it closes them."""
        return None
