"""The pictures each application writes: artifact units, repair curve, context grid, comparison.

Every function returns a :class:`PIL.Image.Image` (write it with
:func:`ganlens.applications.plot.save_png`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont
from torch import Tensor

from ganlens.applications.compare import lineage_of
from ganlens.applications.context import ContextTable
from ganlens.applications.plot import bar_chart, image_rows, line_chart, to_pil
from ganlens.applications.repair import RepairCurve
from ganlens.dissect.result import UnitRecord
from ganlens.images import concept_colors

__all__ = [
    "compare_chart",
    "context_chart",
    "context_grid",
    "lineage_picture",
    "repair_chart",
    "sample_rows",
]


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


def repair_chart(curve: RepairCurve) -> Image.Image:
    """One panel per measure: top-n artifact units, the random control and the floor.

    Args:
        curve: The :class:`RepairCurve`.

    Returns:
        The picture.

    Example:
        >>> repair_chart(RepairCurve("l", [0, 1], [2], {"swd": [3.0, 2.0]}, {"swd": 1.0})).size
        (380, 292)
    """
    panels = []
    for name, values in curve.values.items():
        lines = {"top-n artifact units": values}
        if name in curve.control:
            lines["n random units"] = curve.control[name]
        floor = {"real vs real": curve.floor[name]} if name in curve.floor else {}
        title = f"{name.upper()} of {curve.num_samples} samples, {curve.layer} units ablated"
        panels.append((title, curve.n, lines, floor))
    return line_chart(panels, "units ablated (n)")


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


def context_chart(rows: Sequence[Mapping[str, Any]], concept: str, least: int = 1) -> Image.Image:
    """Bars of success rate and mean pixels added per context (contexts with >= least cells).

    Args:
        rows: :meth:`ContextTable.rows`.
        concept: The inserted concept (title).
        least: Fewest cells a context needs to be shown.

    Returns:
        The picture.

    Example:
        >>> context_chart([{"context": "wall", "cells": 4, "success_rate": 0.5,
        ...                 "mean_added": 0.2}], "door").size[1]
        260
    """
    groups = {
        str(r["context"]): {"success rate": r["success_rate"], "mean added": r["mean_added"]}
        for r in rows
        if r["cells"] >= least
    }
    return bar_chart(f"insert {concept}: success rate and mean fraction added, by context", groups)


def compare_chart(report: Mapping[str, Any], names: tuple[str, str] = ("A", "B")) -> Image.Image:
    """Interpretable units per layer and category, A beside B.

    Args:
        report: :func:`compare_dissections` output.
        names: Labels of the two sides.

    Returns:
        The picture.

    Example:
        >>> side = {"interpretable": 2, "categories": {"object": 2}}
        >>> compare_chart({"layers": [{"layer": "l", "a": side, "b": side}]}).size[1]
        260
    """
    groups: dict[str, dict[str, float]] = {}
    for entry in report["layers"]:
        values: dict[str, float] = {}
        for side, name in zip(("a", "b"), names, strict=True):
            for category, count in entry[side]["categories"].items():
                values[f"{name} {category}"] = float(count)
        groups[str(entry["layer"])] = dict(sorted(values.items(), key=lambda kv: kv[0][2:]))
    return bar_chart("interpretable units per layer and category", groups)


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
