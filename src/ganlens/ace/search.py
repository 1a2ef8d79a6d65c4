"""The search pass of ACE fitting: "present" and "candidate" (image, cell) pairs for a concept.

GAN Dissection (Bau et al., ICLR 2019, arXiv:1811.10597, section 3.2) ablates units where the
concept c is present and inserts them where it could appear (paper section 3.2):

* **present** cells: in each image that contains c, the ``present_per_image`` feature cells that
  c covers most (hard coverage > 0; ties broken by position);
* **candidate** cells: cells without c (hard coverage 0) where inserting the constant k into
  *all* units adds the most c, measured as the gain in soft presence at the cell itself. The
  ``present_per_image`` / ``candidates_per_image`` best cells of each image are kept.

Scoring every cell alone would cost ``h * w`` forward passes per image. Instead insertions are
made at all cells of a lattice with step ``spacing`` at once (``spacing ** 2`` passes per image),
each as a window of ``radius`` around the cell, and every cell is scored in the pass where it is a
lattice point. Cells ``spacing`` apart interact only through the generator's receptive field
beyond that distance; ``spacing >= max(h, w)`` scores every cell alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from ganlens.ace.insertion import InsertionAccumulator, InsertionStatistics, latent_batches
from ganlens.functional.causal_effect import CAUSAL_VARIANTS
from ganlens.hooks import Intervention
from ganlens.metrics.causal_effect import generate_presence
from ganlens.metrics.distributed import process_share, summed_over_processes

__all__ = ["CellSearch", "search_cells", "top_cells"]


@dataclass(frozen=True)
class CellSearch:
    """What the search pass found for one concept at one layer.

    Attributes:
        layer: Dotted layer name.
        concept: Concept name or label value.
        latents: ``[N, ...]`` the latents searched (pairs index into them).
        coverage: float32 ``[N, h, w]`` hard coverage of c in the unedited images.
        present: int64 ``[P, 3]`` (image, row, column) present cells.
        candidates: int64 ``[Q, 3]`` (image, row, column) candidate cells.
        candidate_gain: float32 ``[Q]`` soft presence gained at each candidate by inserting k.
        statistics: The units' :class:`~ganlens.ace.insertion.InsertionStatistics`.

    Example:
        >>> from ganlens.ace.planted import PlantedCausalGenerator, PlantedConceptSegmenter
        >>> g = PlantedCausalGenerator(grid=4, scale=2)
        >>> z = torch.randn(6, g.latent_size, generator=torch.Generator().manual_seed(0))
        >>> found = search_cells(g, "layer1", PlantedConceptSegmenter(), "tree", z)
        >>> found.grid, found.present.shape[1], bool((found.candidate_gain > 0).all())
        ((4, 4), 3, True)
    """

    layer: str
    concept: str | int
    latents: Tensor
    coverage: Tensor
    present: Tensor
    candidates: Tensor
    candidate_gain: Tensor
    statistics: InsertionStatistics

    @property
    def grid(self) -> tuple[int, int]:
        """The feature grid ``(h, w)``."""
        return int(self.coverage.shape[1]), int(self.coverage.shape[2])

    @property
    def k(self) -> Tensor:
        """``[U]`` insertion constants (the coverage-weighted means)."""
        return self.statistics.mean


def top_cells(scores: Tensor, valid: Tensor, per_image: int) -> tuple[Tensor, Tensor]:
    """The ``per_image`` best valid cells of each image.

    Args:
        scores: ``[N, h, w]`` scores (higher is better).
        valid: ``bool [N, h, w]`` cells that may be chosen.
        per_image: Cells kept per image at most.

    Returns:
        ``(cells int64 [M, 3] as (image, row, column), their scores [M])``, image by image,
        best first; ties keep the first cell in row-major order.

    Example:
        >>> scores = torch.tensor([[[0.1, 0.9], [0.5, 0.0]]])
        >>> top_cells(scores, scores > 0, per_image=2)[0].tolist()
        [[0, 0, 1], [0, 1, 0]]
    """
    if per_image < 1:
        raise ValueError(f"per_image must be >= 1; got {per_image}")
    count, _, width = scores.shape
    flat = torch.where(valid, scores, torch.tensor(float("-inf"))).reshape(count, -1)
    best, index = flat.sort(dim=1, descending=True, stable=True)
    best, index = best[:, :per_image], index[:, :per_image]  # [N, m]
    keep = torch.isfinite(best)
    images = torch.arange(count).view(-1, 1).expand_as(index)
    cells = torch.stack([images[keep], index[keep] // width, index[keep] % width], dim=1)
    return cells.long(), best[keep].float()


def _lattice_masks(grid: tuple[int, int], spacing: int, radius: int) -> list[tuple[Tensor, Tensor]]:
    """``(lattice points bool [h, w], windows around them bool [h, w])`` per lattice offset."""
    height, width = grid
    rows, cols = torch.arange(height).view(-1, 1), torch.arange(width).view(1, -1)
    masks = []
    for row in range(min(spacing, height)):
        for col in range(min(spacing, width)):
            points = ((rows - row) % spacing == 0) & ((cols - col) % spacing == 0)  # [h, w]
            centres = points.nonzero()
            near_row = (rows.view(1, -1, 1) - centres[:, 0].view(-1, 1, 1)).abs() <= radius
            near_col = (cols.view(1, 1, -1) - centres[:, 1].view(-1, 1, 1)).abs() <= radius
            masks.append((points, (near_row & near_col).any(dim=0)))
    return masks


def _assembled(part: Tensor, share: range, count: int) -> Tensor:
    """``[count, h, w]``: every process's rows of a per-image map, summed over the group."""
    whole = torch.zeros(count, *part.shape[1:], dtype=part.dtype)
    whole[share.start : share.stop] = part
    return summed_over_processes(whole).cpu()


def search_cells(
    generator: nn.Module,
    layer: str,
    segmenter: Any,
    concept: str | int,
    latents: Tensor,
    *,
    k: Tensor | None = None,
    present_per_image: int = 1,
    candidates_per_image: int = 1,
    spacing: int = 3,
    radius: int = 0,
    batch_size: int = 32,
    resolution: int | None = None,
    progress: bool = False,
    distributed: bool = False,
) -> CellSearch:
    """Find present and candidate cells of ``concept`` in the images of ``latents``.

    Args:
        generator: Maps latents to images.
        layer: Dotted layer name (output ``[N, U, h, w]``).
        segmenter: A :class:`~ganlens.segment.Segmenter`.
        concept: Concept name or label value.
        latents: ``[N, ...]`` latents to search.
        k: ``[U]`` insertion constants; default the coverage-weighted means over ``latents``.
        present_per_image: Present cells kept per image.
        candidates_per_image: Candidate cells kept per image.
        spacing: Lattice step of the simultaneous insertions (must exceed ``2 * radius``).
        radius: Half side of the inserted window around each lattice cell.
        batch_size: Samples per forward pass.
        resolution: Segmentation side (default the image size).
        progress: Show tqdm bars.
        distributed: This process renders its contiguous share of ``latents``; the statistics
            are summed and the coverage and gain maps assembled over the process group, so every
            process returns the search one process would find.

    Returns:
        :class:`CellSearch` (its ``statistics`` always come from ``latents``; ``k`` given
        here is only used for the candidate scores).

    Raises:
        ValueError: On a bad count, spacing or radius.
    """
    if spacing < 2 * radius + 1 or radius < 0:
        raise ValueError(
            f"spacing must be >= 2 * radius + 1 (windows must not overlap); got spacing={spacing},"
            f" radius={radius}"
        )
    share = process_share(latents.shape[0], distributed)
    mine = latents[share.start : share.stop]
    accumulator = InsertionAccumulator(distributed=distributed)
    coverages, softs = [], []
    for _, batch in latent_batches(mine, batch_size, "ace search (unedited)", progress):
        with torch.no_grad():
            presence, features = generate_presence(
                generator, segmenter, batch, layer, concept, resolution=resolution
            )  # [2, n, h, w]
        accumulator.update(features, presence[0])
        coverages.append(presence[0].cpu())
        softs.append(presence[1].cpu())
    statistics = accumulator.result()
    coverage, soft = torch.cat(coverages), torch.cat(softs)  # [n, h, w] each: this share
    value = statistics.mean if k is None else k.detach().cpu()

    grid = (int(coverage.shape[1]), int(coverage.shape[2]))
    gain = torch.zeros_like(soft)  # [n, h, w]
    lattices = _lattice_masks(grid, spacing, radius)
    for start, batch in latent_batches(mine, batch_size, "ace search (insertions)", progress):
        for points, windows in lattices:
            edit = Intervention(layer, mask=windows, value=value)
            with torch.no_grad():
                presence, _ = generate_presence(
                    generator, segmenter, batch, layer, concept, edit,
                    variants=CAUSAL_VARIANTS[1:], resolution=resolution,
                )  # fmt: skip
            after = presence[0].cpu()  # [n, h, w]
            rows = slice(start, start + batch.shape[0])
            gain[rows] = torch.where(points, after - soft[rows], gain[rows])
    if distributed:  # every share in its rows, zeros elsewhere: the sum is the whole map
        coverage, gain = (_assembled(part, share, latents.shape[0]) for part in (coverage, gain))
    present, _ = top_cells(coverage, coverage > 0, present_per_image)
    candidates, candidate_gain = top_cells(gain, (coverage == 0) & (gain > 0), candidates_per_image)
    return CellSearch(
        layer, concept, latents.detach().cpu(), coverage, present, candidates, candidate_gain,
        statistics,
    )  # fmt: skip
