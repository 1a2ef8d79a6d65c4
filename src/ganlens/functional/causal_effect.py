"""Average causal effect (ACE) of units on a concept, as pure functions on tensors.

GAN Dissection (Bau et al., ICLR 2019, arXiv:1811.10597, section 3.2) intervenes on units U of a
layer at pixels P: ablation ``r' = (1 - alpha * P) * r`` and insertion
``r' = (1 - alpha * P) * r + alpha * P * k`` (section 3.2), and measures

    delta(U -> c) = E_z[mean_P s_c(x_inserted)] - E_z[mean_P s_c(x_ablated)]        (eq. 3)

where ``s_c`` is the segmenter's class map pooled to the layer's feature grid:

* **hard**: the fraction of a feature cell's pixels whose argmax label (in any label layer) is c;
* **soft**: the mean of the segmenter's class probability of c over the cell's pixels.

Pooling is an average over the pixels each cell covers (``adaptive_avg_pool2d``; exact blocks
when the segmentation side is a multiple of the grid side). ``mean_P`` is the mean over the cells
of P weighted by the (hard or soft) mask, per image; images whose mask is empty do not count. The
insertion constant is ``k_u = sum r_u * cov_c / sum cov_c``, the mean activation of unit u
weighted by the hard coverage ``cov_c`` of c in each feature cell.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = [
    "CAUSAL_VARIANTS",
    "average_causal_effect",
    "cell_windows",
    "concept_presence",
    "insertion_constant",
    "pool_to_grid",
]

CAUSAL_VARIANTS = ("hard", "soft")
"""The two presence measures, in the order of the leading axis of presence tensors."""


def pool_to_grid(maps: Tensor, grid: tuple[int, int]) -> Tensor:
    """Average ``[N, S, S']`` pixel maps over the pixels of each feature cell.

    Args:
        maps: ``[N, S, S']`` float maps (indicators or probabilities).
        grid: The feature grid ``(h, w)``.

    Returns:
        ``[N, h, w]`` cell means (differentiable).

    Example:
        >>> pool_to_grid(torch.tensor([[[1.0, 1, 0, 0], [1, 0, 0, 0]]]), (1, 2))
        tensor([[[0.7500, 0.0000]]])
    """
    if maps.ndim != 3:
        raise ValueError(f"maps must have shape [N, S, S']; got {list(maps.shape)}")
    return F.adaptive_avg_pool2d(maps.float().unsqueeze(1), grid)[:, 0]


def _concept_label(segmenter: Any, concept: str | int) -> int:
    vocabulary = segmenter.vocabulary
    if isinstance(concept, str):
        if concept not in vocabulary:
            known = ", ".join(c.name for c in vocabulary)
            raise ValueError(f"concept {concept!r} is not in the segmenter's vocabulary: {known}")
        return int(vocabulary.index(concept))
    if not 0 < concept < len(vocabulary):
        raise ValueError(f"concept index {concept} outside 1..{len(vocabulary) - 1}")
    return int(concept)


def concept_presence(
    segmenter: Any,
    images: Tensor,
    concept: str | int,
    grid: tuple[int, int],
    *,
    variants: Sequence[str] = CAUSAL_VARIANTS,
    resolution: int | None = None,
) -> Tensor:
    """Presence ``s_c`` of a concept in each feature cell: hard and/or soft.

    Args:
        segmenter: A :class:`~ganlens.segment.Segmenter` (``segment`` for hard,
            ``class_probability`` for soft).
        images: ``[N, 3, H, W]`` images in [-1, 1] (clamp generator outputs first).
        concept: Concept name or label value.
        grid: Feature grid ``(h, w)`` to pool to.
        variants: Any of ``"hard"`` and ``"soft"``, in the order wanted.
        resolution: Segmentation side ``S`` (default the image size).

    Returns:
        ``[V, N, h, w]`` presence in [0, 1], one slice per variant; the soft slice is
        differentiable with respect to ``images``.

    Raises:
        ValueError: On an unknown variant or concept.

    Example:
        >>> from ganlens.ace.planted import PlantedConceptSegmenter
        >>> images = -torch.ones(1, 3, 4, 4)
        >>> images[:, 0, :2, :2] = 1.0  # the toy segmenter reads channel 0
        >>> concept_presence(PlantedConceptSegmenter(), images, "tree", (2, 2))[:, 0]
        tensor([[[1., 0.],
                 [0., 0.]],
        <BLANKLINE>
                [[1., 0.],
                 [0., 0.]]])
    """
    unknown = [v for v in variants if v not in CAUSAL_VARIANTS]
    if unknown or not variants:
        raise ValueError(
            f"variants must be a non-empty subset of {CAUSAL_VARIANTS}; got {variants}"
        )
    label = _concept_label(segmenter, concept)
    slices = []
    for variant in variants:
        if variant == "hard":
            labels = segmenter.segment(images, resolution)  # [N, K, S, S]
            maps = (labels == label).any(dim=1).float()  # [N, S, S]
        else:
            maps = segmenter.class_probability(images, label, resolution)  # [N, S, S]
        slices.append(pool_to_grid(maps, grid).to(images.device))
    return torch.stack(slices)  # [V, N, h, w]


def cell_windows(cells: Tensor, grid: tuple[int, int], radius: int = 0) -> Tensor:
    """Boolean masks of square windows centred on given feature cells.

    Args:
        cells: ``int64 [M, 2]`` (row, column) of each window's centre.
        grid: Feature grid ``(h, w)``.
        radius: Half side: 0 is the cell alone, 1 a 3x3 window (clipped at the border).

    Returns:
        ``bool [M, h, w]`` masks.

    Raises:
        ValueError: On a wrong shape, a negative radius or a cell outside the grid.

    Example:
        >>> cell_windows(torch.tensor([[0, 1]]), (2, 3), radius=1).int()
        tensor([[[1, 1, 1],
                 [1, 1, 1]]], dtype=torch.int32)
    """
    if cells.ndim != 2 or cells.shape[1] != 2:
        raise ValueError(f"cells must have shape [M, 2]; got {list(cells.shape)}")
    if radius < 0:
        raise ValueError(f"radius must be >= 0; got {radius}")
    height, width = grid
    if cells.numel() and (
        int(cells.min()) < 0 or int(cells[:, 0].max()) >= height or int(cells[:, 1].max()) >= width
    ):
        raise ValueError(f"cells must lie inside the {height}x{width} grid; got {cells.tolist()}")
    rows = torch.arange(height, device=cells.device).view(1, -1, 1)
    cols = torch.arange(width, device=cells.device).view(1, 1, -1)
    near_row = (rows - cells[:, 0].view(-1, 1, 1)).abs() <= radius  # [M, h, 1]
    near_col = (cols - cells[:, 1].view(-1, 1, 1)).abs() <= radius  # [M, 1, w]
    return near_row & near_col


def _causal_effect_update(
    inserted: Tensor, ablated: Tensor, mask: Tensor | None = None
) -> tuple[Tensor, Tensor, Tensor]:
    """Per-image masked means of inserted and ablated presence, summed over the batch.

    Args:
        inserted: ``[V, N, h, w]`` presence after insertion.
        ablated: ``[V, N, h, w]`` presence after ablation.
        mask: ``[N, h, w]`` or ``[h, w]`` weights of P (bool or float in [0, 1]); None = all.

    Returns:
        ``(inserted_sum [V], ablated_sum [V], count [])`` in float64; images with an empty mask
        are left out of the sums and the count.
    """
    if inserted.ndim != 4 or inserted.shape != ablated.shape:
        raise ValueError(
            f"inserted and ablated must both be [V, N, h, w]; got {list(inserted.shape)} and "
            f"{list(ablated.shape)}"
        )
    weights = torch.ones(inserted.shape[1:], dtype=torch.float64, device=inserted.device)
    if mask is not None:
        if tuple(mask.shape[-2:]) != tuple(inserted.shape[-2:]) or mask.ndim not in (2, 3):
            raise ValueError(
                f"mask must be [N, h, w] or [h, w] with (h, w) = {tuple(inserted.shape[-2:])}; "
                f"got {list(mask.shape)}"
            )
        weights = weights * mask.to(weights.device, torch.float64)  # [N, h, w]
    total = weights.sum(dim=(1, 2))  # [N]
    counted = total > 0
    denominator = total.clamp(min=1e-12)

    def masked_mean(presence: Tensor) -> Tensor:
        means = (presence.double() * weights).sum(dim=(2, 3)) / denominator  # [V, N]
        return (means * counted).sum(dim=1)  # [V]

    return masked_mean(inserted), masked_mean(ablated), counted.sum().double()


def _causal_effect_compute(
    inserted_sum: Tensor, ablated_sum: Tensor, count: Tensor
) -> dict[str, Tensor]:
    """ACE and its two expectations from summed states (NaN when nothing was counted)."""
    inserted = (inserted_sum / count).float()
    ablated = (ablated_sum / count).float()
    return {"ace": inserted - ablated, "inserted": inserted, "ablated": ablated}


def average_causal_effect(
    inserted: Tensor, ablated: Tensor, mask: Tensor | None = None
) -> dict[str, Tensor]:
    """ACE from presence maps after insertion and after ablation (eq. 3 of the paper).

    Args:
        inserted: ``[V, N, h, w]`` presence ``s_c`` after insertion (V variants, e.g. hard and
            soft from :func:`concept_presence`).
        ablated: ``[V, N, h, w]`` presence after ablation.
        mask: The cells P: ``[N, h, w]`` or ``[h, w]`` weights; None means the whole map.

    Returns:
        ``{"ace": [V], "inserted": [V], "ablated": [V]}``: ``E_z[mean_P s_c]`` after insertion and
        after ablation, and their difference; images with an empty mask are skipped.

    Raises:
        ValueError: On mismatched shapes.

    Example:
        >>> inserted = torch.tensor([[[[1.0, 1.0]], [[0.5, 1.0]]]])  # [V=1, N=2, 1, 2]
        >>> ablated = torch.zeros(1, 2, 1, 2)
        >>> average_causal_effect(inserted, ablated)["ace"]
        tensor([0.8750])
        >>> average_causal_effect(inserted, ablated, torch.tensor([[1.0, 0.0]]))["ace"]
        tensor([0.7500])
    """
    return _causal_effect_compute(*_causal_effect_update(inserted, ablated, mask))


def _insertion_constant_update(features: Tensor, coverage: Tensor) -> tuple[Tensor, Tensor]:
    """``(sum_n,cells r_u * cov [U], sum cov [])`` in float64 for one batch."""
    if features.ndim != 4 or coverage.shape != (features.shape[0], *features.shape[2:]):
        raise ValueError(
            f"features must be [N, U, h, w] and coverage [N, h, w]; got {list(features.shape)} "
            f"and {list(coverage.shape)}"
        )
    weights = coverage.double().unsqueeze(1)  # [N, 1, h, w]
    return (features.double() * weights).sum(dim=(0, 2, 3)), weights.sum()


def insertion_constant(features: Tensor, coverage: Tensor) -> Tensor:
    """Per-unit insertion constant ``k_u``: the coverage-weighted mean activation.

    Args:
        features: ``[N, U, h, w]`` featuremaps of the unedited images.
        coverage: ``[N, h, w]`` fraction of each feature cell covered by the concept.

    Returns:
        float32 ``[U]``: ``sum r_u * cov / sum cov`` (zeros where the concept never appears).

    Example:
        >>> features = torch.tensor([[[[2.0, 4.0]], [[1.0, 1.0]]]])  # [N=1, U=2, 1, 2]
        >>> insertion_constant(features, torch.tensor([[[1.0, 0.5]]]))
        tensor([2.6667, 1.0000])
    """
    sums, weight = _insertion_constant_update(features, coverage)
    return (sums / weight.clamp(min=1e-12)).float()
