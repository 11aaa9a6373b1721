"""CSV: one row per criterion (single cluster) or one row per provider x metric (comparison)."""

from __future__ import annotations

from .model import Report
from .tables import comparison_long_frame, criteria_frame, csv_safe


def render_csv(report: Report) -> str:
    frame = comparison_long_frame(report) if report.mode == "compare" else criteria_frame(report.clusters[0])
    text: str = csv_safe(frame).to_csv(index=False, lineterminator="\n")
    return text
