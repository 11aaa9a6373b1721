"""Charts as inline SVG, drawn with pygal (pure Python, SVG with real text, no JavaScript needed).

pygal builds the SVG as an ElementTree, so every label (host names, provider names) is XML-escaped by the
serializer. Two things are removed through pygal's own ``add_xml_filter`` hook so the report stays
self-contained and deterministic: ``<script>`` elements (pygal's tooltip config; we load no pygal.js, so
the page makes no request and runs no script) and comments (which carry today's date). Chart ids are
given, not random, so the same input renders the same bytes.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from typing import Any

from .build import BAND_HIGH, BAND_LOW
from .model import BusbwCurve, CurvePoint, ReferenceLine, TtfjSample
from .text import one_line

PALETTE = (
    "#1f77b4",
    "#d62728",
    "#2ca02c",
    "#9467bd",
    "#ff7f0e",
    "#17becf",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
)
BAND_COLOR = "rgba(255, 193, 7, 0.22)"
REFERENCE_COLOR = "#111111"


def _style(colors: Sequence[str]) -> Any:
    from pygal.style import Style  # type: ignore[import-untyped]

    return Style(
        background="transparent",
        plot_background="#ffffff",
        foreground="#222222",
        foreground_strong="#111111",
        foreground_subtle="#777777",
        font_family="system-ui, -apple-system, 'Segoe UI', Roboto, 'Liberation Sans', sans-serif",
        colors=tuple(colors),
        opacity="1",
        opacity_hover="1",
        transition="0ms",
        title_font_size=16,
        label_font_size=12,
        major_label_font_size=12,
        legend_font_size=12,
        value_font_size=11,
        tooltip_font_size=12,
    )


def _strip_scripts_and_comments(root: Any) -> Any:
    for parent in list(root.iter()):
        for child in list(parent):
            tag = child.tag
            if callable(tag) or (isinstance(tag, str) and tag.rsplit("}", 1)[-1] == "script"):
                parent.remove(child)
    return root


def _hollow_css(chart_id: str, hollow: Sequence[int]) -> list[str]:
    """pygal's stylesheets, plus white dots ringed in the series colour for the series drawn over an
    identical one (pygal numbers series from 0 in the order they were added)."""
    rules = "".join(f"#chart-{chart_id} .serie-{k} .dot {{ fill: none; stroke-width: 2px; }}" for k in hollow)
    return ["file://style.css", "file://graph.css", *(["inline:" + rules] if hollow else [])]


def _finish(chart: Any, chart_id: str) -> str:
    chart.uuid = chart_id
    chart.add_xml_filter(_strip_scripts_and_comments)
    svg: str = chart.render(is_unicode=True)
    return svg


def _size_label(log2_size: float) -> str:
    size = 2 ** round(log2_size)
    for unit, scale in (("G", 2**30), ("M", 2**20), ("K", 2**10)):
        if size >= scale:
            return f"{size // scale}{unit}"
    return f"{size}"


def _xy(
    title: str,
    colors: Sequence[str],
    x_range: tuple[int, int],
    y_max: float,
    legend_columns: int,
    css: list[str],
) -> Any:
    import pygal  # type: ignore[import-untyped]

    # pygal sizes the legend rows into the height: grow the height with the number of legend rows.
    rows = math.ceil(len(colors) / legend_columns)

    return pygal.XY(
        style=_style(colors),
        js=[],
        css=css,
        title=title,
        x_title="message size (bytes, log scale)",
        y_title="busbw (GB/s)",
        x_labels=list(
            range(x_range[0], x_range[1] + 1, max(1, math.ceil((x_range[1] - x_range[0] + 1) / 12)))
        ),
        truncate_label=-1,
        x_value_formatter=_size_label,
        value_formatter=lambda y: f"{y:.1f}",
        range=(0, y_max),
        xrange=x_range,
        show_x_guides=False,
        dots_size=2.5,
        stroke_style={"width": 2},
        legend_at_bottom=True,
        legend_at_bottom_columns=legend_columns,
        legend_box_size=12,
        truncate_legend=48,
        disable_xml_declaration=True,
        explicit_size=False,
        width=900,
        height=440 + 20 * rows,
        margin=12,
        margin_bottom=32,  # pygal leaves no room for the last legend row otherwise
        print_values=False,
        tooltip_border_radius=4,
    )


def _add_band_and_reference(
    chart: Any, x_range: tuple[int, int], y_max: float, references: Sequence[ReferenceLine]
) -> None:
    """Shade 16-512 MiB and draw the hardware reference(s) (colours: BAND_COLOR, then REFERENCE_COLOR)."""
    chart.add(
        "16-512 MiB band",
        [(math.log2(BAND_LOW), y_max), (math.log2(BAND_HIGH), y_max)],
        fill=True,
        show_dots=False,
        stroke_style={"width": 0},
    )
    for ref in references:
        chart.add(
            one_line(f"reference {ref.busbw_gbps:g} GB/s: {ref.label}", 80),
            [(x_range[0], ref.busbw_gbps), (x_range[1], ref.busbw_gbps)],
            show_dots=False,
            stroke_style={"width": 2, "dasharray": "6, 4"},
        )


OVERLAP_TOLERANCE = 0.01
"""Two series whose values differ by at most 1% at every size they share are drawn over each other."""


def overlaps(series: Sequence[tuple[str, Sequence[CurvePoint]]]) -> dict[int, tuple[int, bool]]:
    """For each series that lies on an earlier one: index -> (index of that earlier series, identical).

    Identical: the same sizes with the same values. Otherwise within OVERLAP_TOLERANCE at every size of the
    same set of sizes. Such a series would hide under the other one; the charts draw it dashed, with larger
    hollow dots, and the reports say which series it matches.
    """
    out: dict[int, tuple[int, bool]] = {}
    for i, (_, points) in enumerate(series):
        mine = {p.size_bytes: p.busbw_gbps for p in points}
        for j in range(i):
            theirs = {p.size_bytes: p.busbw_gbps for p in series[j][1]}
            if not mine or set(mine) != set(theirs):
                continue
            if mine == theirs:
                out[i] = (j, True)
                break
            if all(
                abs(v - theirs[k]) <= OVERLAP_TOLERANCE * max(abs(theirs[k]), 1e-9) for k, v in mine.items()
            ):
                out[i] = (j, False)
                break
    return out


def overlap_notes(series: Sequence[tuple[str, Sequence[CurvePoint]]]) -> list[str]:
    """One sentence per series drawn over another ('b is identical to a: drawn dashed over it')."""
    notes = []
    for i, (j, identical) in overlaps(series).items():
        how = "identical to" if identical else "within 1% of"
        notes.append(
            f"{one_line(series[i][0], 80)} is {how} {one_line(series[j][0], 80)} at every size: drawn "
            "dashed, with hollow dots, over it."
        )
    return notes


def _overlap_style(overlapping: bool) -> dict[str, Any]:
    if not overlapping:
        return {}
    return {"stroke_style": {"width": 3, "dasharray": "10, 7"}, "dots_size": 5, "fill": False}


def _x_range(points: Sequence[CurvePoint]) -> tuple[int, int]:
    sizes = [p.size_bytes for p in points if p.size_bytes > 0]
    low = min(math.floor(math.log2(min(sizes))), 24) if sizes else 24
    high = max(math.ceil(math.log2(max(sizes))), 29) if sizes else 33
    return low, high


def busbw_chart(
    curves: Sequence[BusbwCurve], references: Sequence[ReferenceLine], title: str, chart_id: str
) -> str:
    """Busbw against message size, one line per run, the reference dashed, the 16-512 MiB band shaded."""
    points = [p for c in curves for p in c.points]
    x_range = _x_range(points)
    top = max([p.busbw_gbps for p in points] + [r.busbw_gbps for r in references] + [1.0])
    y_max = math.ceil(top * 1.1 / 10) * 10
    colors = (
        [BAND_COLOR]
        + [REFERENCE_COLOR] * len(references)
        + [PALETTE[i % len(PALETTE)] for i in range(len(curves))]
    )
    named = [(curve_label(curve), curve.points) for curve in curves]
    lying_on = overlaps(named)
    css = _hollow_css(chart_id, [1 + len(references) + i for i in lying_on])
    chart = _xy(title, colors, x_range, y_max, legend_columns=3, css=css)
    _add_band_and_reference(chart, x_range, y_max, references)
    for i, (name, pts) in enumerate(named):
        label = name if i not in lying_on else f"{name} (= {named[lying_on[i][0]][0]})"
        chart.add(
            one_line(label, 60),
            [(math.log2(p.size_bytes), p.busbw_gbps) for p in pts if p.size_bytes > 0],
            **_overlap_style(i in lying_on),
        )
    return _finish(chart, chart_id)


def curve_label(curve: BusbwCurve) -> str:
    return f"run {curve.run}" if curve.run else curve.config


def compare_busbw_chart(
    series: Sequence[tuple[str, Sequence[CurvePoint]]],
    title: str,
    chart_id: str,
) -> str:
    """Median busbw curves of several providers on one plot, the 16-512 MiB band shaded."""
    points = [p for _, pts in series for p in pts]
    x_range = _x_range(points)
    y_max = math.ceil(max([p.busbw_gbps for p in points] + [1.0]) * 1.1 / 10) * 10
    colors = [BAND_COLOR] + [PALETTE[i % len(PALETTE)] for i in range(len(series))]
    lying_on = overlaps(series)
    chart = _xy(
        title, colors, x_range, y_max, legend_columns=2, css=_hollow_css(chart_id, [1 + i for i in lying_on])
    )
    _add_band_and_reference(chart, x_range, y_max, [])
    dots = len(series) <= 8  # with many providers, lines only: dots (and their tooltips) would be clutter
    for i, (name, pts) in enumerate(series):
        label = one_line(name, 60) if i not in lying_on else f"{one_line(name, 40)} (dashed: see note)"
        chart.add(
            label,
            [(math.log2(p.size_bytes), p.busbw_gbps) for p in pts if p.size_bytes > 0],
            show_dots=dots or i in lying_on,
            **_overlap_style(i in lying_on),
        )
    return _finish(chart, chart_id)


def ttfj_chart(samples: Sequence[TtfjSample], chart_id: str) -> str:
    """Every time-to-first-job sample as a dot (x: repetition), with each kind's median dashed."""
    import pygal

    kinds = list(dict.fromkeys(s.kind for s in samples))
    by_kind = {kind: [s for s in samples if s.kind == kind] for kind in kinds}
    longest = max(len(v) for v in by_kind.values()) if by_kind else 1
    top = max((s.seconds for s in samples), default=1.0)
    colors = [PALETTE[i % len(PALETTE)] for i in range(len(kinds)) for _ in (0, 1)]
    chart = pygal.XY(
        style=_style(colors),
        js=[],
        title="Time to first job, every repetition",
        x_title="repetition",
        y_title="seconds",
        x_labels=list(range(1, longest + 1)),
        xrange=(0.5, longest + 0.5),
        range=(0, top * 1.15),
        value_formatter=lambda y: f"{y:.2f} s",
        x_value_formatter=lambda x: f"#{x:g}",
        show_x_guides=False,
        dots_size=5,
        legend_at_bottom=True,
        legend_at_bottom_columns=2,
        disable_xml_declaration=True,
        explicit_size=False,
        width=900,
        height=360 + 20 * len(kinds),
        margin=12,
        margin_bottom=12 + 20 * len(kinds),
    )
    for kind in kinds:
        values = [s.seconds for s in by_kind[kind]]
        median = statistics.median(values)
        chart.add(f"{kind} (n={len(values)})", [(i + 1, v) for i, v in enumerate(values)], stroke=False)
        chart.add(
            f"{kind} median {median:.2f} s",
            [(0.5, median), (longest + 0.5, median)],
            show_dots=False,
            stroke_style={"width": 2, "dasharray": "6, 4"},
        )
    return _finish(chart, chart_id)
