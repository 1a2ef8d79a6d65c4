"""Pictures of the applications, drawn with Pillow: line charts, bar charts and labelled rows.

Each function returns a :class:`PIL.Image.Image`; :func:`save_png` writes one atomically.
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import torch.nn.functional as F
from PIL import Image, ImageDraw, ImageFont
from torch import Tensor

from ganlens.images import to_uint8
from ganlens.io import atomic_write_bytes

__all__ = ["bar_chart", "image_rows", "line_chart", "save_png", "to_pil"]

COLOURS = [(214, 39, 40), (31, 119, 180), (44, 160, 44), (148, 103, 189), (255, 127, 14)]
_W, _H, _LEFT, _TOP, _RIGHT, _BOTTOM = 380, 260, 56, 34, 16, 44


def _font() -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=12)


def to_pil(image: Tensor, scale: int = 1) -> Image.Image:
    """A ``[3, H, W]`` image in [-1, 1] (float) or uint8 as RGB, enlarged ``scale`` times.

    Args:
        image: ``[3, H, W]`` image.
        scale: Nearest-neighbour enlargement.

    Returns:
        The RGB picture.

    Example:
        >>> import torch
        >>> to_pil(torch.zeros(3, 4, 4), scale=2).size
        (8, 8)
    """
    image = to_uint8(image)
    if scale > 1:
        image = F.interpolate(image[None].float(), scale_factor=scale, mode="nearest")[0].byte()
    return Image.fromarray(image.permute(1, 2, 0).cpu().numpy(), "RGB")


Panel = tuple[str, Sequence[float], Mapping[str, Sequence[float]], Mapping[str, float]]
"""``(title, xs, {line name: ys}, {reference name: y})``."""


class _Axes:
    """Maps data coordinates of one panel to pixels."""

    def __init__(self, left: int, xs: Sequence[float], values: list[float]) -> None:
        finite = [v for v in values if math.isfinite(v)] or [0.0, 1.0]
        low, high = min(finite), max(finite)
        pad = (high - low) * 0.08 or 1.0
        self.low, self.high = low - pad, high + pad
        self.first, self.last = min(xs), max(max(xs), min(xs) + 1)
        self.x0, self.y0 = left + _LEFT, _TOP
        self.width, self.height = _W - _LEFT - _RIGHT, _H - _TOP - _BOTTOM

    def point(self, x: float, y: float) -> tuple[float, float]:
        fx = (x - self.first) / (self.last - self.first)
        fy = (self.high - y) / (self.high - self.low)
        return self.x0 + fx * self.width, self.y0 + fy * self.height


def _panel(draw: ImageDraw.ImageDraw, left: int, panel: Panel, x_label: str) -> None:
    font = _font()
    title, xs, lines, references = panel
    values = [v for ys in lines.values() for v in ys] + list(references.values())
    axes = _Axes(left, xs, values)
    x0, y0, width, height = axes.x0, axes.y0, axes.width, axes.height
    draw.text((x0, 8), title, fill="black", font=font)
    draw.rectangle([x0, y0, x0 + width, y0 + height], outline="black")
    for tick in range(5):
        y = axes.low + (axes.high - axes.low) * tick / 4
        draw.text(
            (x0 - 4, axes.point(axes.first, y)[1]), f"{y:.3g}", fill="black", font=font, anchor="rm"
        )
    for x in xs:
        if x in (axes.first, axes.last) or x % 5 == 0:
            px = axes.point(x, axes.low)[0]
            draw.text((px, y0 + height + 4), str(x), fill="black", font=font, anchor="mt")
    draw.text((x0 + width / 2, y0 + height + 22), x_label, fill="black", font=font, anchor="mt")
    grey = (110, 110, 110)
    for value in references.values():
        py = axes.point(axes.first, value)[1]
        for start in range(x0, x0 + width, 10):
            draw.line([(start, py), (min(start + 5, x0 + width), py)], fill=grey)
    legend = []
    for index, (name, ys) in enumerate(lines.items()):
        colour = COLOURS[index % len(COLOURS)]
        points = [axes.point(x, y) for x, y in zip(xs, ys, strict=True) if math.isfinite(y)]
        if len(points) > 1:
            draw.line(points, fill=colour, width=2)
        legend.append((name, colour, 3))
    legend += [(name, grey, 1) for name in references]
    for row, (name, colour, thickness) in enumerate(legend):  # below the x label
        ly = _H + 7 + 14 * row
        draw.line([(x0 + 8, ly), (x0 + 24, ly)], fill=colour, width=thickness)
        draw.text((x0 + 28, ly), name, fill="black", font=font, anchor="lm")


def line_chart(panels: Sequence[Panel], x_label: str = "n") -> Image.Image:
    """Panels side by side, each ``(title, xs, {line name: ys}, {reference name: y})``.

    References are drawn as dashed horizontal lines; the legend sits below the panels.

    Args:
        panels: The panels.
        x_label: Label of the x axes.

    Returns:
        The picture.

    Example:
        >>> line_chart([("FSD", [0, 1], {"top n": [3.0, 2.0]}, {"floor": 1.0})]).size
        (380, 292)
    """
    rows = max((len(p[2]) + len(p[3]) for p in panels), default=0)
    picture = Image.new("RGB", (_W * len(panels), _H + 14 * rows + 4), "white")
    draw = ImageDraw.Draw(picture)
    for index, panel in enumerate(panels):
        _panel(draw, index * _W, panel, x_label)
    return picture


def bar_chart(title: str, groups: Mapping[str, Mapping[str, float]]) -> Image.Image:
    """Grouped bars: ``{group: {series: value}}`` (e.g. layer -> {"A object": 3, ...}).

    Negative values are drawn below the zero line.

    Args:
        title: Drawn at the top.
        groups: Group name to series name to value.

    Returns:
        The picture.

    Example:
        >>> bar_chart("units", {"layer4": {"A": 3, "B": 5}}).size[1]
        260
        >>> bar_chart("added", {"door": {"A": -0.5, "B": 0.2}}).size[1]
        260
    """
    font = _font()
    series = list(dict.fromkeys(s for values in groups.values() for s in values))
    bar = 12
    group_width = max(bar * max(len(series), 1) + 16, 64)  # room for the group name
    width = max(_LEFT + group_width * len(groups) + _RIGHT + 140, 320)
    picture = Image.new("RGB", (width, _H), "white")
    draw = ImageDraw.Draw(picture)
    height = _H - _TOP - _BOTTOM
    values_all = [float(v) for values in groups.values() for v in values.values()]
    top = max([*values_all, 0.0]) or 1.0
    low = min([*values_all, 0.0])
    span = top - low

    def level(value: float) -> float:
        return _TOP + height * (top - value) / span

    draw.text((_LEFT, 8), title, fill="black", font=font)
    draw.line([(_LEFT, level(0.0)), (_LEFT + group_width * len(groups), level(0.0))], fill="black")
    for tick in range(5):
        value = low + span * tick / 4
        draw.text((_LEFT - 4, level(value)), f"{value:.3g}", fill="black", font=font, anchor="rm")
    for g, (group, values) in enumerate(groups.items()):
        left = _LEFT + g * group_width + 8
        for s, name in enumerate(series):
            value = float(values.get(name, 0.0))
            x = left + s * bar
            ends = sorted((level(value), level(0.0)))
            draw.rectangle([x, ends[0], x + bar - 2, ends[1]], fill=COLOURS[s % len(COLOURS)])
        draw.text(
            (left + bar * len(series) / 2, _TOP + height + 6),
            group,
            fill="black",
            font=font,
            anchor="mt",
        )
    for s, name in enumerate(series):
        x, y = _LEFT + group_width * len(groups) + 12, _TOP + 14 * s
        draw.rectangle([x, y, x + 10, y + 10], fill=COLOURS[s % len(COLOURS)])
        draw.text((x + 14, y + 5), name, fill="black", font=font, anchor="lm")
    return picture


def image_rows(
    rows: Sequence[tuple[str, Sequence[Image.Image]]], label_width: int = 150
) -> Image.Image:
    """Rows of equally sized pictures, each row led by a text label.

    Args:
        rows: ``(label, pictures)`` pairs.
        label_width: Pixels reserved for the labels.

    Returns:
        The picture.

    Example:
        >>> tile = Image.new("RGB", (8, 8))
        >>> image_rows([("unit 3", [tile, tile]), ("unit 1", [tile])]).size
        (170, 24)
    """
    font = _font()
    tile_w = max((t.size[0] for _, tiles in rows for t in tiles), default=1)
    tile_h = max((t.size[1] for _, tiles in rows for t in tiles), default=1)
    columns = max((len(tiles) for _, tiles in rows), default=1)
    picture = Image.new(
        "RGB", (label_width + columns * (tile_w + 2), len(rows) * (tile_h + 4)), "white"
    )
    draw = ImageDraw.Draw(picture)
    for r, (label, tiles) in enumerate(rows):
        y = r * (tile_h + 4) + 2
        draw.text((4, y + tile_h / 2), label, fill="black", font=font, anchor="lm")
        for c, tile in enumerate(tiles):
            picture.paste(tile, (label_width + c * (tile_w + 2), y))
    return picture


def save_png(picture: Image.Image, path: str | os.PathLike[str]) -> Path:
    """Write ``picture`` as a PNG atomically.

    Args:
        picture: The picture.
        path: The destination.

    Returns:
        The written path.

    Example:
        >>> import tempfile
        >>> save_png(Image.new("RGB", (2, 2)), Path(tempfile.mkdtemp()) / "x.png").suffix
        '.png'
    """
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return atomic_write_bytes(Path(path), buffer.getvalue())
