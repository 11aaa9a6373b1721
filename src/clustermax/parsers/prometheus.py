"""Prometheus text exposition format (an exporter's ``/metrics`` body): which metric names it exports."""

from __future__ import annotations

import re

_NAME = re.compile(r"^(?:# (?:TYPE|HELP) )?([A-Za-z_:][A-Za-z0-9_:]*)")


def exported_names(body: str) -> set[str]:
    """Metric names in a Prometheus text body (samples, and HELP/TYPE lines)."""
    names = set()
    for line in body.splitlines():
        line = line.strip()
        if not line or (line.startswith("#") and not line.startswith(("# TYPE ", "# HELP "))):
            continue
        m = _NAME.match(line)
        if m:
            names.add(m.group(1))
    return names
