"""HTTP GET of a port on the remote host's loopback, through an SSH connection (direct-tcpip).

httpcore (httpx's HTTP engine) speaks HTTP/1.1 over a paramiko channel: no local port is opened and
nothing on the host is exposed.
"""

from __future__ import annotations

import ssl
import typing
from collections.abc import Iterable
from typing import Any

import httpcore

from .base import DEFAULT_MAX_OUTPUT

if typing.TYPE_CHECKING:
    import paramiko


def read_capped(chunks: Iterable[bytes], limit: int = DEFAULT_MAX_OUTPUT) -> bytes:
    parts: list[bytes] = []
    size = 0
    for chunk in chunks:
        room = limit - size
        if room <= 0:
            break
        parts.append(chunk[:room])
        size += min(len(chunk), room)
    return b"".join(parts)


class _ChannelStream(httpcore.NetworkStream):
    def __init__(self, channel: paramiko.Channel) -> None:
        self._chan = channel

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        self._chan.settimeout(timeout)
        try:
            data: bytes = self._chan.recv(max_bytes)
        except TimeoutError as err:
            raise httpcore.ReadTimeout(str(err) or "read timed out") from err
        return data

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._chan.settimeout(timeout)
        try:
            self._chan.sendall(buffer)
        except TimeoutError as err:
            raise httpcore.WriteTimeout(str(err) or "write timed out") from err

    def close(self) -> None:
        self._chan.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        raise httpcore.UnsupportedProtocol("https is not supported through the SSH channel")

    def get_extra_info(self, info: str) -> Any:
        return None


class ChannelBackend(httpcore.NetworkBackend):
    """Opens a direct-tcpip channel on ``transport`` for every TCP connection httpcore asks for."""

    def __init__(self, transport: paramiko.Transport) -> None:
        self._transport = transport

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        import paramiko

        try:
            chan = self._transport.open_channel(
                "direct-tcpip", (host, port), ("127.0.0.1", 0), timeout=timeout
            )
        except paramiko.ChannelException as err:
            raise httpcore.ConnectError(f"{host}:{port} on the remote host: {err.text}") from err
        except (paramiko.SSHException, OSError, EOFError) as err:
            raise httpcore.ConnectError(f"{host}:{port} on the remote host: {err}") from err
        return _ChannelStream(chan)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        raise httpcore.UnsupportedProtocol("unix sockets are not supported through the SSH channel")

    def sleep(self, seconds: float) -> None:
        import time

        time.sleep(seconds)


def http_get_over(
    transport: paramiko.Transport, port: int, path: str, timeout_s: float
) -> tuple[int | None, bytes, str | None]:
    url = f"http://127.0.0.1:{int(port)}{path}"
    timeouts = {"connect": timeout_s, "read": timeout_s, "write": timeout_s, "pool": timeout_s}
    try:
        with (
            httpcore.ConnectionPool(network_backend=ChannelBackend(transport)) as pool,
            pool.stream("GET", url, extensions={"timeout": timeouts}) as resp,
        ):
            return resp.status, read_capped(resp.iter_stream()), None
    except httpcore.TimeoutException as err:
        return None, b"", f"timed out after {timeout_s:g} s: {err}"
    except (httpcore.ConnectError, httpcore.ProtocolError, httpcore.NetworkError) as err:
        return None, b"", f"{type(err).__name__}: {err}"
