"""The insertion constant k of each unit for a concept.

GAN Dissection (Bau et al., ICLR 2019, arXiv:1811.10597, section 3.2) inserts units by forcing
them to a constant k. ganlens offers two per-unit levels, both streamed over latents:

* ``mean`` (the ACE default): ``k_u = sum_{z, cells} r_u * cov_c / sum cov_c``, the mean
  activation of u weighted by the hard coverage ``cov_c`` of c in each feature cell
  (:func:`ganlens.functional.causal_effect.insertion_constant`);
* ``quantile``: the per-unit 99th percentile of u's activations over all cells (unconditional;
  the level GANPaint-style painting uses), from :class:`~ganlens.metrics.unit_level.UnitLevel`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from ganlens.functional.causal_effect import _insertion_constant_update
from ganlens.metrics.causal_effect import generate_presence
from ganlens.metrics.distributed import process_share, summed_over_processes
from ganlens.metrics.unit_level import UNIT_LEVEL, UnitLevel

__all__ = ["InsertionStatistics", "insertion_statistics", "latent_batches"]


@dataclass(frozen=True)
class InsertionStatistics:
    """Per-unit insertion levels for one concept at one layer.

    Attributes:
        mean: float32 ``[U]`` coverage-weighted mean activation where c is present (k).
        quantile: float32 ``[U]`` activation level exceeded by ``1 - level`` of all cells.
        level: The quantile level (0.99 by default).
        coverage: Mean hard coverage of c over all cells seen.

    Example:
        >>> stats = InsertionStatistics(torch.ones(2), torch.full((2,), 3.0), 0.99, 0.1)
        >>> stats.mean.tolist(), stats.coverage
        ([1.0, 1.0], 0.1)
    """

    mean: Tensor
    quantile: Tensor
    level: float
    coverage: float


class InsertionAccumulator:
    """Stream featuremaps with their concept coverage into :class:`InsertionStatistics`.

    Args:
        level: Quantile level of the ``quantile`` statistic, in (0, 1).
        distributed: Sum the statistics over the process group in :meth:`result` (every
            process calls it and gets the statistics of all processes' featuremaps).

    Raises:
        ValueError: If ``level`` is not in (0, 1).

    Example:
        >>> acc = InsertionAccumulator()
        >>> acc.update(torch.ones(2, 3, 4, 4), torch.ones(2, 4, 4))
        >>> acc.result().mean.tolist()
        [1.0, 1.0, 1.0]
    """

    def __init__(self, level: float = UNIT_LEVEL, distributed: bool = False) -> None:
        self.quantiles = UnitLevel(level, distributed)  # checks level
        self.level, self.distributed = level, distributed
        self.sums: Tensor | None = None
        self.weight = torch.zeros((), dtype=torch.float64)
        self.cells = 0

    def update(self, features: Tensor, coverage: Tensor) -> None:
        """Add ``[N, U, h, w]`` featuremaps and their ``[N, h, w]`` coverage of the concept."""
        sums, weight = _insertion_constant_update(features, coverage)
        self.sums = sums.cpu() if self.sums is None else self.sums + sums.cpu()
        self.weight += weight.cpu()
        self.cells += coverage.numel()
        self.quantiles.update(features)

    def result(self) -> InsertionStatistics:
        """The statistics so far; ``mean`` is zero when the concept never appeared."""
        if self.sums is None:
            raise ValueError("no featuremaps have been added")
        sums, weight, cells = self.sums, self.weight, torch.tensor(float(self.cells))
        if self.distributed:
            sums, weight, cells = (summed_over_processes(t) for t in (sums, weight, cells))
        mean = (sums / weight.clamp(min=1e-12)).float()
        quantile = self.quantiles.compute()
        return InsertionStatistics(mean, quantile, self.level, float(weight) / float(cells))


def latent_batches(
    latents: Tensor, batch_size: int, description: str = "", progress: bool = False
) -> Iterable[tuple[int, Tensor]]:
    """``(start, latents[start : start + batch_size])`` pairs, with a tqdm bar if asked.

    Example:
        >>> [start for start, _ in latent_batches(torch.zeros(5, 2), 2)]
        [0, 2, 4]
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1; got {batch_size}")
    starts: Sequence[int] | Any = range(0, latents.shape[0], batch_size)
    if progress:
        starts = tqdm(starts, desc=description, leave=False)
    for start in starts:
        yield start, latents[start : start + batch_size]


def insertion_statistics(
    generator: nn.Module,
    layer: str,
    segmenter: Any,
    concept: str | int,
    latents: Tensor,
    *,
    level: float = UNIT_LEVEL,
    batch_size: int = 32,
    resolution: int | None = None,
    progress: bool = False,
    distributed: bool = False,
) -> InsertionStatistics:
    """Insertion levels of every unit of ``layer`` for ``concept``, over ``latents``.

    Args:
        generator: Maps latents to images.
        layer: Dotted layer name (output ``[N, U, h, w]``).
        segmenter: A :class:`~ganlens.segment.Segmenter`.
        concept: Concept name or label value.
        latents: ``[N, ...]`` latents.
        level: Quantile level of the alternative statistic.
        batch_size: Samples per forward pass.
        resolution: Segmentation side (default the image size).
        progress: Show a tqdm bar.
        distributed: Each process of the initialised group takes its contiguous share of
            ``latents``; every process gets the statistics of all of them.

    Returns:
        :class:`InsertionStatistics`.

    Example:
        >>> from ganlens.ace.planted import PlantedCausalGenerator, PlantedConceptSegmenter
        >>> g = PlantedCausalGenerator(grid=8, scale=1)
        >>> z = torch.randn(256, g.latent_size, generator=torch.Generator().manual_seed(0))
        >>> stats = insertion_statistics(g, "layer1", PlantedConceptSegmenter(), "tree", z)
        >>> [round(v, 2) for v in stats.mean[g.causal_units].tolist()]  # E[m | m > 1/2] = 3/4
        [0.75, 0.75, 0.75]
    """
    accumulator = InsertionAccumulator(level, distributed)
    share = process_share(latents.shape[0], distributed)
    mine = latents[share.start : share.stop]
    for _, batch in latent_batches(mine, batch_size, "insertion constant", progress):
        with torch.no_grad():
            presence, features = generate_presence(
                generator, segmenter, batch, layer, concept, variants=("hard",),
                resolution=resolution,
            )  # fmt: skip
        accumulator.update(features, presence[0])
    return accumulator.result()
