"""Unit lineage: each unit's best concept at every evaluation of a training run.

GAN Dissection (Bau et al., ICLR 2019, section 3.1) labels a unit with its best-IoU concept. Done
once per epoch while a GAN trains, the labels form a lineage per layer: when a concept's units
emerge, and whether units keep their concept. :class:`UnitLineage` records it compactly (one
``[U]`` row of concept indices and IoUs per evaluation), fits in a checkpoint, and draws it as a
heat map (units down, evaluations across, coloured by concept, dimmed where not interpretable).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from PIL import Image, ImageDraw
from torch import Tensor

from ganlens.dissect.result import LayerDissection
from ganlens.images import concept_colors

__all__ = ["LineageEntry", "UnitLineage"]


@dataclass(frozen=True)
class LineageEntry:
    """One evaluation of one layer.

    Attributes:
        epoch: Training epoch of the evaluation.
        images_shown: Real images the GAN had seen.
        concept: int64 ``[U]`` best concept (vocabulary index) per unit.
        iou: float32 ``[U]`` IoU with that concept.
        interpretable: bool ``[U]``.

    Example:
        >>> LineageEntry(0, 64, torch.tensor([1]), torch.tensor([0.2]), torch.tensor([True])).epoch
        0
    """

    epoch: int
    images_shown: int
    concept: Tensor
    iou: Tensor
    interpretable: Tensor


class UnitLineage:
    """Best concept of every unit of every dissected layer, evaluation after evaluation.

    Example:
        >>> from ganlens.dissect.result import UnitRecord, LayerSummary
        >>> def layer(concepts):
        ...     units = tuple(UnitRecord(u, "-", c, "object", 0.2, 0.1, 1.0, c > 0, ())
        ...                   for u, c in enumerate(concepts))
        ...     return LayerDissection("layer4", units, LayerSummary(2, 0, 0, {}, {}),
        ...                            torch.zeros(2, 3))
        >>> lineage = UnitLineage()
        >>> lineage.record(0, 100, layer([1, 2]))
        >>> lineage.record(1, 200, layer([1, 1]))
        >>> lineage.stability("layer4"), lineage.emergence("layer4")
        (0.5, {1: 0, 2: 0})
        >>> lineage.heatmap("layer4", num_concepts=3, cell=4).shape
        torch.Size([3, 8, 8])
        >>> picture = lineage.heatmap("layer4", 3, cell=4, column=16, names=["-", "sky", "tree"])
        >>> picture.shape[2] > 2 * 16  # two evaluations and the legend
        True
    """

    def __init__(self) -> None:
        self.entries: dict[str, list[LineageEntry]] = {}

    def record(self, epoch: int, images_shown: int, layer: LayerDissection) -> None:
        """Append the evaluation of ``layer`` at ``epoch``."""
        units = layer.units
        self.entries.setdefault(layer.layer, []).append(
            LineageEntry(
                epoch,
                images_shown,
                torch.tensor([u.concept_index for u in units], dtype=torch.long),
                torch.tensor([u.iou for u in units], dtype=torch.float32),
                torch.tensor([u.interpretable for u in units], dtype=torch.bool),
            )
        )

    def stability(self, layer: str) -> float | None:
        """Fraction of units interpretable at the last two evaluations that kept their concept.

        ``None`` before the second evaluation or when no unit was interpretable at both.
        """
        entries = self.entries.get(layer, [])
        if len(entries) < 2:
            return None
        before, after = entries[-2], entries[-1]
        both = before.interpretable & after.interpretable  # [U]
        if not both.any():
            return None
        return float((before.concept[both] == after.concept[both]).float().mean())

    def emergence(self, layer: str) -> dict[int, int]:
        """Concept index to the first epoch at which an interpretable unit detected it."""
        first: dict[int, int] = {}
        for entry in self.entries.get(layer, []):
            for concept in torch.unique(entry.concept[entry.interpretable]).tolist():
                first.setdefault(int(concept), entry.epoch)
        return first

    def heatmap(
        self,
        layer: str,
        num_concepts: int,
        cell: int = 4,
        column: int | None = None,
        names: Sequence[str] | None = None,
    ) -> Tensor:
        """``uint8 [3, U * cell, E * column (+ legend)]`` picture: unit rows, evaluation columns.

        Each cell has its concept's colour (:func:`ganlens.images.concept_colors`), at
        full brightness when interpretable and at a third otherwise. With ``names`` (the
        vocabulary's names by index) a legend of the concepts any interpretable unit detected is
        drawn on the right.

        Args:
            layer: The layer.
            num_concepts: Vocabulary size (colours are assigned by concept index).
            cell: Height of a unit's row in pixels.
            column: Width of an evaluation's column in pixels (default ``cell``).
            names: Concept names by index, for the legend.

        Raises:
            ValueError: If ``layer`` has no recorded evaluation.
        """
        entries = self.entries.get(layer)
        if not entries:
            raise ValueError(f"no lineage recorded for layer {layer!r}; have {list(self.entries)}")
        palette = torch.tensor(concept_colors(num_concepts), dtype=torch.float32)  # [C, 3]
        concept = torch.stack([e.concept for e in entries], dim=1)  # [U, E]
        shown = torch.stack([e.interpretable for e in entries], dim=1)  # [U, E]
        colors = palette[concept.clamp(0, num_concepts - 1)]  # [U, E, 3]
        colors = colors * torch.where(shown, 1.0, 1 / 3)[..., None]
        picture = colors.permute(2, 0, 1).round().to(torch.uint8)  # [3, U, E]
        picture = picture.repeat_interleave(cell, dim=1).repeat_interleave(column or cell, dim=2)
        if names is None:
            return picture
        detected = sorted(set(concept[shown].tolist()) - {0})
        return torch.cat([picture, _legend(detected, names, palette, picture.shape[1])], dim=2)

    def state_dict(self) -> dict[str, Any]:
        """Plain tensors and numbers, loadable with ``torch.load(weights_only=True)``."""
        return {
            layer: [
                {
                    "epoch": e.epoch,
                    "images_shown": e.images_shown,
                    "concept": e.concept,
                    "iou": e.iou,
                    "interpretable": e.interpretable,
                }
                for e in entries
            ]
            for layer, entries in self.entries.items()
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""
        self.entries = {
            layer: [LineageEntry(**entry) for entry in entries] for layer, entries in state.items()
        }


def _legend(concepts: list[int], names: Sequence[str], palette: Tensor, height: int) -> Tensor:
    """``uint8 [3, height, W]`` white strip listing ``concepts`` with their colour swatches."""
    row = 12
    width = 8 + 6 * max((len(names[c]) for c in concepts), default=0) + 22
    strip = Image.new("RGB", (width, max(height, row * len(concepts) + 4)), "white")
    draw = ImageDraw.Draw(strip)
    for i, c in enumerate(concepts):
        top = 2 + i * row
        draw.rectangle((6, top + 1, 14, top + 9), fill=tuple(int(v) for v in palette[c].tolist()))
        draw.text((18, top), names[c], fill="black")
    array = torch.from_numpy(np.asarray(strip).copy()).permute(2, 0, 1)  # [3, H', W]
    return array[:, :height]
