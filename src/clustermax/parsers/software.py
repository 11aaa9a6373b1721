"""Version lines of the tools the software probes read (nvcc, runc, docker, apptainer, perf, dcgmi, ncu,
the NVIDIA Container Toolkit, enroot, dcgm-exporter) and the "<package> <version>" lines of the package
managers. Pure; every reader returns None (or an empty result) for text it cannot read, never raises.

Each reader takes the output a real tool prints (see tests/data/software/ for recorded ones) and returns
the version as the tool states it. Whether a version is a distro build is decided where it is judged
(:mod:`clustermax.scoring.versions`), from the distro's mark in the package version (``+deb12u1``,
``ubuntu``, ``.el9`` ...): a probe reports the package's version when the tool's own package owns the
binary.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_NVCC = re.compile(r"Cuda compilation tools, release (?P<rel>\d+\.\d+), V(?P<full>\d+(?:\.\d+)+)")
_RUNC = re.compile(r"^runc version (?P<v>\S+)", re.MULTILINE)
_DOCKER_CLIENT = re.compile(r"^Docker version (?P<v>[0-9][^\s,]*)", re.MULTILINE)
_APPTAINER = re.compile(r"^(?P<tool>apptainer|singularity(?:-ce)?) version (?P<v>\S+)", re.MULTILINE)
_PERF = re.compile(r"^perf version (?P<v>\d[^\s]*)", re.MULTILINE)
_DCGMI_VERSION = re.compile(r"^\s*dcgmi\s+version:\s*(?P<v>\d+(?:\.\d+)+)", re.MULTILINE)
_DCGMI_BUILD = re.compile(r"^\s*Version\s*:\s*(?P<v>\d+(?:\.\d+)+)\s*$", re.MULTILINE)
_NCU = re.compile(r"^Version (?P<v>\d+(?:\.\d+)+)", re.MULTILINE)
_NCT = re.compile(
    r"^NVIDIA Container (?:Toolkit CLI|Runtime|Toolkit) version (?P<v>\d+(?:\.\d+)+(?:-[0-9A-Za-z.]+)?)",
    re.MULTILINE,
)
_ENROOT = re.compile(r"^\s*(?P<v>\d+\.\d+(?:\.\d+)*)\s*$")
_EXPORTER_TAG = re.compile(
    r"(?:^|[/:])(?P<dcgm>\d+\.\d+\.\d+)-(?P<exporter>\d+\.\d+\.\d+)(?:-(?P<os>[\w.]+))?$"
)
_EXPORTER_CLI = re.compile(r"dcgm-exporter version (?P<v>\S+)", re.IGNORECASE)


def nvcc_release(text: str) -> str | None:
    """``Cuda compilation tools, release 13.0, V13.0.88`` -> ``13.0.88`` (the full toolkit version)."""
    m = _NVCC.search(text)
    return m.group("full") if m else None


def runc_version(text: str) -> str | None:
    """``runc version 1.1.5+ds1`` -> ``1.1.5+ds1``; also the runc block of ``nvidia-container-runtime``."""
    m = _RUNC.search(text)
    return m.group("v") if m else None


def docker_client_version(text: str) -> str | None:
    """``Docker version 28.2.2, build e6534b4`` -> ``28.2.2``; None for podman's docker shim and others."""
    m = _DOCKER_CLIENT.search(text)
    return m.group("v") if m else None


def docker_server_version(text: str) -> str | None:
    """The Engine version of the ``Server:`` block of ``docker version`` (None when the daemon did not
    answer: the block is missing), or the one line ``docker version --format '{{.Server.Version}}'``
    prints."""
    lines = [line.rstrip() for line in text.splitlines()]
    in_server = in_engine = False
    for line in lines:
        if line.startswith("Server:"):
            in_server, in_engine = True, False
            continue
        if in_server and line and not line.startswith(" "):
            in_server = False
        if in_server:
            stripped = line.strip()
            if stripped.endswith(":") and not stripped.startswith("Version"):
                in_engine = stripped == "Engine:"
                continue
            if in_engine and stripped.startswith("Version:"):
                return stripped.split(":", 1)[1].strip() or None
    rows = [line.strip() for line in lines if line.strip()]
    if len(rows) == 1 and re.fullmatch(r"\d+(?:\.\d+)+(?:[-+~][0-9A-Za-z.+~-]+)?", rows[0]):
        return rows[0]
    return None


def docker_unreachable(stderr: str) -> str | None:
    """Why the docker CLI could not reach a daemon, in its own words (None: it did not say)."""
    for line in stderr.splitlines():
        low = line.lower()
        if "cannot connect to the docker daemon" in low or "permission denied while trying to connect" in low:
            return line.strip()
        if "is the docker daemon running" in low:
            return line.strip()
    return None


@dataclass(frozen=True)
class ToolVersion:
    tool: str
    version: str


def apptainer_version(text: str) -> ToolVersion | None:
    """``apptainer version 1.4.4-1.el9`` -> (apptainer, 1.4.4-1.el9); ``singularity-ce version 4.1.2`` too."""
    m = _APPTAINER.search(text)
    return ToolVersion(m.group("tool"), m.group("v")) if m else None


def perf_version(text: str) -> str | None:
    """``perf version 6.1.187`` -> ``6.1.187``."""
    m = _PERF.search(text)
    return m.group("v") if m else None


def dcgmi_version(text: str) -> str | None:
    """``dcgmi  version: 4.7.0`` (``dcgmi --version``, some builds print a blank line first), or the
    ``Version : 3.3.5`` line of the build info ``dcgmi -v`` / ``nv-hostengine --version`` print."""
    m = _DCGMI_VERSION.search(text) or _DCGMI_BUILD.search(text)
    return m.group("v") if m else None


def ncu_version(text: str) -> str | None:
    """``Version 2024.3.2.0 (build 34861637) (public-release)`` of ``ncu --version`` -> ``2024.3.2.0``."""
    if "Nsight Compute" not in text:
        return None
    m = _NCU.search(text)
    return m.group("v") if m else None


def container_toolkit_version(text: str) -> str | None:
    """``NVIDIA Container Toolkit CLI version 1.17.8`` (nvidia-ctk) or ``NVIDIA Container Runtime version
    1.13.5`` (nvidia-container-runtime) -> the toolkit version."""
    m = _NCT.search(text)
    return m.group("v") if m else None


def enroot_version(text: str) -> str | None:
    """``enroot version`` prints the bare version (``4.2.1``)."""
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) != 1:
        return None
    m = _ENROOT.match(lines[0])
    return m.group("v") if m else None


@dataclass(frozen=True)
class ExporterImage:
    """A dcgm-exporter image tag ``<DCGM>-<exporter>[-<os>]`` (``4.5.3-4.8.2-ubuntu22.04``)."""

    dcgm: str
    exporter: str


def dcgm_exporter_image(image: str) -> ExporterImage | None:
    """``nvcr.io/nvidia/k8s/dcgm-exporter:2.2.9-2.4.1-ubuntu18.04`` -> (2.2.9, 2.4.1); None for another
    image, a digest, or a tag that is not ``<DCGM>-<exporter>``."""
    name, sep, tag = image.strip().rpartition(":")
    if not sep or "dcgm-exporter" not in name.rsplit("/", 1)[-1] or "@" in image:
        return None
    m = _EXPORTER_TAG.search(":" + tag)
    return ExporterImage(m.group("dcgm"), m.group("exporter")) if m else None


def dcgm_exporter_cli_version(text: str) -> str | None:
    """``dcgm-exporter version 4.1.1-4.0.4`` -> the exporter part (``4.0.4``) when it is a pair."""
    m = _EXPORTER_CLI.search(text)
    if not m:
        return None
    value = m.group("v")
    pair = _EXPORTER_TAG.search(":" + value)
    return pair.group("exporter") if pair else value


_DPKG_STATUS = re.compile(r"^[uirhpn][nicUFWHt][R ]?$")


def package_lines(text: str) -> dict[str, str]:
    """Installed packages -> version, from ``<package> <version>`` lines (what the probes print from
    dpkg-query -W -f / rpm -q --qf; a ``package`` prefix is skipped) or ``dpkg -l`` rows (``ii  name
    version arch description``; only installed rows, status ``?i``)."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        parts = line.split()
        if parts and parts[0] == "package":
            parts = parts[1:]
        if len(parts) >= 3 and _DPKG_STATUS.match(parts[0]):
            if parts[0][1] != "i":
                continue
            parts = parts[1:3]
        if len(parts) != 2 or not re.match(r"^[A-Za-z0-9][A-Za-z0-9.+_:-]*$", parts[0]):
            continue
        if re.match(r"^\d", parts[1].split(":")[-1]):
            out[parts[0].split(":")[0]] = parts[1]
    return out


def strip_epoch(version: str) -> str:
    """``1:8.2.2+ds-0ubuntu1.10`` -> ``8.2.2+ds-0ubuntu1.10`` (the epoch only orders package versions)."""
    head, sep, tail = version.partition(":")
    return tail if sep and head.isdigit() else version
