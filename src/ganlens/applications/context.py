"""Insertion in context: where can a concept's units make it appear?

GAN Dissection (Bau et al., ICLR 2019, arXiv:1811.10597, section 4.4, Fig. 11-12): forcing a
concept's units on at one location draws the concept only where the scene allows it (a door on a
wall, nothing in the sky). :func:`insertion_in_context` inserts the units (value k, per unit; the
ACE insertion constant) in a window of half side ``radius`` centred on each feature cell in turn,
segments the result, and measures at that cell:

* ``added``: the net fraction of the window's image pixels that carry the concept after the edit
  minus before (any label layer; can be negative when the edit removes some);
* ``success``: ``added >= min_added``;
* ``context``: the unedited image's label at the cell: per pixel of the cell's own region, the
  first of ``context_layers`` that labels it (by default the part, else the object), then the most
  frequent label over the region (ties: the smaller label value).

Results are summed per context label (:class:`ContextTable`). Cost: one forward pass and one
segmentation per image and tried cell.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganlens.applications.artifacts import progress_bar
from ganlens.dissect.record import fold_ace, read_dissection
from ganlens.functional.causal_effect import cell_windows
from ganlens.hooks import Intervention, intervene, module_device, trace
from ganlens.metrics.distributed import process_share, summed_over_processes

__all__ = ["ContextTable", "context_labels", "insertion_in_context", "iou_ranking", "rank_units"]


def context_labels(labels: Tensor, layer_names: Sequence[str], prefer: Sequence[str]) -> Tensor:
    """Per-pixel context label ``[N, S, S]``: the first of ``prefer`` layers that labels a pixel.

    Layers in ``prefer`` that the segmenter lacks are ignored; if none is present, the first
    label layer is used.

    Args:
        labels: ``int64 [N, K, S, S]`` label layers.
        layer_names: The segmenter's name of each of the K layers.
        prefer: Layer names in order of preference.

    Returns:
        ``int64 [N, S, S]`` context labels (0 where no preferred layer labels a pixel).

    Example:
        >>> labels = torch.tensor([[[[1, 1]], [[0, 9]]]])  # [N=1, K=2 (object, part), 1, 2]
        >>> context_labels(labels, ("object", "part"), ("part", "object")).tolist()
        [[[1, 9]]]
    """
    order = [layer_names.index(name) for name in prefer if name in layer_names] or [0]
    result = torch.zeros_like(labels[:, 0])
    for index in reversed(order):  # the first preferred layer is written last
        layer = labels[:, index]
        result = torch.where(layer > 0, layer, result)
    return result


def _cell_mode(context: Tensor, grid: tuple[int, int]) -> Tensor:
    """Most frequent label of each cell's pixels, ``[N, S, S]`` -> ``[N, h, w]``."""
    n, size = context.shape[0], context.shape[-1]
    height, width = grid
    if size % height or size % width:
        raise ValueError(f"segmentation side {size} must be a multiple of the grid {grid}")
    blocks = context.view(n, height, size // height, width, size // width)
    blocks = blocks.permute(0, 1, 3, 2, 4).reshape(n, height, width, -1)
    return blocks.mode(dim=-1).values  # [N, h, w]


@dataclass
class ContextTable:
    """Insertion outcomes summed per context label.

    Attributes:
        names: Vocabulary names by label value.
        cells: Tried cells per context label.
        successes: Successful cells per context label.
        added: Sum of ``added`` fractions per context label.
        maps: For the first images: ``images`` ``[n, 3, H, W]``, ``context`` ``[n, h, w]``,
            ``added`` ``[n, h, w]`` (NaN where not tried).

    Example:
        >>> table = ContextTable(("-", "sky", "wall"))
        >>> table.add(torch.tensor([1, 2, 2]), torch.tensor([0.0, 0.5, 0.0]), 0.1)
        >>> [(r["context"], r["cells"], r["success_rate"]) for r in table.rows()]
        [('wall', 2, 0.5), ('sky', 1, 0.0)]
    """

    names: tuple[str, ...]
    cells: dict[int, int] = field(default_factory=dict)
    successes: dict[int, int] = field(default_factory=dict)
    added: dict[int, float] = field(default_factory=dict)
    maps: dict[str, Tensor] = field(default_factory=dict)

    def add(self, context: Tensor, added: Tensor, min_added: float) -> None:
        """Count cells with context labels ``[M]`` and their ``added`` fractions ``[M]``."""
        for label in torch.unique(context).tolist():
            chosen = added[context == label]
            self.cells[label] = self.cells.get(label, 0) + int(chosen.numel())
            self.successes[label] = self.successes.get(label, 0) + int((chosen >= min_added).sum())
            self.added[label] = self.added.get(label, 0.0) + float(chosen.sum())

    def summed_over_processes(self) -> ContextTable:
        """The counts summed over the process group (maps kept as they are).

        Example:
            >>> table = ContextTable(("-", "sky"))
            >>> table.add(torch.tensor([1]), torch.tensor([0.5]), 0.1)
            >>> table.summed_over_processes().cells  # without a process group: the same
            {1: 1}
        """
        size = len(self.names)

        def dense(counts: dict[int, Any], dtype: torch.dtype) -> Tensor:
            values = torch.zeros(size, dtype=dtype)
            for label, value in counts.items():
                values[label] = value
            return summed_over_processes(values)

        cells = dense(self.cells, torch.long)
        successes, added = dense(self.successes, torch.long), dense(self.added, torch.float64)
        present = [int(label) for label in cells.nonzero().view(-1).tolist()]
        return ContextTable(
            self.names,
            {label: int(cells[label]) for label in present},
            {label: int(successes[label]) for label in present},
            {label: float(added[label]) for label in present},
            self.maps,
        )

    def rows(self) -> list[dict[str, Any]]:
        """One row per context: cells, successes, success rate, mean added; most cells first."""
        rows = [
            {
                "context": self.names[label],
                "label": label,
                "cells": count,
                "successes": self.successes[label],
                "success_rate": self.successes[label] / count,
                "mean_added": self.added[label] / count,
            }
            for label, count in self.cells.items()
        ]
        return sorted(rows, key=lambda r: (-r["cells"], r["label"]))


def insertion_in_context(
    generator: nn.Module,
    layer: str,
    segmenter: Any,
    concept: str,
    units: Sequence[int],
    k: Tensor,
    latents: Tensor,
    *,
    radius: int = 1,
    spacing: int = 1,
    min_added: float = 0.1,
    context_layers: Sequence[str] = ("part", "object"),
    keep_maps: int = 8,
    batch_size: int = 64,
    progress: bool = False,
    distributed: bool = False,
) -> ContextTable:
    """Insert ``units`` at every (``spacing``-th) cell of every image; tabulate by context.

    Args:
        generator: Maps latents to images.
        layer: Dotted layer name (output ``[N, U, h, w]``).
        segmenter: ``vocabulary``, ``layer_names`` and ``segment(images, resolution)``.
        concept: The concept inserted.
        units: Units set to k inside the window.
        k: ``[len(units)]`` insertion values (or one value).
        latents: ``[N, ...]`` latents.
        radius: Window half side in cells (0: the cell alone).
        spacing: Try cells whose row and column are multiples of this.
        min_added: Success threshold on ``added``.
        context_layers: Label layers naming the context, first labelled one wins.
        keep_maps: Images whose maps are kept for pictures.
        batch_size: Samples per forward pass.
        progress: Show a progress bar.
        distributed: Each process of the initialised group edits its contiguous share of
            ``latents`` and the tables are summed, so every process gets the whole table; the
            maps are those of each process's own first images (rank 0's are the set's first).

    Returns:
        :class:`ContextTable`.

    Raises:
        ValueError: On an unknown concept, empty units, a bad radius, spacing or k.

    Example:
        >>> from ganlens.applications.planted import LabelImageSegmenter, PlantedContextGenerator
        >>> table = insertion_in_context(PlantedContextGenerator(), "layer1", LabelImageSegmenter(),
        ...     "door", [0], torch.ones(1), torch.arange(4.0)[:, None], radius=0)
        >>> rates = {r["context"]: r["success_rate"] for r in table.rows()}
        >>> rates["wall"] > 0.9, rates["sky"]
        (True, 0.0)
    """
    vocabulary = segmenter.vocabulary
    if concept not in vocabulary:
        raise ValueError(f"unknown concept {concept!r}; the segmenter knows {vocabulary.names}")
    if not units or radius < 0 or spacing < 1 or batch_size < 1:
        raise ValueError(
            "units must be non-empty, radius >= 0, spacing and batch_size >= 1; got "
            f"{list(units)}, {radius}, {spacing}, {batch_size}"
        )
    label = vocabulary.index(concept)
    names = tuple(getattr(segmenter, "layer_names", ()))
    table = ContextTable(tuple(vocabulary.names))
    device = module_device(generator)
    kept: dict[str, list[Tensor]] = {"images": [], "context": [], "added": []}
    share = process_share(latents.shape[0], distributed)
    latents = latents[share.start : share.stop]
    starts = range(0, latents.shape[0], batch_size)
    for start in progress_bar(starts, f"insert {concept}", progress):
        z = latents[start : start + batch_size].to(device)
        with torch.no_grad(), trace(generator, layer) as traced:
            images = generator(z).clamp(-1.0, 1.0)
        grid = (int(traced[layer].shape[2]), int(traced[layer].shape[3]))
        labels = segmenter.segment(images, images.shape[-1])  # [n, K, S, S]
        before = (labels == label).any(dim=1).float()  # [n, S, S]
        context = _cell_mode(context_labels(labels, names, context_layers), grid)  # [n, h, w]
        added = torch.full((z.shape[0], *grid), float("nan"))
        cells = [(r, c) for r in range(0, grid[0], spacing) for c in range(0, grid[1], spacing)]
        for row, col in cells:
            window = cell_windows(torch.tensor([[row, col]]), grid, radius)[0]  # [h, w]
            edit = Intervention(layer, units=list(units), value=k, mask=window)
            with torch.no_grad(), intervene(generator, edit):
                edited = generator(z).clamp(-1.0, 1.0)
            after = (segmenter.segment(edited, images.shape[-1]) == label).any(dim=1).float()
            region = F.interpolate(window[None, None].float(), size=before.shape[-2:])[0, 0]
            gained = ((after - before) * region.to(after.device)).sum(dim=(1, 2)) / region.sum()
            added[:, row, col] = gained.cpu()
            table.add(context[:, row, col].cpu(), gained.cpu(), min_added)
        if sum(t.shape[0] for t in kept["images"]) < keep_maps:
            kept["images"].append(images.cpu())
            kept["context"].append(context.cpu())
            kept["added"].append(added)
    table.maps = {key: torch.cat(values)[:keep_maps] for key, values in kept.items() if values}
    return table.summed_over_processes() if distributed else table


def rank_units(
    dissection: str | None, layer: str, concept: str, ranking: str
) -> tuple[list[int], str] | None:
    """Units of ``layer`` ranked for ``concept`` from a dissection folder, and the source.

    ``auto`` and ``ace`` read ``DIR/ace/<layer>/<concept>.json`` (``ranking.ace``); ``auto`` then
    falls back, and ``iou`` goes, to the ``<concept>-iou`` ranking of ``DIR/dissect.json``.
    Returns None without a dissection.

    Args:
        dissection: A dissection folder or ``dissect.json``, or None.
        layer: The layer.
        concept: The concept.
        ranking: ``"auto"``, ``"ace"`` or ``"iou"``.

    Returns:
        ``(units best first, source)`` or None.

    Raises:
        ValueError: If the requested ranking is not in the dissection.

    Example:
        >>> rank_units(None, "layer4", "door", "auto") is None
        True
    """
    if dissection is None:
        if ranking == "ace":
            raise ValueError("ranking 'ace' needs a dissection folder with ACE results")
        return None
    folder = Path(dissection)
    folder = folder if folder.is_dir() else folder.parent
    result = fold_ace(read_dissection(dissection), folder)  # ACE files read the one way
    if layer not in result.layers:
        raise ValueError(f"dissection {dissection!r} has no layer {layer!r}")
    fits = [fit for fit in result[layer].ace if fit.concept == concept]
    if ranking in ("auto", "ace") and fits:
        return list(fits[-1].ranking), "ace"
    if ranking == "ace":
        where = folder / "ace" / layer / f"{concept}.json"
        raise ValueError(f"ranking 'ace' needs {where} (run ganlens ace first)")
    names = result.concept_names
    table = result[layer].iou_table  # [U, C]
    if concept not in names or float(table[:, names.index(concept)].max()) <= 0:
        raise ValueError(f"dissection {dissection!r} has no IoU ranking for {concept!r}")
    return iou_ranking(table[:, names.index(concept)]), "iou"


def iou_ranking(iou: Tensor) -> list[int]:
    """Units ordered by a concept's IoU ``[U]``, highest first (ties: lower unit first).

    Example:
        >>> iou_ranking(torch.tensor([0.1, 0.3, 0.1]))
        [1, 0, 2]
    """
    values = iou.tolist()
    return sorted(range(len(values)), key=lambda u: (-values[u], u))
