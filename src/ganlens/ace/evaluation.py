"""Evaluation curves of a unit ranking: ablate / insert the top n units (paper figure 7).

GAN Dissection (Bau et al., ICLR 2019, arXiv:1811.10597, section 3.2 / 4.3) judges a ranking of
units for a concept c by intervening on its top n units, n = 1 .. N, on held-out images:

* **ablation** (alpha 1, value 0, over the whole feature map, all held-out images): the fraction
  of c's pixels removed, ``1 - (c pixels after) / (c pixels before)``, pixels counted with the
  segmenter's argmax labels at the segmentation resolution, summed over all images. It can be
  negative when ablation makes c grow.
* **insertion** (alpha 1, value k, at each held-out candidate cell, a window of ``radius``): the
  fraction of the candidate cells' pixels segmented as c afterwards. Candidate cells hold no c
  before (hard coverage 0), so these pixels are all new.

Rankings sharing a prefix share its runs (results are cached by unit set).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from ganlens.ace.insertion import latent_batches
from ganlens.ace.search import CellSearch
from ganlens.functional.causal_effect import cell_windows
from ganlens.hooks import Intervention
from ganlens.metrics.causal_effect import generate_presence
from ganlens.metrics.distributed import rank_and_world, summed_over_processes

__all__ = ["CausalCurves", "causal_curves", "iou_ranking"]


@dataclass(frozen=True)
class CausalCurves:
    """Ablation and insertion effect of the top n units of each ranking.

    Attributes:
        n: ``[1, ..., N]``.
        ablation: Ranking name to the fraction of c's pixels removed, one value per n.
        insertion: Ranking name to the fraction of candidate-cell pixels that became c.

    Example:
        >>> curves = CausalCurves([1, 2], {"ace": [0.5, 0.9]}, {"ace": [0.2, 0.4]})
        >>> curves.to_dict()["ablation"]["ace"]
        [0.5, 0.9]
    """

    n: list[int]
    ablation: dict[str, list[float]]
    insertion: dict[str, list[float]]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values: ``{"n", "ablation", "insertion"}``."""
        return asdict(self)


def iou_ranking(iou: Tensor) -> list[int]:
    """Unit ids by decreasing IoU (ties keep the lower id first).

    Example:
        >>> iou_ranking(torch.tensor([0.1, 0.3, 0.3, 0.0]))
        [1, 2, 0, 3]
    """
    return [int(u) for u in torch.argsort(-iou.detach().float().cpu(), stable=True)]


def _ablation_pixels(
    generator: nn.Module,
    segmenter: Any,
    held_out: CellSearch,
    units: Sequence[int],
    batch_size: int,
    resolution: int | None,
    images: range,
) -> float:
    """Hard presence of c summed over all cells of ``images`` after ablating ``units``."""
    total = 0.0
    edit = Intervention(held_out.layer, units=list(units))
    for _, batch in latent_batches(held_out.latents[images.start : images.stop], batch_size):
        presence, _ = generate_presence(
            generator, segmenter, batch, held_out.layer, held_out.concept, edit,
            variants=("hard",), resolution=resolution,
        )  # fmt: skip
        total += float(presence[0].sum())
    return total


def _insertion_pixels(
    generator: nn.Module,
    segmenter: Any,
    held_out: CellSearch,
    units: Sequence[int],
    k: Tensor,
    radius: int,
    batch_size: int,
    resolution: int | None,
    cells: range,
) -> float:
    """Hard presence of c summed over the candidate ``cells`` after inserting ``units`` there."""
    candidates = held_out.candidates
    chosen = torch.tensor(list(units), dtype=torch.long)
    total = 0.0
    for start in range(cells.start, cells.stop, batch_size):
        pairs = candidates[start : min(start + batch_size, cells.stop)]  # [B, 3]
        windows = cell_windows(pairs[:, 1:], held_out.grid, radius)  # [B, h, w]
        edit = Intervention(held_out.layer, units=chosen, mask=windows, value=k[chosen])
        presence, _ = generate_presence(
            generator, segmenter, held_out.latents[pairs[:, 0]], held_out.layer,
            held_out.concept, edit, variants=("hard",), resolution=resolution,
        )  # fmt: skip
        rows = torch.arange(pairs.shape[0])
        total += float(presence[0].cpu()[rows, pairs[:, 1], pairs[:, 2]].sum())
    return total


def causal_curves(
    generator: nn.Module,
    segmenter: Any,
    held_out: CellSearch,
    rankings: Mapping[str, Sequence[int]],
    *,
    k: Tensor | None = None,
    top_n: int = 20,
    radius: int = 0,
    batch_size: int = 32,
    resolution: int | None = None,
    progress: bool = False,
    distributed: bool = False,
) -> CausalCurves:
    """Ablation and insertion curves of several rankings on a held-out search.

    Args:
        generator: Maps latents to images.
        segmenter: A :class:`~ganlens.segment.Segmenter`.
        held_out: A :class:`~ganlens.ace.search.CellSearch` of held-out latents (its latents are
            ablated, its candidates inserted at, with its ``k``).
        rankings: Name (e.g. ``"ace"``, ``"iou"``) to unit ids, most important first.
        k: ``[U]`` insertion constants (default ``held_out.k``; pass the fitting set's).
        top_n: Largest n (capped at the ranking's length).
        radius: Half side of the insertion window.
        batch_size: Samples per forward pass.
        resolution: Segmentation side (default the image size).
        progress: Show a tqdm bar over the runs.
        distributed: This process ablates in its contiguous share of the held-out images and
            inserts at its share of the candidate cells; the pixel counts (whole numbers, so
            the sum is exact) are summed over the process group once, after every run.

    Returns:
        :class:`CausalCurves`.

    Raises:
        ValueError: If ``top_n < 1``, a ranking is empty, or the held-out images hold no c.

    Example:
        >>> from ganlens.ace.planted import PlantedCausalGenerator, PlantedConceptSegmenter
        >>> from ganlens.ace.search import search_cells
        >>> g, segmenter = PlantedCausalGenerator(grid=4, scale=2), PlantedConceptSegmenter()
        >>> z = torch.randn(16, g.latent_size, generator=torch.Generator().manual_seed(0))
        >>> held_out = search_cells(g, "layer1", segmenter, "tree", z)
        >>> curves = causal_curves(g, segmenter, held_out, {"planted": [3, 4, 5, 0]}, top_n=4)
        >>> curves.ablation["planted"][2:], curves.insertion["planted"][2:]
        ([1.0, 1.0], [1.0, 1.0])
    """
    if top_n < 1 or any(len(units) == 0 for units in rankings.values()):
        raise ValueError(f"top_n must be >= 1 and rankings non-empty; got top_n={top_n}")
    before = float(held_out.coverage.sum())
    if before <= 0:
        raise ValueError(f"the held-out images contain no {held_out.concept!r}; nothing to remove")
    count = min(top_n, *(len(units) for units in rankings.values()))
    value = (held_out.k if k is None else k).detach().cpu()
    rank, world = rank_and_world(distributed)  # contiguous shares; one may be empty

    def share(total: int) -> range:
        return range(rank * total // world, (rank + 1) * total // world)

    images, cells = share(held_out.latents.shape[0]), share(held_out.candidates.shape[0])
    counts: dict[frozenset[int], tuple[float, float]] = {}  # pixels (after ablation, inserted)
    runs: Iterable[tuple[str, int]] = [(name, n) for name in rankings for n in range(1, count + 1)]
    if progress:
        runs = tqdm(runs, desc="ace curves", leave=False)
    with torch.no_grad():
        for name, n in runs:
            units = [int(u) for u in rankings[name][:n]]
            if frozenset(units) not in counts:
                counts[frozenset(units)] = (
                    _ablation_pixels(generator, segmenter, held_out, units, batch_size,
                                     resolution, images),
                    _insertion_pixels(generator, segmenter, held_out, units, value, radius,
                                      batch_size, resolution, cells),
                )  # fmt: skip
    if distributed:  # one sum of every run's counts
        summed = summed_over_processes(torch.tensor(list(counts.values()), dtype=torch.float64))
        counts = dict(zip(counts, map(tuple, summed.tolist()), strict=True))
    inserted_at = max(held_out.candidates.shape[0], 1)
    ablation: dict[str, list[float]] = {name: [] for name in rankings}
    insertion: dict[str, list[float]] = {name: [] for name in rankings}
    for name in rankings:
        for n in range(1, count + 1):
            after, added = counts[frozenset(int(u) for u in rankings[name][:n])]
            ablation[name].append(1.0 - after / before)
            insertion[name].append(added / inserted_at)
    return CausalCurves(list(range(1, count + 1)), ablation, insertion)
