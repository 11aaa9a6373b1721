"""Small host outputs the node probes print: /etc/os-release fields, sysctl values, installed kernel
packages, NUMA nodes, the NVIDIA driver's parameters, the linker cache, ``nvidia-smi boost-slider --list``,
nsswitch and PAM, ``sudo -n -l``, ``module -t avail``, ``scontrol show topology`` levels, and the lines the
probe scripts compose from sysfs (RDMA devices, IPMI and KVM device nodes, IOMMU groups).

Pure; every reader returns None, an empty result, or what it could read of a partial text; none raises.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# ------------------------------------------------------------------------------------------ os-release


def os_release(text: str) -> dict[str, str]:
    """KEY=value lines of /etc/os-release, quotes removed."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.strip().partition("=")
        if not sep or not key or key.startswith("#"):
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        values[key] = value
    return values


def distro_id(fields: dict[str, str]) -> str | None:
    """``ubuntu-24.04``, ``debian-12``, ``rhel-9.4`` ...: ID and VERSION_ID of /etc/os-release."""
    ident = fields.get("ID", "").strip().lower()
    version = fields.get("VERSION_ID", "").strip()
    if not ident:
        return None
    return f"{ident}-{version}" if version else ident


# ------------------------------------------------------------------------------------------ sysctl


_SYSCTL_PATH = re.compile(r"^/proc/sys/(?P<name>[\w/.-]+):(?P<value>.*)$")
_SYSCTL_EQ = re.compile(r"^(?P<name>[\w.]+)\s*=\s*(?P<value>.*)$")


def sysctl_values(text: str) -> dict[str, int]:
    """``/proc/sys/kernel/kptr_restrict:0`` (grep -H) or ``kernel.kptr_restrict = 0`` (sysctl) lines ->
    {``kernel.kptr_restrict``: 0}; values that are not one integer are left out."""
    out: dict[str, int] = {}
    for raw in text.splitlines():
        line = raw.strip()
        m = _SYSCTL_PATH.match(line)
        name = m.group("name").replace("/", ".") if m else None
        if m is None:
            m = _SYSCTL_EQ.match(line)
            name = m.group("name") if m else None
        if m is None or name is None:
            continue
        value = m.group("value").strip()
        if re.fullmatch(r"-?\d+", value):
            out[name] = int(value)
    return out


# ------------------------------------------------------------------------------------------ kernels


@dataclass(frozen=True)
class KernelPackage:
    name: str
    """linux-image-6.8.0-124-generic, kernel-core ..."""
    version: str
    """The package version (6.8.0-124.124; 5.14.0-427.13.1.el9_4.x86_64 for rpm)."""
    release: str
    """The kernel release it installs, as ``uname -r`` prints it."""


_DPKG_KERNEL = re.compile(
    r"^(?:(?P<status>[a-z][a-zA-Z]?[A-Z]?)\s+)?(?P<name>linux-image-(?P<rel>\d\S*))\s+(?P<version>\d\S*)(?:\s.*)?$"
)
_RPM_KERNEL = re.compile(r"^(?P<name>kernel(?:-core)?)\s+(?P<version>\d\S*)\s*$")


def kernel_packages(text: str) -> list[KernelPackage]:
    """Installed kernel images: ``ii linux-image-6.8.0-124-generic 6.8.0-124.124`` lines of dpkg-query
    with the status (``ii``/``hi`` installed; ``un``, ``rc`` not), the same without it (``dpkg-query -W``:
    name and version), ``dpkg -l`` rows, and ``kernel-core 5.14.0-427.el9.x86_64`` lines of rpm. Meta
    packages (linux-image-generic, linux-image-amd64) are left out."""
    out: list[KernelPackage] = []
    for raw in text.splitlines():
        line = raw.strip()
        m = _DPKG_KERNEL.match(line)
        if m:
            status = (m.group("status") or "ii").strip()
            if len(status) >= 2 and status[1] == "i":  # installed (ii, hi, iF ...); un, rc are not
                out.append(KernelPackage(m.group("name"), m.group("version"), m.group("rel")))
            continue
        m = _RPM_KERNEL.match(line)
        if m:
            out.append(KernelPackage(m.group("name"), m.group("version"), m.group("version")))
    return out


_FLAVOUR = re.compile(r"^(?P<base>\d+\.\d+(?:\.\d+)?(?:-\d+)?)(?P<flavour>.*)$")


@dataclass(frozen=True)
class KernelRelease:
    base: str
    """``6.8.0-124`` of ``6.8.0-124-generic``; ``6.18.44`` of ``6.18.44-fc-v1147``."""
    flavour: str
    """What follows: ``-generic``, ``-amd64``, ``.el9_4.x86_64``, ``-fc-v1147``."""


def kernel_release(release: str) -> KernelRelease | None:
    m = _FLAVOUR.match(release.strip())
    if not m:
        return None
    return KernelRelease(m.group("base"), m.group("flavour"))


# ------------------------------------------------------------------------------------------ NUMA


@dataclass(frozen=True)
class NumaNode:
    node: int
    cpus: str
    """The cpulist, empty for a node without CPUs (memory only)."""
    mem_kb: int | None


_NUMA = re.compile(r"^node(?P<n>\d+)\s+cpus=(?P<cpus>\S*)\s+kb=(?P<kb>\d*)\s*$")


def numa_nodes(text: str) -> list[NumaNode]:
    """The NUMA nodes of ``numactl -H``, or of the gpu_stack probe's sysfs lines
    (``node1 cpus= kb=100663296``: cpulist and MemTotal) when numactl is not installed."""
    if text.lstrip().startswith("available:"):
        return numactl_nodes(text)
    out = []
    for line in text.splitlines():
        m = _NUMA.match(line.strip())
        if m:
            out.append(
                NumaNode(int(m.group("n")), m.group("cpus"), int(m.group("kb")) if m.group("kb") else None)
            )
    return out


_NUMACTL_CPUS = re.compile(r"^node (?P<n>\d+) cpus:(?P<cpus>.*)$")
_NUMACTL_SIZE = re.compile(r"^node (?P<n>\d+) size: (?P<mb>\d+) MB$")


def numactl_nodes(text: str) -> list[NumaNode]:
    """The nodes of ``numactl -H`` (``node 1 cpus:`` / ``node 1 size: 97280 MB``)."""
    cpus: dict[int, str] = {}
    sizes: dict[int, int] = {}
    for raw in text.splitlines():
        line = raw.strip()
        m = _NUMACTL_CPUS.match(line)
        if m:
            cpus[int(m.group("n"))] = m.group("cpus").strip()
            continue
        m = _NUMACTL_SIZE.match(line)
        if m:
            sizes[int(m.group("n"))] = int(m.group("mb")) * 1024
    return [NumaNode(n, cpus[n], sizes.get(n)) for n in sorted(cpus)]


# ------------------------------------------------------------------------------------------ NVIDIA driver


def driver_params(text: str) -> dict[str, str]:
    """``Key: value`` lines of /proc/driver/nvidia/params."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", key.strip()):
            out[key.strip()] = value.strip().strip('"')
    return out


_NVREG = re.compile(r"NVreg_RestrictProfilingToAdminUsers\s*=\s*(?P<v>\d+)")


def restrict_profiling_setting(text: str) -> int | None:
    """The last NVreg_RestrictProfilingToAdminUsers=N of ``options nvidia ...`` lines (not comments)."""
    value = None
    for line in text.splitlines():
        if line.strip().startswith("#"):
            continue
        for m in _NVREG.finditer(line):
            value = int(m.group("v"))
    return value


_LDCONFIG = re.compile(r"^\s*(?P<name>\S+)\s+\((?P<tags>[^)]*)\)\s+=>\s+(?P<path>\S+)\s*$")


def ldconfig_libraries(text: str, prefix: str) -> list[str]:
    """Paths of the ``ldconfig -p`` entries whose name starts with ``prefix`` (``libnccl.so``)."""
    return [
        m.group("path")
        for line in text.splitlines()
        if (m := _LDCONFIG.match(line)) and m.group("name").startswith(prefix)
    ]


@dataclass(frozen=True)
class BoostSlider:
    gpu: int
    max_value: int
    current: int


_SLIDER = re.compile(r"^\|\s*(?P<gpu>\d+)\s+vboost\s+(?P<max>\d+)\s+(?P<cur>\d+)\s*\|$")


def boost_sliders(text: str) -> list[BoostSlider]:
    """The vboost rows of ``nvidia-smi boost-slider --list`` (GPU, max value, current value)."""
    return [
        BoostSlider(int(m.group("gpu")), int(m.group("max")), int(m.group("cur")))
        for line in text.splitlines()
        if (m := _SLIDER.match(line.strip()))
    ]


# ------------------------------------------------------------------------------------------ identity


def nsswitch_sources(text: str) -> dict[str, list[str]]:
    """{``passwd``: [files, sss], ``group``: [...]} of /etc/nsswitch.conf (actions like [NOTFOUND=return]
    are left out)."""
    out: dict[str, list[str]] = {}
    for line in text.splitlines():
        body = line.split("#", 1)[0].strip()
        key, sep, rest = body.partition(":")
        if sep and key.strip() in ("passwd", "group", "shadow"):
            out[key.strip()] = [w for w in rest.split() if not w.startswith("[")]
    return out


_PAM_COUNT = re.compile(r"^\s*(?:(?P<n>\d+)\s+)?(?P<mod>pam_[A-Za-z0-9_]+)\.so\s*$")


def pam_modules(text: str) -> set[str]:
    """Module names (``pam_sss``) of ``uniq -c`` lines (``  2 pam_sss.so``) or bare ``pam_sss.so`` lines."""
    return {m.group("mod") for line in text.splitlines() if (m := _PAM_COUNT.match(line))}


@dataclass(frozen=True)
class SudoRights:
    kind: str
    """``passwordless-all``, ``passwordless-some``, ``password``, or ``unknown`` (an answer not read)."""
    rules: list[str] = field(default_factory=list)


_SUDO_RULE = re.compile(r"^\s+\((?P<runas>[^)]*)\)\s+(?P<tags>(?:[A-Z_]+:\s*)*)(?P<cmds>.+)$")


def sudo_rights(text: str) -> SudoRights:
    """What ``sudo -n -l`` (stdout and stderr together) says the user may run.

    ``User x may run the following commands`` with a ``(ALL) NOPASSWD: ALL`` rule: passwordless-all; only
    some NOPASSWD commands: passwordless-some; rules that need a password, or ``sudo: a password is
    required`` (sudo needs the password even to list them): password."""
    rules = [m.group(0).strip() for line in text.splitlines() if (m := _SUDO_RULE.match(line))]
    if "may run the following commands" in text and rules:
        nopasswd = [r for r in rules if "NOPASSWD:" in r]
        everything = [r for r in nopasswd if re.search(r"NOPASSWD:\s*ALL\s*$", r)]
        if everything:
            return SudoRights("passwordless-all", rules)
        if nopasswd:
            return SudoRights("passwordless-some", rules)
        return SudoRights("password", rules)
    if "a password is required" in text or "password is required" in text:
        return SudoRights("password", [])
    return SudoRights("unknown", rules)


# ------------------------------------------------------------------------------------------ modules


@dataclass(frozen=True)
class ModuleListing:
    system: str | None
    """``lmod``, ``environment-modules`` or None (no ``module`` command in a login shell)."""
    modules: list[str]


_MODULE_MARK = re.compile(r"^\((?:[A-Za-z]+,?)+\)$")
_MODULE_NAME = re.compile(r"^[A-Za-z0-9_+.-]+(?:/[A-Za-z0-9_+.-]+)*$")


def module_listing(text: str) -> ModuleListing | None:
    """The access_identity probe's ``modules`` section: ``@@module-system ...`` then the listing of
    ``module -t avail`` (one name per line, folder headers ending with ``:``) or of ``module avail``
    (columns under ``---- folder ----`` headers, ``(L)``/``(D)`` marks), or ``@@no-module-system``. None
    when neither marker is there (the login shell did not run)."""
    lines = text.splitlines()
    marker = next((line for line in lines if line.startswith("@@")), None)
    if marker is None:
        return None
    if marker.startswith("@@no-module-system"):
        return ModuleListing(None, [])
    system = "lmod" if "lmod" in marker.split() else "environment-modules"
    names = []
    for line in lines:
        body = line.strip()
        if not body or body.startswith("@@") or body.endswith(":") or "----" in body:
            continue
        if body.startswith(("Where:", "Use ", "If the avail", "Aliases:")) or re.match(
            r"^[A-Za-z]+:\s", body
        ):
            continue
        for token in body.split():
            token = token.removesuffix("(default)").rstrip("/")
            if _MODULE_MARK.match(token) or not _MODULE_NAME.match(token):
                continue
            names.append(token)
    return ModuleListing(system, names)


GPU_MODULE = re.compile(
    r"^(?:cuda|cudatoolkit|hpcx|hpc-x|nccl|nvhpc|nvidia-hpc-sdk|nvidia)(?:[/_-]|$)", re.IGNORECASE
)


# ------------------------------------------------------------------------------------------ Slurm


_LEVEL = re.compile(r"\bLevel=(?P<level>\d+)")


def topology_levels(text: str) -> int | None:
    """Switch levels of ``scontrol show topology`` (tree plugin: 1 + the highest ``Level=``); None without
    switch records (no topology plugin, or ``No topology information available``)."""
    levels = [int(m.group("level")) for m in _LEVEL.finditer(text)]
    return max(levels) + 1 if levels else None


# ------------------------------------------------------------------------------------------ RDMA devices


@dataclass(frozen=True)
class RdmaDevice:
    name: str
    firmware: str | None
    vendor: str | None
    device: str | None
    pci: str | None
    link_layers: list[str]


_KV = re.compile(r"(?P<k>fw|vendor|device|pci|link)=(?P<v>\S*)")


def rdma_devices(text: str) -> list[RdmaDevice]:
    """``mlx5_0 fw=28.39.1002 vendor=0x15b3 device=0x1021 pci=0000:3b:00.0 link=InfiniBand`` lines."""
    out = []
    for line in text.splitlines():
        parts = line.split(None, 1)
        if not parts:
            continue
        values = {m.group("k"): m.group("v") for m in _KV.finditer(parts[1] if len(parts) > 1 else "")}
        out.append(
            RdmaDevice(
                name=parts[0],
                firmware=values.get("fw") or None,
                vendor=(values.get("vendor") or "").lower() or None,
                device=(values.get("device") or "").lower() or None,
                pci=values.get("pci") or None,
                link_layers=[v for v in (values.get("link") or "").split(",") if v],
            )
        )
    return out


_NCCL_VAR = re.compile(r"^\s*(?:export\s+)?(?P<k>NCCL_[A-Z0-9_]+)\s*=\s*(?P<v>.*?)\s*$")


def nccl_settings(text: str) -> dict[str, str]:
    """``NCCL_X=value`` lines of /etc/nccl.conf or of ``env`` (comments and blank lines left out)."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        if line.strip().startswith("#"):
            continue
        m = _NCCL_VAR.match(line)
        if m:
            out[m.group("k")] = m.group("v").strip("\"'")
    return out
