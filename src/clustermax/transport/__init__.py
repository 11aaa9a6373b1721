"""Transports: run commands on a host locally (subprocess), over SSH (paramiko), or from a recording."""

from .base import DEFAULT_MAX_OUTPUT, ConnectError, RawRun, Transport
from .local import LocalTransport

__all__ = ["DEFAULT_MAX_OUTPUT", "ConnectError", "LocalTransport", "RawRun", "Transport"]
