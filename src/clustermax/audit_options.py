"""The options of an audit as its journal records them, and which of them a resumed audit may reuse.

A journal (or a bundle) may have been changed by someone else. A resumed audit takes from it only the
options that do not widen trust (:class:`StoredOptions`, each field type-checked strictly); the targets,
the inventory and the :data:`TRUST_OPTIONS` come from the command line that resumes.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class StoredOptions(BaseModel):
    """The options a journal's start record holds, checked before a resumed audit uses any of them.

    Only the ones that do not widen trust are taken from it (see :func:`_resume`); every field has its
    type checked strictly, so a damaged or forged journal is a clear error, not a crash.
    """

    model_config = ConfigDict(extra="ignore", strict=True)

    mode: Literal["local", "inventory", "targets"]
    targets: list[str] = Field(default_factory=list)
    inventory: str | None = None
    probes: list[str] | None = None
    skip_probes: list[str] = Field(default_factory=list)
    params: list[str] = Field(default_factory=list)
    concurrency: int = Field(default=16, ge=1, le=4096)
    max_nodes: int | None = Field(default=None, ge=1)
    cluster: str | None = None
    provider: str | None = None
    connect_timeout_s: float = Field(default=15.0, gt=0, le=3600)
    login_shell: bool = False
    reach: Literal["auto", "ssh", "scheduler"] | None = None
    partition: str | None = None
    account: str | None = None
    qos: str | None = None
    reservation: str | None = None
    exclusive: bool = False
    time_min: int | None = Field(default=None, ge=1)
    gpus_per_node: int | None = Field(default=None, ge=0)
    immediate_s: int = Field(default=60, ge=1, le=86400)


TRUST_OPTIONS = (
    "accept_new_host_keys",
    "known_hosts",
    "ssh_config",
    "identity_file",
    "rubric",
    "versions",
    "node_pods",
    "pod_image",
    "pod_namespace",
)
"""Options a resumed audit takes from its own command line only (with the targets and the inventory)."""
