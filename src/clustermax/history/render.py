"""`history list` and `history show` output: terminal, Markdown, JSON, and HTML with a trend chart.

Names that came from bundles (clusters, providers, summaries, versions) pass through the sanitiser; the
HTML page is Jinja2 with autoescaping and pygal's SVG (the project's chart helpers: no script, no request).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from ..sanitize import clean_tree, md, term

SHOWN_METRICS: tuple[tuple[str, str, str], ...] = (
    ("gpus", "gpu.count", "GPUs"),
    ("xid_critical", "gpu.xid_critical", "Xid crit"),
    ("ecc", "gpu.ecc_uncorrected", "ECC unc"),
    ("busbw", "nccl.busbw_peak_median", "busbw GB/s"),
    ("ttfj", "ttfj.batch_total_median", "TTFJ s"),
    ("driver", "gpu.driver_version", "driver"),
)


def _tier(row: dict[str, Any]) -> str:
    if row.get("tier_floor") is None:
        return "not scored"
    word = (row["tier"] or "").capitalize() if row["rated"] and row["tier"] else "Not rated"
    floor, ceiling = row["tier_floor"].capitalize(), row["tier_ceiling"].capitalize()
    return f"{word} ({floor})" if floor == ceiling else f"{word} ({floor}-{ceiling})"


def _when(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M")


def _num(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def list_rows(rows: Sequence[dict[str, Any]]) -> list[list[str]]:
    return [
        [
            str(r["id"]),
            _when(r["started_at"]),
            term(r["cluster"], 60),
            term(r["provider"] or "-", 40),
            r["kind"],
            str(r["hosts"]),
            _tier(r),
            _num(r["score"]),
            "-" if r["coverage"] is None else f"{r['coverage'] * 100:.0f}%",
            r["sha256"][:12],
        ]
        for r in rows
    ]


LIST_HEADER = [
    "id",
    "started (UTC)",
    "cluster",
    "provider",
    "kind",
    "hosts",
    "tier",
    "score",
    "coverage",
    "sha256",
]


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(header)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return "\n".join(lines) + "\n"


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(md(c) for c in r) + " |" for r in rows]
    return "\n".join(out) + "\n"


def metric_cells(metrics: Sequence[dict[str, Any]]) -> dict[str, str]:
    """The shown key metrics of one audit: the first configuration of each (inter-node busbw first)."""
    out: dict[str, str] = {}
    ordered = sorted(metrics, key=lambda m: ("scope=inter" not in m["labels"], m["labels"]))
    for key, name, _ in SHOWN_METRICS:
        row = next((m for m in ordered if m["name"] == name), None)
        if row is None:
            out[key] = "-"
        elif row["text"] is not None:
            out[key] = term(row["text"], 40)
        else:
            value = row["value"]
            digits = 0 if row["unit"] == "count" else 1
            text = _num(value, digits)
            if row["spread"] is not None and value:
                text += (
                    f" ±{row['spread'] * 100:.0f}%"
                    if row["unit"] != "s" or name != "ttfj.pod_total_median"
                    else ""
                )
            out[key] = text
    return out


SHOW_HEADER = ["id", "started (UTC)", "tier", "score", "coverage", "hosts"] + [h for _, _, h in SHOWN_METRICS]


def show_rows(rows: Sequence[dict[str, Any]], metrics: dict[int, list[dict[str, Any]]]) -> list[list[str]]:
    out = []
    for r in rows:
        cells = metric_cells(metrics.get(r["id"], []))
        out.append(
            [
                str(r["id"]),
                _when(r["started_at"]),
                _tier(r),
                _num(r["score"]),
                "-" if r["coverage"] is None else f"{r['coverage'] * 100:.0f}%",
                str(r["hosts"]),
            ]
            + [cells[k] for k, _, _ in SHOWN_METRICS]
        )
    return out


def as_json(rows: Sequence[dict[str, Any]], metrics: dict[int, list[dict[str, Any]]] | None = None) -> str:
    data = []
    for r in rows:
        item = {k: (v.isoformat() + "Z" if isinstance(v, datetime) else v) for k, v in r.items()}
        if metrics is not None:
            item["metrics"] = metrics.get(r["id"], [])
        data.append(item)
    return json.dumps(clean_tree(data), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


CHART_POINTS = 120
"""The trend chart shows the newest this many audits (the table below it shows every one)."""


def trend_chart(
    cluster: str, rows: Sequence[dict[str, Any]], metrics: dict[int, list[dict[str, Any]]]
) -> str:
    """Score (with its floor-ceiling tier range as text), coverage and inter-node busbw over time (SVG)."""
    import pygal  # type: ignore[import-untyped]

    from ..reports.charts import PALETTE, _finish, _style
    from ..sanitize import one_line

    rows = rows[-CHART_POINTS:]
    labels = [_when(r["started_at"]) for r in rows]
    chart = pygal.Line(
        style=_style(PALETTE[:3]),
        js=[],
        title=one_line(f"{cluster}: score and coverage over time", 80),
        x_title="audit (UTC)",
        y_title="0-100",
        x_labels=labels,
        x_label_rotation=30,
        range=(0, 100),
        show_minor_x_labels=len(labels) <= 24,
        x_labels_major_count=min(len(labels), 12),
        truncate_label=-1,
        disable_xml_declaration=True,
        explicit_size=False,
        width=900,
        height=420,
        margin=12,
        legend_at_bottom=True,
        dots_size=3,
        print_values=False,
    )
    chart.add("score", [r["score"] for r in rows])
    chart.add("coverage %", [None if r["coverage"] is None else round(r["coverage"] * 100, 1) for r in rows])
    busbw = []
    for r in rows:
        cell = metric_cells(metrics.get(r["id"], []))["busbw"].split(" ")[0]
        busbw.append(None if cell == "-" else float(cell))
    if any(v is not None for v in busbw):
        top = max(v for v in busbw if v is not None) or 1.0
        chart.add(
            f"busbw (% of {top:.0f} GB/s)", [None if v is None else round(v / top * 100, 1) for v in busbw]
        )
    return _finish(chart, "cmx-history-trend")


_TEMPLATE = Path(__file__).with_name("templates") / "history.html.j2"


def show_html(
    cluster: str, db: str, rows: Sequence[dict[str, Any]], metrics: dict[int, list[dict[str, Any]]]
) -> str:
    import jinja2

    from ..sanitize import clean

    env = jinja2.Environment(autoescape=True)
    chart = trend_chart(clean(cluster), rows, metrics)  # pygal escapes every label it serialises
    return env.from_string(_TEMPLATE.read_text(encoding="utf-8")).render(
        cluster=clean(cluster),
        db=clean(db),
        count=len(rows),
        points=CHART_POINTS,
        chart=chart,
        header=SHOW_HEADER,
        rows=[[clean(c) for c in r] for r in show_rows(rows, metrics)],
    )
