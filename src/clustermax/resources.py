"""Where the data shipped with clustermax lives (probes/ and rubrics/).

In a wheel they are package data under ``clustermax/_data``; in a source checkout (editable
install, or tests) they are the top-level folders of the repository.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


@cache
def _data_dir(name: str) -> Path:
    packaged = _PACKAGE_DIR / "_data" / name
    if packaged.is_dir():
        return packaged
    source = _PACKAGE_DIR.parent.parent / name
    if source.is_dir():
        return source
    raise FileNotFoundError(f"clustermax data folder {name!r} not found (looked in {packaged} and {source})")


def probes_dir() -> Path:
    return _data_dir("probes")


def rubrics_dir() -> Path:
    return _data_dir("rubrics")
