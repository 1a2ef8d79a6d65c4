"""Line charts: curves over a shared x axis, ACE ablation and insertion curves, SVG files.

GAN Dissection (Bau et al., ICLR 2019, section 3.2, Fig. 9) compares unit rankings by the fraction
of a concept removed when ablating, or added when inserting, the top n units;
:func:`ace_curve_charts` draws both curves and :func:`standalone` puts charts into one SVG file.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence

from ganlens.charts.elements import add, axis_ticks, draw_grid, fmt, svg_root, value_axis

__all__ = ["ace_curve_charts", "line_chart", "standalone"]

_RANKINGS = {"ace": ("top by ACE", "#1d4ed8", False), "iou": ("top by IoU", "#9a3412", True)}
_PALETTE = ("#2ca02c", "#9467bd", "#d62728", "#17becf")


def _x_ticks(x: Sequence[float]) -> list[float]:
    """The first and last x and round values between them, e.g. 1, 5, 10, 15, 20."""
    low, high = min(x), max(x)
    integer = all(float(v).is_integer() for v in x)
    step = axis_ticks(high - low, integer=integer)[1] if high > low else 1.0
    inner = [k * step for k in range(math.ceil(low / step), math.floor(high / step) + 1)]
    inner = [v for v in inner if low + 0.6 * step <= v <= high - 0.6 * step]
    return sorted({float(low), float(high), *inner})


def _legend_positions(names: Sequence[str], start: float, end: float) -> list[tuple[float, int]]:
    """Per legend entry, its x pixel and row: entries flow left to right and wrap before ``end``.

    Example:
        >>> _legend_positions(["a", "bb", "a long name"], 50, 160)
        [(50.0, 0), (96.5, 0), (50.0, 1)]
    """
    positions, x, row = [], float(start), 0
    for name in names:
        needed = 22 + 6.5 * len(name)  # the key, then the text (about 6.5 px per character)
        if x > start and x + needed > end:
            x, row = float(start), row + 1
        positions.append((x, row))
        x += needed + 18
    return positions


def line_chart(
    x: Sequence[float],
    series: Sequence[tuple[str, Sequence[float], str, bool]],
    *,
    title: str = "",
    x_label: str = "",
    y_label: str = "",
    width: int = 300,
    height: int = 160,
    y_include: Sequence[float] = (),
) -> str:
    """Lines over a shared x axis with a legend under the title (wrapping), e.g. an ACE curve.

    Args:
        x: x values, increasing.
        series: ``(name, y values, colour, dashed)`` per line; ``len(y) == len(x)``. Points are
            marked while there are at most 40 of them.
        title: Title drawn above the plot.
        x_label: x axis label.
        y_label: y axis label.
        width: Plot width in pixels.
        height: Plot height in pixels.
        y_include: Values the y axis covers whatever the data (it always covers 0), e.g.
            ``(0, 1)`` for fractions.

    Returns:
        An ``<svg>`` element.

    Raises:
        ValueError: If a series does not have one value per x.

    Example:
        >>> svg = line_chart([1, 2, 3], [("ace", [0.1, 0.3, 0.4], "#00f", False)], title="door")
        >>> svg.count("<polyline"), svg.count("<circle"), ">door</text>" in svg
        (1, 3, True)
    """
    for name, values, _, _ in series:
        if len(values) != len(x):
            raise ValueError(f"series {name!r} has {len(values)} values; expected {len(x)}")
    all_y = [float(v) for _, values, _, _ in series for v in values]
    low, span, ticks = value_axis([*all_y, *y_include])
    x_low, x_high = (min(x), max(x)) if len(x) else (0.0, 1.0)
    x_span = (x_high - x_low) or 1.0
    x_ticks = _x_ticks(x) if len(x) else []
    # The last tick label is centred on the axis end: leave half of it (0.6 em a character).
    right = max(10, math.ceil(0.3 * 11 * max((len(fmt(t)) for t in x_ticks), default=0)) + 2)
    left, bottom = 50, 34
    keys = _legend_positions([name for name, _, _, _ in series], left, left + width + right)
    top = 22 + 14 * (1 + max((row for _, row in keys), default=0))
    svg = svg_root("line-chart", left + width + right, top + height + bottom)
    base = top + height

    def px(xv: float) -> float:
        return left + (xv - x_low) / x_span * width

    def py(yv: float) -> float:
        return base - (yv - low) / span * height

    add(svg, "text", title, x=left, y=14, font_weight=600, fill="#222")
    draw_grid(svg, [t - low for t in ticks], base, height / span, (left + 1, left + width), low)
    for xv in x_ticks:
        add(svg, "text", fmt(xv), x=px(xv), y=base + 14, text_anchor="middle", fill="#555")
    add(svg, "text", x_label, x=left + width / 2, y=base + bottom - 4, text_anchor="middle",
        fill="#333")  # fmt: skip
    turn = f"translate(11,{top + height / 2}) rotate(-90)"
    add(svg, "text", y_label, transform=turn, text_anchor="middle", fill="#333")
    for (name, values, color, dashed), (key_x, row) in zip(series, keys, strict=True):
        dash = {"stroke_dasharray": "5 3"} if dashed else {}
        points = [(px(float(a)), py(float(b))) for a, b in zip(x, values, strict=True)]
        line = add(svg, "polyline", points=" ".join(f"{a:.1f},{b:.1f}" for a, b in points),
                   fill="none", stroke=color, stroke_width=2, **dash)  # fmt: skip
        add(line, "title", name)
        for a, b in points if len(points) <= 40 else []:
            add(svg, "circle", cx=a, cy=b, r=2.2, fill=color)
        key_y = 26.0 + 14 * row
        add(svg, "line", x1=key_x, x2=key_x + 18, y1=key_y, y2=key_y, stroke=color,
            stroke_width=2, **dash)  # fmt: skip
        add(svg, "text", name, x=key_x + 22, y=key_y + 4, fill="#222")
    return ET.tostring(svg, encoding="unicode")


def ace_curve_charts(
    n: Sequence[int],
    ablation: Mapping[str, Sequence[float]],
    insertion: Mapping[str, Sequence[float]],
    concept: str,
) -> list[str]:
    """The ablation and insertion curves of a concept's unit rankings, one line chart each.

    Args:
        n: Number of top units intervened on, one per point (``[P]``).
        ablation: Per ranking (``"ace"``, ``"iou"``, ...), the fraction of the concept's pixels
            removed by ablating the top ``n`` units (``[P]``).
        insertion: Per ranking, the fraction of candidate pixels that became the concept by
            inserting them (``[P]``).
        concept: The concept's name, for the titles.

    Returns:
        The ablation chart and the insertion chart (a kind with no rankings is left out); their
        y axes cover at least 0 to 1.

    Example:
        >>> charts = ace_curve_charts([1, 2], {"ace": [0.5, 0.8], "iou": [0.1, 0.2]},
        ...                           {"ace": [0.1, 0.2]}, "tree")
        >>> len(charts), ">top by IoU</text>" in charts[0], charts[1].count("<polyline")
        (2, True, 1)
    """
    charts = []
    for curves, kind, verb in (
        (ablation, "ablation", "removed"),
        (insertion, "insertion", "added"),
    ):
        lines: list[tuple[str, Sequence[float], str, bool]] = []
        for i, (name, values) in enumerate(curves.items()):
            default = (f"top by {name}", _PALETTE[i % len(_PALETTE)], False)
            label, color, dashed = _RANKINGS.get(name, default)
            lines.append((label, values, color, dashed))
        if lines:
            title = f"{kind}: {concept} {verb}"
            charts.append(line_chart(n, lines, title=title, x_label="units intervened (n)",
                                     y_label=f"fraction {verb}", y_include=(0.0, 1.0)))  # fmt: skip
    return charts


def standalone(charts: Sequence[str], title: str = "", gap: int = 16) -> str:
    """Charts side by side in one SVG document of their own (for a ``.svg`` file).

    Args:
        charts: ``<svg>`` elements from this module.
        title: Heading centred above the charts.
        gap: Horizontal space between charts in pixels.

    Returns:
        An SVG document (with the SVG namespace, so browsers and image viewers open it).

    Example:
        >>> svg = standalone(ace_curve_charts([1, 2], {"ace": [0.5, 0.8]}, {"ace": [0.1, 0.2]},
        ...                                   "tree"), title="layer4 / tree")
        >>> svg.startswith("<svg") and 'xmlns="http://www.w3.org/2000/svg"' in svg
        True
    """
    parts = [ET.fromstring(chart) for chart in charts]
    head = 26 if title else 0
    width = sum(int(p.get("width", "0")) for p in parts) + gap * max(len(parts) - 1, 0)
    height = head + max((int(p.get("height", "0")) for p in parts), default=0)
    root = svg_root("figure", width, height)
    root.set("xmlns", "http://www.w3.org/2000/svg")
    add(root, "rect", x=0, y=0, width=width, height=height, fill="#fff")
    add(root, "text", title, x=width / 2, y=17, text_anchor="middle", font_size=13, fill="#222")
    x = 0
    for part in parts:
        part.set("x", str(x))
        part.set("y", str(head))
        root.append(part)
        x += int(part.get("width", "0")) + gap
    return ET.tostring(root, encoding="unicode") + "\n"
