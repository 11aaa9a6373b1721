"""A host of an audit and the result of a probe that could not run on it (shared by the engine's phases)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..models import JSONValue, ProbeResult, ProbeSpec, ProbeStatus, SubStatus
from ..transport.base import utcnow
from .runner import Role


@dataclass
class HostSpec:
    """A host to audit and how to reach it (``connect`` turns it into a Transport)."""

    name: str
    role: Role
    target: Any = None
    """Transport-specific address (an SSHTarget for SSH; None for the local machine)."""
    address: str | None = None
    user: str | None = None
    port: int | None = None
    via: str | None = None
    expected_gpus: int | None = None
    login_shell: bool = False


def _error_result(spec: ProbeSpec, host: str, sub: SubStatus, message: str,
                  params: dict[str, JSONValue] | None = None) -> ProbeResult:  # fmt: skip
    return ProbeResult(
        probe_id=spec.id,
        host=host,
        status=ProbeStatus.SKIPPED if sub == SubStatus.NOT_APPLICABLE else ProbeStatus.ERROR,
        substatus=sub,
        message=message,
        remediation=spec.remediation.get(sub.value),
        started_at=utcnow(),
        duration_s=0.0,
        params=params or {},
    )
