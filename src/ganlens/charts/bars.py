"""Bar charts: a layer's class distribution and units per layer and category."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence

from ganlens.charts.elements import add, axis_ticks, draw_grid, fmt, svg_root, value_axis

__all__ = ["bar_chart", "grouped_bar_chart"]


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
    ticks = axis_ticks(top, integer=all(float(v).is_integer() for _, v, _ in bars))
    scale = height / ticks[-1]
    bar_width = bar_width or max(22, min(48, 300 // max(len(bars), 1)))
    left, label_room, top_room = 34, 70, 14
    width = left + bar_width * max(len(bars), 1) + 8
    svg = svg_root("bar-chart", width, height + label_room + top_room)
    add(svg, "title", title)
    base = height + top_room
    draw_grid(svg, ticks, base, scale, (left, width))
    for i, (label, value, color) in enumerate(bars):
        x, h = left + i * bar_width + 2, value * scale
        key = {"data_filter_concept": filter_keys[i]} if filter_keys else {}
        rect = add(svg, "rect", x=x, y=base - h, width=bar_width - 4, height=h, fill=color, **key)
        add(rect, "title", f"{label}: {fmt(value)}")
        center = x + (bar_width - 4) / 2
        add(svg, "text", fmt(value), x=center, y=base - h - 3, text_anchor="middle", fill="#333")
        turn = f"translate({x + bar_width / 2:.1f},{base + 6}) rotate(-55)"
        add(svg, "text", label, transform=turn, text_anchor="end", fill="#222")
    return ET.tostring(svg, encoding="unicode")


def grouped_bar_chart(
    groups: Sequence[str],
    series: Sequence[tuple[str, Sequence[float], str]],
    *,
    title: str = "",
    height: int = 180,
) -> str:
    """Bars grouped along the x axis, one bar per series in each group, with a legend.

    Negative values hang below the zero line; the y axis covers 0 and every value.

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
        >>> ">-0.4</text>" in grouped_bar_chart(["wall"], [("added", [-0.4], "#00f")])
        True
    """
    integer = all(float(v).is_integer() for _, values, _ in series for v in values)
    low, span, ticks = value_axis([v for _, values, _ in series for v in values], integer=integer)
    scale = height / span
    bar, gap, left = 18, 16, 36
    group_width = bar * max(len(series), 1) + gap
    width = max(left + group_width * max(len(groups), 1) + 8, left + 90 * len(series))
    base = height + 24  # y pixel of the lowest tick
    zero = base + low * scale
    below = 12 if low < 0 else 0  # room for the value labels under negative bars
    svg = svg_root("grouped-bar-chart", width, base + 28 + below)
    add(svg, "title", title)
    draw_grid(svg, [t - low for t in ticks], base, scale, (left, width), low)
    for g, group in enumerate(groups):
        x0 = left + g * group_width + gap / 2
        for s, (name, values, color) in enumerate(series):
            h, x = abs(values[g]) * scale, x0 + s * bar
            y = zero - h if values[g] >= 0 else zero
            rect = add(svg, "rect", x=x, y=y, width=bar - 2, height=h, fill=color)
            add(rect, "title", f"{group} {name}: {fmt(values[g])}")
            label_y = y - 3 if values[g] >= 0 else y + h + 10
            add(svg, "text", fmt(values[g]), x=x + (bar - 2) / 2, y=label_y,
                text_anchor="middle", font_size=9, fill="#333")  # fmt: skip
        middle = x0 + bar * len(series) / 2
        add(svg, "text", group, x=middle, y=base + 15 + below, text_anchor="middle",
            fill="#222")  # fmt: skip
    for s, (name, _, color) in enumerate(series):
        add(svg, "rect", x=left + s * 90, y=4, width=10, height=10, fill=color)
        add(svg, "text", name, x=left + s * 90 + 14, y=13, fill="#222")
    return ET.tostring(svg, encoding="unicode")
