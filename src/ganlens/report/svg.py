"""Inline SVG charts for the HTML reports: bars, grouped bars and line charts, no scripts needed.

Every function returns one ``<svg>`` element as a string, sized in CSS pixels with a ``viewBox``
so it scales with the page; all text is escaped. Colours come from :data:`CATEGORY_COLORS`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

__all__ = ["CATEGORY_COLORS", "bar_chart", "grouped_bar_chart", "line_chart"]

CATEGORY_COLORS = {
    "object": "#3b75af",
    "part": "#ef8636",
    "material": "#519e3e",
    "none": "#9b9b9b",
}
"""Fill colour of each concept category (and of units with no concept)."""

_FONT = 'font-family="system-ui, sans-serif" font-size="11"'


def _ticks(top: float, count: int = 4, integer: bool = False) -> list[float]:
    """Round axis ticks from 0 to at least ``top``, about ``count`` steps.

    Example:
        >>> _ticks(93), _ticks(0.37), _ticks(1, integer=True)
        ([0.0, 25.0, 50.0, 75.0, 100.0], [0.0, 0.1, 0.2, 0.3, 0.4], [0.0, 1.0])
    """
    if top <= 0:
        return [0.0, 1.0]
    raw = top / count
    magnitude = 10.0 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    step = max(1.0, round(step)) if integer else step
    ticks, value = [], 0.0
    while value < top + step * 0.999:
        ticks.append(round(value, 10))
        value += step
    return ticks


def _fmt(value: float) -> str:
    return f"{value:g}"


def bar_chart(
    bars: Sequence[tuple[str, float, str]],
    *,
    title: str = "",
    bar_width: int | None = None,
    height: int = 170,
    filter_keys: Sequence[str] | None = None,
) -> str:
    """Vertical bars with rotated labels, e.g. a layer's class distribution.

    Args:
        bars: ``(label, value, colour)`` per bar, in display order.
        title: Accessible title (``<title>``) of the chart.
        bar_width: Horizontal space per bar in pixels (default: 22, wider for few bars).
        height: Height of the plotting area in pixels.
        filter_keys: Per bar, a value for its ``data-filter-concept`` attribute (the report's
            script filters the unit grid by it when the bar is clicked).

    Returns:
        An ``<svg>`` element.

    Example:
        >>> svg = bar_chart([("sky", 5, "#00f"), ("door", 2, "#f80")], title="units")
        >>> svg.startswith("<svg") and svg.count("<rect") == 2 and ">sky</text>" in svg
        True
    """
    top = max((value for _, value, _ in bars), default=0.0)
    ticks = _ticks(top, integer=all(float(v).is_integer() for _, v, _ in bars))
    scale = height / ticks[-1]
    bar_width = bar_width or max(22, min(48, 300 // max(len(bars), 1)))
    left, label_room, top_room = 34, 70, 14
    width = left + bar_width * max(len(bars), 1) + 8
    parts = [
        f'<svg class="chart bar-chart" width="{width}" '
        f'height="{height + label_room + top_room}" '
        f'viewBox="0 0 {width} {height + label_room + top_room}" '
        f'role="img" {_FONT}><title>{escape(title)}</title>'
    ]
    base = height + top_room
    for tick in ticks:
        y = base - tick * scale
        parts.append(
            f'<line x1="{left - 3}" x2="{width}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#555">'
            f"{_fmt(tick)}</text>"
        )
    for i, (label, value, color) in enumerate(bars):
        x = left + i * bar_width + 2
        h = value * scale
        key = f' data-filter-concept="{escape(filter_keys[i])}"' if filter_keys else ""
        parts.append(
            f'<rect x="{x}" y="{base - h:.1f}" width="{bar_width - 4}" height="{h:.1f}" '
            f'fill="{escape(color)}"{key}><title>{escape(label)}: {_fmt(value)}</title></rect>'
            f'<text x="{x + (bar_width - 4) / 2:.1f}" y="{base - h - 3:.1f}" text-anchor="middle" '
            f'fill="#333">{_fmt(value)}</text>'
            f'<text transform="translate({x + bar_width / 2:.1f},{base + 6}) rotate(-55)" '
            f'text-anchor="end" fill="#222">{escape(label)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def grouped_bar_chart(
    groups: Sequence[str],
    series: Sequence[tuple[str, Sequence[float], str]],
    *,
    title: str = "",
    height: int = 180,
) -> str:
    """Bars grouped along the x axis, one bar per series in each group, with a legend.

    Args:
        groups: Group labels (e.g. layer names).
        series: ``(name, one value per group, colour)`` per series (e.g. per category).
        title: Accessible title of the chart.
        height: Height of the plotting area in pixels.

    Returns:
        An ``<svg>`` element.

    Example:
        >>> svg = grouped_bar_chart(["layer2", "layer4"], [("object", [3, 5], "#00f"),
        ...                                                ("part", [0, 2], "#f80")])
        >>> svg.count("<rect"), ">layer4</text>" in svg
        (6, True)
    """
    top = max((v for _, values, _ in series for v in values), default=0.0)
    ticks = _ticks(top, integer=all(float(v).is_integer() for _, vs, _ in series for v in vs))
    scale = height / ticks[-1]
    bar, gap, left = 18, 16, 36
    group_width = bar * max(len(series), 1) + gap
    width = max(left + group_width * max(len(groups), 1) + 8, left + 90 * len(series))
    base = height + 24
    total = base + 28
    parts = [
        f'<svg class="chart grouped-bar-chart" '
        f'width="{width}" height="{total}" viewBox="0 0 {width} {total}" role="img" {_FONT}>'
        f"<title>{escape(title)}</title>"
    ]
    for tick in ticks:
        y = base - tick * scale
        parts.append(
            f'<line x1="{left - 3}" x2="{width}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#555">'
            f"{_fmt(tick)}</text>"
        )
    for g, group in enumerate(groups):
        x0 = left + g * group_width + gap / 2
        for s, (name, values, color) in enumerate(series):
            h = values[g] * scale
            x = x0 + s * bar
            parts.append(
                f'<rect x="{x:.1f}" y="{base - h:.1f}" width="{bar - 2}" height="{h:.1f}" '
                f'fill="{escape(color)}"><title>{escape(group)} {escape(name)}: '
                f"{_fmt(values[g])}</title></rect>"
                f'<text x="{x + (bar - 2) / 2:.1f}" y="{base - h - 3:.1f}" text-anchor="middle" '
                f'font-size="9" fill="#333">{_fmt(values[g])}</text>'
            )
        parts.append(
            f'<text x="{x0 + bar * len(series) / 2:.1f}" y="{base + 15}" text-anchor="middle" '
            f'fill="#222">{escape(group)}</text>'
        )
    for s, (name, _, color) in enumerate(series):
        x = left + s * 90
        parts.append(
            f'<rect x="{x}" y="4" width="10" height="10" fill="{escape(color)}"/>'
            f'<text x="{x + 14}" y="13" fill="#222">{escape(name)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def line_chart(
    x: Sequence[float],
    series: Sequence[tuple[str, Sequence[float], str, bool]],
    *,
    title: str = "",
    x_label: str = "",
    y_label: str = "",
    width: int = 300,
    height: int = 160,
) -> str:
    """Lines over a shared x axis, e.g. an ACE ablation/insertion curve against n units.

    Args:
        x: x values, increasing.
        series: ``(name, y values, colour, dashed)`` per line; ``len(y) == len(x)``.
        title: Title drawn above the plot.
        x_label: x axis label.
        y_label: y axis label.
        width: Plot width in pixels.
        height: Plot height in pixels.

    Returns:
        An ``<svg>`` element.

    Raises:
        ValueError: If a series does not have one value per x.

    Example:
        >>> svg = line_chart([1, 2, 3], [("ace", [0.1, 0.3, 0.4], "#00f", False)], title="door")
        >>> svg.count("<polyline"), ">door</text>" in svg
        (1, True)
    """
    for name, values, _, _ in series:
        if len(values) != len(x):
            raise ValueError(f"series {name!r} has {len(values)} values; expected {len(x)}")
    all_y = [float(v) for _, values, _, _ in series for v in values] or [0.0]
    low = min(0.0, *all_y)
    ticks = _ticks(max(all_y) - low)
    span = ticks[-1] or 1.0
    x_low, x_high = (min(x), max(x)) if len(x) else (0.0, 1.0)
    x_span = (x_high - x_low) or 1.0
    left, top, right, bottom = 40, 22, 10, 34
    full_w, full_h = left + width + right, top + height + bottom

    def point(xv: float, yv: float) -> str:
        px = left + (xv - x_low) / x_span * width
        py = top + height - (yv - low) / span * height
        return f"{px:.1f},{py:.1f}"

    parts = [
        f'<svg class="chart line-chart" width="{full_w}" '
        f'height="{full_h}" viewBox="0 0 {full_w} {full_h}" role="img" {_FONT}>'
        f'<text x="{left}" y="14" font-weight="600" fill="#222">{escape(title)}</text>'
    ]
    for tick in ticks:
        y = top + height - tick / span * height
        parts.append(
            f'<line x1="{left}" x2="{left + width}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e3e3e3"/>'
            f'<text x="{left - 5}" y="{y + 4:.1f}" text-anchor="end" fill="#555">'
            f"{_fmt(round(tick + low, 6))}</text>"
        )
    for xv in (x_low, x_high):
        parts.append(
            f'<text x="{point(xv, low).split(",")[0]}" y="{top + height + 14}" '
            f'text-anchor="middle" fill="#555">{_fmt(xv)}</text>'
        )
    parts.append(
        f'<text x="{left + width / 2}" y="{full_h - 4}" text-anchor="middle" fill="#333">'
        f'{escape(x_label)}</text><text transform="translate(11,{top + height / 2}) rotate(-90)" '
        f'text-anchor="middle" fill="#333">{escape(y_label)}</text>'
    )
    for i, (name, values, color, dashed) in enumerate(series):
        points = " ".join(point(float(a), float(b)) for a, b in zip(x, values, strict=True))
        dash = ' stroke-dasharray="5 3"' if dashed else ""
        parts.append(
            f'<polyline points="{points}" fill="none" stroke="{escape(color)}" '
            f'stroke-width="2"{dash}><title>{escape(name)}</title></polyline>'
            f'<line x1="{left + width - 118}" x2="{left + width - 100}" y1="{top + 8 + 13 * i}" '
            f'y2="{top + 8 + 13 * i}" stroke="{escape(color)}" stroke-width="2"{dash}/>'
            f'<text x="{left + width - 96}" y="{top + 12 + 13 * i}" fill="#222">'
            f"{escape(name)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)
