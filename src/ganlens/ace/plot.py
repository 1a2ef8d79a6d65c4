"""Pictures of ACE evaluation curves: a PNG drawn with Pillow, and W&B line charts.

The PNG has two panels side by side: the fraction of the concept's pixels removed by ablating the
top n units, and the fraction of candidate-cell pixels that became the concept by inserting them
(:mod:`ganlens.ace.evaluation`), one line per ranking. ``wandb`` is imported only inside the chart
builders, which :func:`ganlens.callbacks.logging.log_evaluation` calls when W&B is attached.
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont

from ganlens.ace.evaluation import CausalCurves
from ganlens.io import atomic_write_bytes

__all__ = ["curve_image", "save_curve_plot", "wandb_curve_charts"]

_COLOURS = [(214, 39, 40), (31, 119, 180), (44, 160, 44), (148, 103, 189), (255, 127, 14)]
_PANEL, _MARGIN = (360, 260), (52, 34, 16, 46)  # panel size; left, top, right, bottom margins


def _panel(
    draw: ImageDraw.ImageDraw,
    origin: tuple[int, int],
    title: str,
    n: list[int],
    lines: dict[str, list[float]],
    font: Any,
) -> None:
    left, top, right, bottom = _MARGIN
    x0, y0 = origin[0] + left, origin[1] + top
    width, height = _PANEL[0] - left - right, _PANEL[1] - top - bottom
    values = [v for series in lines.values() for v in series]
    low = min(0.0, math.floor(min(values, default=0.0) * 10) / 10)
    high = max(1.0, math.ceil(max(values, default=1.0) * 10) / 10)
    ticks = round((high - low) * 10)
    step = 1 if ticks <= 12 else 2
    first, last = n[0], max(n[-1], n[0] + 1)

    def point(x: float, y: float) -> tuple[float, float]:
        return x0 + (x - first) / (last - first) * width, y0 + (high - y) / (high - low) * height

    draw.text((x0, origin[1] + 8), title, fill="black", font=font)
    for tick in range(0, ticks + 1, step):
        y = low + tick / 10
        _, py = point(first, y)
        draw.line([(x0, py), (x0 + width, py)], fill=(232, 232, 232))
        if tick % (2 * step) == 0 or (step == 1 and ticks <= 6):
            draw.text((x0 - 6, py), f"{y:.1f}", fill="black", font=font, anchor="rm")
    for x in n:
        px, _ = point(x, low)
        if x == first or x % 5 == 0:
            draw.text((px, y0 + height + 4), str(x), fill="black", font=font, anchor="mt")
    draw.rectangle([x0, y0, x0 + width, y0 + height], outline="black")
    draw.text(
        (x0 + width / 2, y0 + height + 22), "top n units", fill="black", font=font, anchor="mt"
    )
    for index, (name, series) in enumerate(lines.items()):
        colour = _COLOURS[index % len(_COLOURS)]
        points = [point(x, y) for x, y in zip(n, series, strict=True)]
        if len(points) > 1:
            draw.line(points, fill=colour, width=2)
        for px, py in points:
            draw.ellipse([px - 2, py - 2, px + 2, py + 2], fill=colour)
        legend_y = y0 + 8 + 16 * index
        draw.line([(x0 + 8, legend_y), (x0 + 26, legend_y)], fill=colour, width=3)
        draw.text((x0 + 30, legend_y), name, fill="black", font=font, anchor="lm")


def curve_image(curves: CausalCurves, title: str = "") -> Image.Image:
    """An RGB picture of the ablation and insertion curves.

    Args:
        curves: The curves.
        title: Drawn above the panels (e.g. ``"layer4 / tree"``).

    Returns:
        A ``720 x 284`` :class:`PIL.Image.Image` (wider with more panels never; two panels).

    Example:
        >>> curves = CausalCurves([1, 2, 3], {"ace": [0.2, 0.5, 0.7], "iou": [0.1, 0.1, 0.2]},
        ...                       {"ace": [0.1, 0.3, 0.4], "iou": [0.0, 0.1, 0.1]})
        >>> curve_image(curves, "layer4 / tree").size
        (720, 284)
    """
    font = ImageFont.load_default(size=12)
    image = Image.new("RGB", (2 * _PANEL[0], _PANEL[1] + 24), "white")
    draw = ImageDraw.Draw(image)
    draw.text((_PANEL[0], 4), title, fill="black", font=font, anchor="mt")
    _panel(draw, (0, 24), "fraction of concept pixels removed (ablation)", curves.n,
           curves.ablation, font)  # fmt: skip
    _panel(draw, (_PANEL[0], 24), "fraction of candidate pixels added (insertion)", curves.n,
           curves.insertion, font)  # fmt: skip
    return image


def save_curve_plot(curves: CausalCurves, path: str | os.PathLike[str], title: str = "") -> Path:
    """Write :func:`curve_image` as a PNG atomically (temporary name, then a rename).

    Example:
        >>> import tempfile
        >>> target = Path(tempfile.mkdtemp()) / "tree.png"
        >>> save_curve_plot(CausalCurves([1], {"ace": [0.5]}, {"ace": [0.2]}), target).is_file()
        True
    """
    buffer = io.BytesIO()
    curve_image(curves, title).save(buffer, format="PNG")
    return atomic_write_bytes(Path(path), buffer.getvalue())


def wandb_curve_charts(curves: CausalCurves, prefix: str) -> dict[str, Callable[[], Any]]:
    """Builders of W&B line charts (``wandb.plot.line_series``), one per curve kind.

    Args:
        curves: The curves.
        prefix: Key prefix, e.g. ``"causal/layer4/tree"``.

    Returns:
        ``{prefix + "/ablation_curve": builder, prefix + "/insertion_curve": builder}``; each
        builder returns a chart with one line per ranking against n.

    Example:
        >>> charts = wandb_curve_charts(CausalCurves([1, 2], {"ace": [0.5, 0.8]},
        ...                                        {"ace": [0.1, 0.2]}), "causal/layer4/tree")
        >>> sorted(charts)
        ['causal/layer4/tree/ablation_curve', 'causal/layer4/tree/insertion_curve']
        >>> type(charts["causal/layer4/tree/ablation_curve"]()).__name__
        'CustomChart'
    """

    def builder(kind: str, lines: dict[str, list[float]]) -> Callable[[], Any]:
        def build() -> Any:
            import wandb

            title = f"{prefix} {kind}: top n units"
            return wandb.plot.line_series(
                xs=curves.n, ys=list(lines.values()), keys=list(lines), title=title, xname="n"
            )

        return build

    return {
        f"{prefix}/ablation_curve": builder("ablation", curves.ablation),
        f"{prefix}/insertion_curve": builder("insertion", curves.insertion),
    }
