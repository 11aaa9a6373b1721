"""The inventory: which cluster to audit and how to reach its hosts (a YAML file the user writes).

Unknown keys are warned about and ignored by the loader (:mod:`clustermax.inventory`); bad values fail
with the file and line. Host entries resolve through ``~/.ssh/config`` (or ``--ssh-config``) the way
OpenSSH would: an entry's explicit ``user``/``port``/``identity_file``/``proxy_jump`` win over it.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from .common import JSONValue


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class InventoryHost(_Model):
    """One host: an SSH destination plus what the audit should expect of it."""

    name: str = Field(min_length=1, description="Name in the bundle (default: host).")
    host: str | None = Field(
        default=None, description="Address or ~/.ssh/config alias to connect to (default: name)."
    )
    user: str | None = Field(default=None, description="SSH user (default: ssh_config, then defaults.user).")
    port: int | None = Field(
        default=None, ge=1, le=65535, description="SSH port (default: ssh_config or 22)."
    )
    identity_file: str | None = Field(
        default=None, description="Private key file (never read into the bundle)."
    )
    proxy_jump: str | None = Field(
        default=None,
        description="Bastion(s) to jump through, as OpenSSH's ProxyJump ([user@]host[:port],...).",
    )
    expected_gpus: int | None = Field(default=None, ge=0, description="GPUs this node should have.")

    @property
    def destination(self) -> str:
        return self.host or self.name


class HostDefaults(_Model):
    """SSH settings applied to every host that does not set its own (and to discovered compute nodes)."""

    user: str | None = Field(default=None, description="SSH user.")
    port: int | None = Field(default=None, ge=1, le=65535, description="SSH port.")
    identity_file: str | None = Field(default=None, description="Private key file.")
    proxy_jump: str | None = Field(
        default=None,
        description="Bastion for every host. Discovered compute nodes go through the login node by default.",
    )
    expected_gpus: int | None = Field(default=None, ge=0, description="GPUs every compute node should have.")
    login_shell: bool = Field(default=False, description="Run probe scripts in a login shell (bash -l -s).")
    reach: Literal["auto", "ssh", "scheduler"] | None = Field(
        default=None,
        description="How node probes reach the compute nodes: auto (SSH where a node accepts it, else the "
        "scheduler), ssh, or scheduler (one srun step); --reach overrides it (default: auto).",
    )


class KubernetesReach(_Model):
    """How the compute nodes of a Kubernetes cluster are reached when they give no SSH."""

    node_pods: bool = Field(
        default=False,
        description="Run the node probes in one pod per GPU node (through the login node's kubectl), "
        "not over SSH (as `audit --node-pods`).",
    )
    pod_image: str | None = Field(
        default=None,
        description="Image of the node pods (default: nvcr.io/nvidia/cuda:12.4.1-base-ubuntu22.04); "
        "it needs bash and coreutils, the NVIDIA container runtime adds the driver's tools.",
    )
    namespace: str | None = Field(default=None, description="Namespace of the node pods (default: default).")
    kubeconfig: str | None = Field(
        default=None, description="Path of the kubeconfig on the login node (default: kubectl's own)."
    )
    context: str | None = Field(default=None, description="kubectl context (default: the current one).")
    gpu_resource: str | None = Field(
        default=None, description="Extended resource of the GPUs (default: nvidia.com/gpu)."
    )


class ProfileOverride(_Model):
    """Hardware profile to score against, instead of the detected one."""

    gpu_model: str | None = Field(default=None, description="GPU model, e.g. 'H100-SXM'.")
    gpus_per_node: int | None = Field(default=None, ge=0, description="GPUs per node.")
    fabric: str | None = Field(default=None, description="Scale-out fabric, e.g. 'infiniband-ndr' or 'roce'.")
    nic_count: int | None = Field(default=None, ge=0, description="Scale-out NICs per node.")
    nic_rate_gbps: float | None = Field(default=None, gt=0, description="Line rate of one NIC in Gb/s.")


class Inventory(_Model):
    """A cluster to audit."""

    cluster: str = Field(min_length=1, description="Cluster name (appears in reports).")
    provider: str | None = Field(default=None, description="Provider name.")
    platform: Literal["slurm", "kubernetes", "bare"] | None = Field(
        default=None, description="Force the platform instead of detecting it on the login node."
    )
    login: InventoryHost | None = Field(
        default=None,
        description="Login (head/bastion) node: runs detection, scheduler and cluster-wide probes. "
        "Default: the first compute host.",
    )
    compute: Literal["discover"] | list[InventoryHost] = Field(
        default="discover",
        description="Compute nodes: an explicit list, or 'discover' to take them from the scheduler.",
    )
    defaults: HostDefaults = Field(default_factory=HostDefaults, description="SSH defaults for every host.")
    known_hosts: list[str] = Field(
        default_factory=list, description="Extra known_hosts files (relative to the inventory file)."
    )
    probes: dict[str, dict[str, JSONValue]] = Field(
        default_factory=dict, description="Probe parameter overrides: {probe_id: {param: value}}."
    )
    profile: ProfileOverride | None = Field(
        default=None, description="Hardware profile override (Bundle.target.profile_override)."
    )
    max_nodes: int | None = Field(default=None, ge=1, description="Audit at most this many compute nodes.")
    kubernetes: KubernetesReach | None = Field(
        default=None, description="Node pods on Kubernetes (see docs/kubernetes.md)."
    )

    def login_host(self) -> InventoryHost:
        if self.login is not None:
            return self.login
        assert isinstance(self.compute, list) and self.compute
        return self.compute[0]
