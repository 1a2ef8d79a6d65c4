"""Unit-concept intersection and union counts and IoU at one or several thresholds per unit.

GAN Dissection (Bau et al., ICLR 2019, arXiv:1811.10597, section 3.1, eq. 1):
IoU(u, c) = |A_u AND S_c| / |A_u OR S_c| with A_u = [r_u^up > t_u], summed over all probe pixels
(``unrestricted``, the paper's eq. 1). In ``category`` mode (NetDissect/Broden), |A_u| is
counted only in images that contain some concept of c's category, so a part detector is not
penalised in images without parts:
|A_u OR S_c| = |A_u|_{images with category(c)} + |S_c| - |A_u AND S_c|.

**Counting at B thresholds in one pass.** With a unit's B thresholds sorted, each pixel's level
``k`` (the number of thresholds its activation exceeds, 0..B) is found by a binary search, and a
histogram ``H[u, k, c]`` of (level, label) pairs is accumulated with ``bincount``;
|A_ub AND S_c| is then a suffix sum of ``H`` over levels. The cost is one increment per (unit,
labelled pixel, layer), the same for any B > 1 and independent of C. With one threshold only
the blocks of output pixels whose 4 input neighbours can exceed it are upsampled, with the
formula of :mod:`ganlens.functional.bilinear` (equal to ``F.interpolate`` to about one float32
rounding, so a pixel within that of the threshold may count differently), and only the pixels
above it are visited (:mod:`ganlens.functional.unit_concept_kernels`). Units and images are
processed in chunks of at most ``_CHUNK_ELEMENTS`` upsampled values (a quarter of that at one
threshold), so no full-resolution copy of all units of a batch is made. The histograms add
across batches and processes. Labels equal to 0 are not counted; a label repeated in several
layers of one pixel is counted once.

(Over 300 lines: the update, the level counts and the compute of one metric stay together, as
the torchmetrics functional convention has them.)
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor

from ganlens.functional.bilinear import sample_positions
from ganlens.functional.dissection import (
    check_featuremaps,
    check_segmentation,
    upsample_featuremaps,
    upsampled_at,
)
from ganlens.functional.unit_concept_kernels import _count_above, _count_levels, _dedupe_labels

__all__ = [
    "IOU_MODES",
    "UnitConceptCounts",
    "UnitConceptHistograms",
    "sort_thresholds",
    "unit_concept_counts",
    "unit_concept_iou",
]

IOU_MODES = ("unrestricted", "category")
_CHUNK_ELEMENTS = 1 << 24  # unit-pixels processed at once (bounds temporary memory)


class UnitConceptHistograms(NamedTuple):
    """Sum-mergeable level histograms (one batch's increments, or a metric's state).

    Attributes:
        level_concept: int64 ``[U, B + 1, C]``, labelled pixels per (unit, level, label).
        level: int64 ``[U, B + 1]``, pixels per (unit, level).
        level_category: int64 ``[U, B + 1, G]``, pixels per (unit, level) in images that contain
            some concept of category ``g``.
        concept: int64 ``[C]``, pixels carrying each label (|S_c|).
        pixels: int64 ``[]``, pixels seen per unit.

    Example:
        >>> sorted_t, _ = sort_thresholds(torch.tensor([0.5]))
        >>> h = _unit_concept_iou_update(torch.ones(1, 1, 2, 2), torch.ones(1, 1, 2, 2).long(),
        ...                              sorted_t, num_concepts=2)
        >>> h.level_concept.shape, h.level.tolist(), int(h.pixels)
        (torch.Size([1, 2, 2]), [[0, 4]], 4)
    """

    level_concept: Tensor
    level: Tensor
    level_category: Tensor
    concept: Tensor
    pixels: Tensor


class UnitConceptCounts(NamedTuple):
    """Counts at each of the B thresholds, in the caller's level order.

    Attributes:
        intersection: int64 ``[U, B, C]``, |A_ub AND S_c|.
        activation: int64 ``[U, B]``, |A_ub|.
        activation_in_category: int64 ``[U, B, G]``, |A_ub| over images containing category g.
        concept: int64 ``[C]``, |S_c|.
        pixels: int64 ``[]``, pixels per unit.

    Example:
        >>> counts = UnitConceptCounts(torch.tensor([[[0, 2]]]), torch.tensor([[3]]),
        ...                            torch.zeros(1, 1, 0), torch.tensor([0, 4]), torch.tensor(9))
        >>> int(counts.activation[0, 0] + counts.concept[1] - counts.intersection[0, 0, 1])  # union
        5
    """

    intersection: Tensor
    activation: Tensor
    activation_in_category: Tensor
    concept: Tensor
    pixels: Tensor


def sort_thresholds(thresholds: Tensor, num_units: int | None = None) -> tuple[Tensor, Tensor]:
    """Sort each unit's thresholds ascending, keeping the permutation.

    Args:
        thresholds: ``[U]`` (one per unit) or ``[U, B]`` (B levels per unit).
        num_units: Expected ``U``, or None.

    Returns:
        ``(sorted, order)``, both ``[U, B]``: ``sorted[u, j] = thresholds[u, order[u, j]]``.

    Raises:
        ValueError: If the shape is not ``[U]`` or ``[U, B]``.

    Example:
        >>> sort_thresholds(torch.tensor([[0.5, 0.1, 0.3]]))
        (tensor([[0.1000, 0.3000, 0.5000]]), tensor([[1, 2, 0]]))
    """
    units = "U" if num_units is None else str(num_units)
    if thresholds.ndim not in (1, 2) or (num_units is not None and len(thresholds) != num_units):
        raise ValueError(
            f"thresholds must have shape [{units}] or [{units}, B]; got {list(thresholds.shape)}"
        )
    table = thresholds.float().reshape(thresholds.shape[0], -1)  # [U, B]
    ordered, order = table.sort(dim=1, stable=True)
    return ordered, order


def _unit_concept_iou_update(
    features: Tensor,
    segmentation: Tensor,
    sorted_thresholds: Tensor,
    num_concepts: int,
    concept_categories: Tensor | None = None,
    pixels_per_image: int | None = None,
    image_ids: Tensor | None = None,
    seed: int = 0,
) -> UnitConceptHistograms:
    """Level histograms of one batch.

    Args:
        features: ``[N, U, h, w]`` featuremaps, upsampled here to the segmentation's ``S x S``.
        segmentation: integer ``[N, K, S, S]`` label layers in ``[0, C)``.
        sorted_thresholds: ``[U, B]`` thresholds, ascending per unit (:func:`sort_thresholds`).
        num_concepts: ``C``.
        concept_categories: int64 ``[C]`` category number per label (-1: none), or None (G = 0).
        pixels_per_image: Count only this many stratified random pixels per image
            (:func:`~ganlens.functional.bilinear.sample_positions`, the same positions for all
            units and label layers; activations evaluated there only) instead of all ``S * S``
            (None). Every count, |S_c| and the pixel total included, is then over the sample,
            so ratios of counts (IoU, the IQR's probabilities) estimate those of all pixels.
        image_ids: int64 ``[N]`` ids of the images (their indices in the whole sample set),
            needed with ``pixels_per_image``: an image's positions depend only on ``seed`` and its
            id, so the counts do not depend on batching or on how images are split over processes.
        seed: Seed of the sampled positions.

    Returns:
        The batch's :class:`UnitConceptHistograms`, on the features' device.

    Raises:
        ValueError: On inconsistent shapes, labels outside ``[0, C)``, or sampling without
            ``image_ids``.
    """
    num_units, num_levels = sorted_thresholds.shape
    check_featuremaps(features, num_units)
    check_segmentation(segmentation, num_concepts, features.shape[0])
    device, levels, size = features.device, num_levels + 1, segmentation.shape[-2:]
    all_pixels = int(size[0] * size[1])
    if pixels_per_image is not None and pixels_per_image >= all_pixels:
        pixels_per_image = None  # a sample as large as the image is the image
    if pixels_per_image is not None:
        if image_ids is None or tuple(image_ids.shape) != (features.shape[0],):
            raise ValueError("pixels_per_image needs image_ids of shape [N]")
        positions = sample_positions(image_ids.cpu(), all_pixels, pixels_per_image, seed)
        positions = positions.to(device)  # [N, m]
    counted = all_pixels if pixels_per_image is None else pixels_per_image
    categories = (
        torch.empty(0, dtype=torch.long) if concept_categories is None else concept_categories
    )
    categories = categories.to(device)
    num_categories = int(categories.max()) + 1 if categories.numel() else 0
    thresholds = sorted_thresholds.to(device=device, dtype=torch.float32)
    out = UnitConceptHistograms(
        torch.zeros(num_units, levels, num_concepts, dtype=torch.long, device=device),
        torch.zeros(num_units, levels, dtype=torch.long, device=device),
        torch.zeros(num_units, levels, num_categories, dtype=torch.long, device=device),
        torch.zeros(num_concepts, dtype=torch.long, device=device),
        torch.tensor(segmentation.shape[0] * counted, dtype=torch.long, device=device),
    )
    # Bound the temporary memory: chunks of units and images of at most _CHUNK_ELEMENTS
    # unit-pixels, so no full-resolution copy of all units of a batch is made.
    # One threshold: about 50 bytes per upsampled pixel of a candidate block (all of them in
    # the worst case, a threshold below every value), so a quarter of the elements.
    limit = (
        _CHUNK_ELEMENTS // 4 if num_levels == 1 and pixels_per_image is None else _CHUNK_ELEMENTS
    )
    unit_chunk = max(1, min(num_units, limit // counted))
    chunk = max(1, limit // (unit_chunk * counted))
    for first in range(0, features.shape[0], chunk):
        part, labels = features[first : first + chunk], segmentation[first : first + chunk]
        n = part.shape[0]
        labels = _dedupe_labels(labels.long().view(n, labels.shape[1], -1).to(device))  # [n,K,P]
        if pixels_per_image is not None:
            where = positions[first : first + chunk]  # [n, m]
            labels = labels.gather(2, where.unsqueeze(1).expand(-1, labels.shape[1], -1))
        labelled = labels != 0  # [n, K, P]
        image_index = torch.arange(n, device=device).view(-1, 1, 1).expand_as(labels)
        per_image_concept = torch.bincount(
            (image_index * num_concepts + labels)[labelled], minlength=n * num_concepts
        ).view(n, num_concepts)  # [n, C]
        out.concept.add_(per_image_concept.sum(dim=0))
        present = [
            (per_image_concept[:, categories == g] > 0).any(dim=1) for g in range(num_categories)
        ]  # G x [n]: images holding some concept of category g
        for start in range(0, num_units, unit_chunk):
            units = slice(start, start + unit_chunk)
            maps = part[:, units].float()  # [n, u, h, w]
            if pixels_per_image is not None:  # the sample's values, unit-major: [u, n, m]
                sampled = upsampled_at(maps, where, (size[0], size[1]))
                per_image, level_concept = _count_levels(
                    sampled.transpose(0, 1).contiguous(), thresholds[units], labels, num_concepts
                )
            elif num_levels == 1:
                per_image, level_concept = _count_above(
                    maps, thresholds[units], labels, per_image_concept, (size[0], size[1])
                )
            else:
                up = upsample_featuremaps(maps.transpose(0, 1), size)  # [u, n, S, S]
                up = up.reshape(up.shape[0], n, -1).contiguous()  # [u, n, P]
                per_image, level_concept = _count_levels(
                    up, thresholds[units], labels, num_concepts
                )
            out.level[units] += per_image.sum(dim=0)
            out.level_concept[units] += level_concept
            for g in range(num_categories):
                out.level_category[units, :, g] += per_image[present[g]].sum(dim=0)
    return out


def unit_concept_counts(histograms: UnitConceptHistograms, order: Tensor) -> UnitConceptCounts:
    """Turn level histograms into counts at each threshold, in the caller's level order.

    Args:
        histograms: Accumulated :class:`UnitConceptHistograms` (``[U, B + 1, ...]``).
        order: ``[U, B]`` permutation returned by :func:`sort_thresholds`.

    Returns:
        :class:`UnitConceptCounts` with ``[U, B, ...]`` tables.

    Example:
        >>> sorted_t, order = sort_thresholds(torch.tensor([0.5]))
        >>> seg = torch.tensor([[[[1, 0], [1, 1]]]])  # [1, 1, 2, 2]
        >>> r = torch.tensor([[[[0.9, 0.8], [0.1, 0.7]]]])  # [1, 1, 2, 2]
        >>> counts = unit_concept_counts(_unit_concept_iou_update(r, seg, sorted_t, 2), order)
        >>> counts.intersection.tolist(), counts.activation.tolist(), counts.concept.tolist()
        ([[[0, 2]]], [[3]], [0, 3])
    """
    inverse = order.argsort(dim=1).to(histograms.level.device)  # [U, B]: sorted slot per level

    def at_levels(table: Tensor) -> Tensor:  # [U, B + 1, ...] -> [U, B, ...]
        exceeding = table.flip(1).cumsum(1).flip(1)[:, 1:]  # level >= j + 1 <=> r > t_(j)
        index = inverse.view(*inverse.shape, *([1] * (table.ndim - 2))).expand_as(exceeding)
        return exceeding.gather(1, index)

    return UnitConceptCounts(
        at_levels(histograms.level_concept),
        at_levels(histograms.level),
        at_levels(histograms.level_category),
        histograms.concept,
        histograms.pixels,
    )


def _unit_concept_iou_compute(
    counts: UnitConceptCounts, concept_categories: Tensor | None = None, mode: str = "unrestricted"
) -> Tensor:
    """IoU of every (unit, level, concept) from counts.

    Args:
        counts: :class:`UnitConceptCounts`.
        concept_categories: int64 ``[C]`` category per label (-1: none); needed in category mode.
        mode: ``"unrestricted"`` or ``"category"``.

    Returns:
        float32 ``[U, B, C]`` IoU; 0 where the union is empty, for label 0, and (category mode)
        for labels without a category.
    """
    intersection = counts.intersection.double()  # [U, B, C]
    if mode == "unrestricted":
        activation = counts.activation.double().unsqueeze(-1)  # [U, B, 1]
        valid = torch.ones_like(counts.concept, dtype=torch.bool)
    else:
        if concept_categories is None:
            raise ValueError("iou mode 'category' needs concept_categories")
        categories = concept_categories.to(intersection.device)
        activation = counts.activation_in_category.double()[:, :, categories.clamp(min=0)]
        valid = categories >= 0  # [C]
    union = activation + counts.concept.double() - intersection  # [U, B, C]
    iou = torch.where(union > 0, intersection / union.clamp(min=1), 0.0)
    valid = valid.clone()
    valid[0] = False
    return (iou * valid).float()


def unit_concept_iou(
    features: Tensor,
    segmentation: Tensor,
    thresholds: Tensor,
    num_concepts: int,
    concept_categories: Tensor | None = None,
    mode: str = "unrestricted",
) -> Tensor:
    """IoU of every unit with every concept (one batch; :class:`UnitConceptIoU` streams).

    Args:
        features: ``[N, U, h, w]`` featuremaps (upsampled bilinearly, centres aligned, to ``S``).
        segmentation: integer ``[N, K, S, S]`` label layers in ``[0, C)``, 0 = no label.
        thresholds: ``[U]``, or ``[U, B]`` for B levels per unit.
        num_concepts: ``C``, label values including 0.
        concept_categories: int64 ``[C]`` category per label (-1 for none); category mode only.
        mode: ``"unrestricted"`` (default) or ``"category"``.

    Returns:
        float32 ``[U, C]`` for ``[U]`` thresholds, ``[U, B, C]`` for ``[U, B]``; column 0 is 0.

    Raises:
        ValueError: On inconsistent shapes, labels outside ``[0, C)`` or an unknown mode.

    Example:
        >>> r = torch.tensor([[[[0.0, 1.0], [0.0, 1.0]]]])  # [1, 1, 2, 2]: right column active
        >>> seg = torch.tensor([[[[1, 2], [1, 1]]]])  # [1, 1, 2, 2]: label 2 top right
        >>> unit_concept_iou(r, seg, torch.tensor([0.5]), num_concepts=3)
        tensor([[0.0000, 0.2500, 0.5000]])
    """
    if mode not in IOU_MODES:
        raise ValueError(f"mode must be one of {IOU_MODES}; got {mode!r}")
    sorted_t, order = sort_thresholds(thresholds, features.shape[1] if features.ndim else None)
    histograms = _unit_concept_iou_update(
        features, segmentation, sorted_t, num_concepts, concept_categories
    )
    iou = _unit_concept_iou_compute(
        unit_concept_counts(histograms, order), concept_categories, mode
    )
    return iou[:, 0] if thresholds.ndim == 1 else iou
