"""``sinfo --version`` / ``srun --version``: ``slurm 23.11.4``, ``slurm-wlm 22.05.8``."""

from __future__ import annotations

import re

_VERSION = re.compile(r"^slurm(?:-wlm)?\s+(?P<v>\d+\.\d+(?:\.\d+)?\S*)", re.MULTILINE | re.IGNORECASE)


def slurm_version(text: str) -> str | None:
    """``slurm 23.11.4`` / ``slurm-wlm 22.05.8`` -> the version; None when no line says it."""
    m = _VERSION.search(text)
    return m.group("v") if m else None
