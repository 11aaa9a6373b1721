"""What ``srun`` tells about the cluster: MPI plugins (``srun --mpi=list``), pyxis (``srun --help``)."""

from __future__ import annotations

import re

_MPI_HEADER = re.compile(r"^MPI (plugin )?types are", re.IGNORECASE)
_PMIX_VERSIONS = re.compile(r"^specific pmix plugin versions available:\s*(?P<v>.*)$", re.IGNORECASE)
_PLUGIN = re.compile(r"(mpi/)?[A-Za-z0-9_.\-]+")
_CONTAINER_IMAGE = re.compile(r"--container-image\b")


def mpi_plugins(text: str) -> list[str]:
    """MPI plugin names from ``srun --mpi=list``, old and new formats.

    Slurm >= 22.05 prints ``MPI plugin types are...`` then one tab-indented name per line and
    ``specific pmix plugin versions available: pmix_v4,pmix_v5``; older releases print
    ``srun: MPI types are...`` then ``srun: <name>`` lines (on stderr), some with an ``mpi/`` prefix.
    Versioned pmix plugins are listed after the generic names. Order of first appearance is kept.
    """
    names: list[str] = []
    started = False
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        body = line[len("srun:") :].strip() if line.startswith("srun:") else line
        if _MPI_HEADER.match(body):
            started = True
            continue
        m = _PMIX_VERSIONS.match(body)
        if m:
            names.extend(v.strip() for v in m.group("v").split(",") if v.strip())
            continue
        if not started:
            continue
        if _PLUGIN.fullmatch(body):
            names.append(body.removeprefix("mpi/"))
    return list(dict.fromkeys(names))


def pyxis_in_help(text: str) -> bool:
    """pyxis adds ``--container-image`` (and other ``[pyxis]`` options) to ``srun --help``."""
    return bool(_CONTAINER_IMAGE.search(text)) or "[pyxis]" in text
