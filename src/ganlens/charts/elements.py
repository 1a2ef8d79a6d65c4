"""Building blocks of the SVG charts: the root element, children with escaped text, axis ticks.

:mod:`xml.etree.ElementTree` builds the elements, so every label and title is escaped on output.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections.abc import Sequence

__all__ = [
    "CATEGORY_COLORS",
    "add",
    "axis_ticks",
    "draw_grid",
    "fmt",
    "number",
    "svg_root",
    "value_axis",
]

CATEGORY_COLORS = {"object": "#3b75af", "part": "#ef8636", "material": "#519e3e", "none": "#9b9b9b"}
"""Fill colour of each concept category (and of units with no concept)."""

FONT = {"font-family": "system-ui, sans-serif", "font-size": "11"}


def number(value: float) -> str:
    """An attribute value: integers as they are, other numbers to 0.1 px.

    Example:
        >>> number(3), number(2.345)
        ('3', '2.3')
    """
    return str(value) if isinstance(value, int) else f"{value:.1f}"


def fmt(value: float) -> str:
    """A tick or bar label: the shortest form of the number (``%g``).

    Example:
        >>> fmt(2.0), fmt(0.25)
        ('2', '0.25')
    """
    return f"{value:g}"


def svg_root(kind: str, width: float, height: float) -> ET.Element:
    """An ``<svg class="chart KIND">`` element of ``width x height`` CSS pixels.

    Example:
        >>> ET.tostring(svg_root("bar-chart", 10, 5), encoding="unicode")[:52]
        '<svg class="chart bar-chart" width="10" height="5" v'
    """
    w, h = number(width), number(height)
    attrs = {"class": f"chart {kind}", "width": w, "height": h, "viewBox": f"0 0 {w} {h}"}
    return ET.Element("svg", {**attrs, "role": "img", **FONT})


def add(parent: ET.Element, tag: str, text: str | None = None, **attrs: object) -> ET.Element:
    """Append a child element; ``stroke_width=2`` becomes ``stroke-width="2"``.

    Args:
        parent: The element to append to.
        tag: The child's tag.
        text: Its text (escaped on output).
        **attrs: Attributes; underscores in names become hyphens, numbers go through
            :func:`number`.

    Returns:
        The child.

    Example:
        >>> root = ET.Element("svg")
        >>> _ = add(root, "text", "a < b", x=1.25, text_anchor="end")
        >>> ET.tostring(root, encoding="unicode")
        '<svg><text x="1.2" text-anchor="end">a &lt; b</text></svg>'
    """
    values = {k.replace("_", "-"): number(v) if isinstance(v, float | int) else str(v)
              for k, v in attrs.items()}  # fmt: skip
    element = ET.SubElement(parent, tag, values)
    element.text = text
    return element


def axis_ticks(top: float, count: int = 4, integer: bool = False) -> list[float]:
    """Round axis ticks from 0 to at least ``top``, about ``count`` steps.

    Example:
        >>> axis_ticks(93), axis_ticks(0.37), axis_ticks(1, integer=True)
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


def value_axis(values: Sequence[float], integer: bool = False) -> tuple[float, float, list[float]]:
    """The lowest tick, the span to the highest and round ticks covering 0 and ``values``.

    Args:
        values: The data (negative values extend the axis below 0).
        integer: Whether ticks must be whole numbers (counts).

    Example:
        >>> value_axis([-0.301, 0.923])
        (-0.5, 1.5, [-0.5, 0.0, 0.5, 1.0])
        >>> value_axis([0.1, 0.37]), value_axis([])
        ((0.0, 0.4, [0.0, 0.1, 0.2, 0.3, 0.4]), (0.0, 1.0, [0.0, 1.0]))
        >>> value_axis([3, 5], integer=True)
        (0.0, 6.0, [0.0, 2.0, 4.0, 6.0])
    """
    low, high = min([0.0, *values]), max([0.0, *values])
    step = axis_ticks(high - low, integer=integer)[1]
    first = math.floor(low / step + 1e-9) * step
    count = max(1, math.ceil((high - first) / step - 1e-9))
    return first, count * step, [round(first + k * step, 10) for k in range(count + 1)]


def draw_grid(svg: ET.Element, ticks: Sequence[float], base: float, scale: float,
              span: tuple[float, float], low: float = 0.0) -> None:  # fmt: skip
    """Horizontal grid lines with their labels at the left end.

    Args:
        svg: The chart.
        ticks: Tick values above ``low``.
        base: y pixel of ``low``.
        scale: Pixels per unit.
        span: x pixels where the lines start and end.
        low: The value at ``base``.

    Example:
        >>> root = ET.Element("svg")
        >>> draw_grid(root, [0.0, 1.0], 100.0, 50.0, (40, 300))
        >>> [t.text for t in root.iter("text")], root[2].get("y1")
        (['0', '1'], '50.0')
    """
    for tick in ticks:
        y = base - tick * scale
        add(svg, "line", x1=span[0] - 3, x2=span[1], y1=y, y2=y, stroke="#e3e3e3")
        add(svg, "text", fmt(round(tick + low, 6)), x=span[0] - 6, y=y + 4, text_anchor="end",
            fill="#555")  # fmt: skip
