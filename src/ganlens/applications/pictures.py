"""The pictures each application writes: artifact units, repair curve, context grid, comparison.

Rows of samples and label maps are raster pictures (:class:`PIL.Image.Image`, written with
:func:`save_png`); the charts (repair curve, context rates, units per category) are SVG documents
drawn by :mod:`ganlens.charts`, the package's one chart renderer (written with
:func:`ganlens.io.atomic_write_text`).
"""

from __future__ import annotations

import io
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw, ImageFont
from torch import Tensor

from ganlens.applications.compare import lineage_of
from ganlens.applications.context import ContextTable
from ganlens.applications.repair import RepairCurve
from ganlens.charts import CATEGORY_COLORS, grouped_bar_chart, line_chart, standalone
from ganlens.dissect.result import UnitRecord
from ganlens.images import concept_colors, to_uint8
from ganlens.io import atomic_write_bytes

__all__ = [
    "compare_chart",
    "context_chart",
    "context_grid",
    "image_rows",
    "lineage_picture",
    "repair_chart",
    "sample_rows",
    "save_png",
    "to_pil",
]


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
    font = ImageFont.load_default(size=12)
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


def sample_rows(rows: Sequence[tuple[str, Tensor]], scale: int = 2) -> Image.Image:
    """Rows of samples: ``(label, images [n, 3, H, W] in [-1, 1])`` each.

    Args:
        rows: ``(label, images)`` pairs.
        scale: Enlargement of each image.

    Returns:
        The picture.

    Example:
        >>> sample_rows([("unit 3", torch.zeros(2, 3, 8, 8))]).size
        (186, 20)
    """
    return image_rows([(label, [to_pil(i, scale) for i in images]) for label, images in rows])


def repair_chart(curve: RepairCurve) -> str:
    """One line chart per measure: top-n artifact units, the random control and the floor.

    GAN Dissection (Bau et al., ICLR 2019, section 4.2, Fig. 10) repairs a generator by ablating
    its artifact units; the chart shows the measure as n grows, beside ablating n random units
    and the real-vs-real floor (dashed).

    Args:
        curve: The :class:`RepairCurve`.

    Returns:
        An SVG document.

    Example:
        >>> svg = repair_chart(RepairCurve("l", [0, 1], [2], {"fsd": [3.0, 2.0]}, {"fsd": 1.0}))
        >>> svg.count("<polyline"), "real vs real" in svg
        (2, True)
    """
    charts = []
    for name, values in curve.values.items():
        lines = [("top-n artifact units", values, "#d62728", False)]
        if name in curve.control:
            lines.append(("n random units", curve.control[name], "#1f77b4", False))
        if name in curve.floor:
            lines.append(("real vs real", [curve.floor[name]] * len(curve.n), "#777777", True))
        charts.append(line_chart(curve.n, lines, title=name.upper(), x_label="units ablated (n)",
                                 y_label=name.upper(), width=340))  # fmt: skip
    title = f"repair: {curve.num_samples} samples, {curve.layer} units ablated"
    return standalone(charts, title=title)


def context_grid(table: ContextTable, min_added: float, scale: int = 4) -> Image.Image:
    """Per image: the sample, the success map and the context labels.

    Success map: green where insertion succeeded (brighter with more pixels added), red where it
    was tried and failed. Context labels: concept colours of each cell's label.

    Args:
        table: A :class:`ContextTable` with ``maps``.
        min_added: The success threshold used.
        scale: Enlargement of each image.

    Returns:
        The picture (a legend of the context labels below).

    Example:
        >>> t = ContextTable(("-", "sky"))
        >>> t.maps = {"images": torch.zeros(1, 3, 8, 8), "context": torch.ones(1, 2, 2).long(),
        ...           "added": torch.tensor([[[0.5, 0.0], [float("nan"), 0.2]]])}
        >>> context_grid(t, 0.1).size  # one image row and one legend row
        (162, 56)
    """
    maps = table.maps
    palette = torch.tensor(concept_colors(len(table.names)), dtype=torch.uint8)  # [C, 3]
    rows = []
    for i in range(maps["images"].shape[0] if maps else 0):
        image = to_pil(maps["images"][i], scale)
        size = image.size
        added = maps["added"][i]  # [h, w]
        tried = ~torch.isnan(added)
        good = tried & (added >= min_added)
        strength = added.nan_to_num(0.0).clamp(0, 1)
        colour = torch.zeros(3, *added.shape)
        colour[1] = torch.where(good, 0.35 + 0.65 * strength, 0.0)
        colour[0] = torch.where(tried & ~good, 0.8, 0.0)
        overlay = Image.fromarray((colour.permute(1, 2, 0).numpy() * 255).astype(np.uint8))
        success = Image.blend(image, overlay.resize(size, Image.Resampling.NEAREST), 0.55)
        labels = palette[maps["context"][i].clamp(0, len(table.names) - 1)].numpy()  # [h, w, 3]
        context = Image.fromarray(labels).resize(size, Image.Resampling.NEAREST)
        rows.append((f"image {i}", [image, success, context]))
    grid = image_rows(rows, label_width=60)
    if not maps:
        return grid
    present = sorted(set(maps["context"].flatten().tolist()))
    return _with_legend(grid, [(table.names[c], tuple(palette[c].tolist())) for c in present])


def _with_legend(picture: Image.Image, entries: list[tuple[str, tuple[int, ...]]]) -> Image.Image:
    """``picture`` with rows of colour swatches and names below it."""
    per_row = max(1, picture.size[0] // 90)
    height = 16 * ((len(entries) + per_row - 1) // per_row) + 4
    result = Image.new("RGB", (picture.size[0], picture.size[1] + height), "white")
    result.paste(picture, (0, 0))
    draw = ImageDraw.Draw(result)
    for index, (name, colour) in enumerate(entries):
        x = 4 + 90 * (index % per_row)
        y = picture.size[1] + 4 + 16 * (index // per_row)
        draw.rectangle([x, y + 2, x + 10, y + 12], fill=colour)
        draw.text(
            (x + 14, y + 7), name, fill="black", font=ImageFont.load_default(size=12), anchor="lm"
        )
    return result


def context_chart(rows: Sequence[Mapping[str, Any]], concept: str, least: int = 1) -> str:
    """Bars of success rate and mean fraction added per context (contexts with >= least cells).

    GAN Dissection (section 4.4, Fig. 12): inserting a concept's units succeeds in some contexts
    (doors on walls) and not in others (doors in the sky).

    Args:
        rows: :meth:`ContextTable.rows`.
        concept: The inserted concept (title).
        least: Fewest cells a context needs to be shown.

    Returns:
        An SVG document.

    Example:
        >>> svg = context_chart([{"context": "wall", "cells": 4, "success_rate": 0.5,
        ...                       "mean_added": -0.2}], "door")
        >>> svg.count("<rect") > 2, ">wall</text>" in svg, ">-0.2</text>" in svg
        (True, True, True)
    """
    shown = [r for r in rows if r["cells"] >= least]
    series = [("success rate", [float(r["success_rate"]) for r in shown], "#2ca02c"),
              ("mean added", [float(r["mean_added"]) for r in shown], "#9467bd")]  # fmt: skip
    chart = grouped_bar_chart([str(r["context"]) for r in shown], series, title=concept)
    return standalone([chart], title=f"insert {concept}: success rate and mean fraction added")


def _lighter(color: str) -> str:
    """``#rrggbb`` mixed half-way with white.

    Example:
        >>> _lighter("#000000")
        '#7f7f7f'
    """
    channels = [int(color[k : k + 2], 16) for k in (1, 3, 5)]
    return "#" + "".join(f"{(c + 255) // 2:02x}" for c in channels)


def compare_chart(report: Mapping[str, Any], names: tuple[str, str] = ("A", "B")) -> str:
    """Interpretable units per layer and category, A beside B (B in lighter colours).

    GAN Dissection (section 4.1, Fig. 6-7) compares the interpretable units of two generators.

    Args:
        report: :func:`compare_dissections` output.
        names: Labels of the two sides.

    Returns:
        An SVG document.

    Example:
        >>> side = {"interpretable": 2, "categories": {"object": 2}}
        >>> svg = compare_chart({"layers": [{"layer": "l", "a": side, "b": side}]})
        >>> ">A object</text>" in svg and ">B object</text>" in svg
        True
    """
    layers = report["layers"]
    categories = sorted({c for e in layers for side in "ab" for c in e[side]["categories"]})
    series = []
    for category in categories:
        color = CATEGORY_COLORS.get(category, CATEGORY_COLORS["none"])
        for side, name, shade in (("a", names[0], color), ("b", names[1], _lighter(color))):
            counts = [float(e[side]["categories"].get(category, 0)) for e in layers]
            series.append((f"{name} {category}", counts, shade))
    chart = grouped_bar_chart([str(e["layer"]) for e in layers], series, title="units")
    return standalone([chart], title="interpretable units per layer and category")


def lineage_picture(layer: str, a: list[UnitRecord], b: list[UnitRecord]) -> Image.Image:
    """A's and B's concept per unit (rows) in two columns, with a legend.

    Args:
        layer: The layer.
        a: A's unit records.
        b: B's unit records (same count).

    Returns:
        The picture.

    Example:
        >>> u = UnitRecord(0, "sky", 1, "object", 0.3, 0.0, 0.0, True, ())
        >>> lineage_picture("l", [u], [u]).size[1]
        8
    """
    lineage = lineage_of(layer, a, b)
    names = ["-", *sorted({u.concept for u in a + b} - {"-"})]
    cell = 8 if len(a) <= 64 else 4
    heat = lineage.heatmap(layer, len(names), cell=cell, column=40, names=names)  # [3, H, W]
    return Image.fromarray(heat.permute(1, 2, 0).numpy())
