"""Unit-concept IoU as a streaming torchmetrics ``Metric`` (dissection pass 2).

GAN Dissection (Bau et al., ICLR 2019, arXiv:1811.10597, section 3.1, eq. 1):
IoU(u, c) = |A_u AND S_c| / |A_u OR S_c| with A_u = [r_u^up > t_u], the IQR threshold search and
the layer summary (section 3.1). The metric holds sum-mergeable level histograms;
the math lives in :mod:`ganlens.functional.unit_concept_iou`,
:mod:`ganlens.functional.information_quality` and :mod:`ganlens.functional.unit_labels`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor
from torchmetrics import Metric

from ganlens.data.vocabulary import Vocabulary
from ganlens.functional.dissection import concept_category_index
from ganlens.functional.information_quality import MIN_AGREEMENT, MIN_COVERAGE
from ganlens.functional.unit_concept_iou import (
    IOU_MODES,
    UnitConceptCounts,
    UnitConceptHistograms,
    _unit_concept_iou_update,
    sort_thresholds,
    unit_concept_counts,
)
from ganlens.functional.unit_labels import UnitConceptIoUResult, _unit_concept_iou_result

__all__ = ["UnitConceptIoU"]

_STATES = ("level_concept", "level", "level_category", "concept", "pixels")


class UnitConceptIoU(Metric):
    """IoU of every unit with every concept at given thresholds, streamed over any N.

    ``update(features, segmentation)`` upsamples ``[N, U, h, w]`` featuremaps to the
    segmentation's ``S x S`` (bilinear, ``align_corners=False``) and counts, per unit, level and
    label, the pixels above each threshold. ``compute()`` returns a
    :class:`~ganlens.functional.unit_labels.UnitConceptIoUResult`: each unit's threshold,
    best concept, IoU and IQR, the ``[U, C]`` IoU table and the layer summary.

    Thresholds are fixed at construction: ``[U]`` (one per unit, e.g. top-q quantiles from
    :class:`~ganlens.metrics.UnitQuantile`) or ``[U, B]`` (B candidate levels per unit, e.g. at
    the IQR search's top fractions). With ``[U, B]``, ``compute()`` runs the IQR search on the
    metric's own data, unless :meth:`select_levels` gave the levels (chosen on a held-out set).

    State (all int64, reduced by ``"sum"``, so ``merge_state`` and DDP sync are exact; every rank
    must use the same thresholds): ``level_concept [U, B+1, C]``, ``level [U, B+1]``,
    ``level_category [U, B+1, G]``, ``concept [C]``, ``pixels []``. Size in bytes, independent of
    N::

        8 * (U * (B + 1) * (C + G + 1) + C + 1)

    e.g. 512 units, 150 concepts, 3 categories: 1.26 MB at one threshold, 63.7 MB at B = 100
    levels (the IQR search). ``dist_sync_fn=all_reduce_sum`` (from
    :mod:`ganlens.metrics.distributed`) keeps a DDP sync at one copy of the state.

    Args:
        vocabulary: Concepts the segmentation labels index (``C = len(vocabulary)``).
        thresholds: ``[U]`` or ``[U, B]`` thresholds.
        iou_mode: ``"unrestricted"`` (all probe pixels, default) or ``"category"`` (|A_u| only in
            images containing some concept of c's category).
        top_fractions: ``[B]`` top fraction of each level, for the search's 100 % level guard
            (default ``logspace(-3, 0, B)``, the levels of the IQR policy).
        min_iou: Interpretable units have IoU above this (default 0.05) ...
        min_iqr: ... and, unless None (default), IQR above this (0.01 in the ``iqr`` policy).
        min_coverage: Search guard: skip concepts covering less than this (default 0.1 %).
        min_agreement: Search guard: skip candidates with p11 + p00 <= this (default 0.8).
        pixels_per_image: Count only this many stratified random upsampled pixels per image,
            the same positions for every unit (None, the default: all ``S * S``); all counts are
            then over the sample, so IoU and IQR are estimates (ratios of sampled counts). Meant
            for the IQR search on a large held-out set (:func:`~ganlens.dissect.dissect`), where
            only each unit's best level is kept and the reported IoU is counted exactly.
        seed: Seed of the sampled positions; an image's positions depend only on the seed and
            its id (see :meth:`update`), so sampled counts are the same however the images are
            batched or split over processes, and sum exactly in a DDP sync.
        kwargs: Passed to :class:`torchmetrics.Metric`.

    Raises:
        ValueError: On a bad thresholds shape, mode or top fractions.

    Example:
        >>> from ganlens.data import SCENE_VOCABULARY, SceneWorld
        >>> _, labels = SceneWorld(resolution=32).batch(range(4))  # [4, 3, 32, 32]
        >>> sky = (labels[:, :1] == SCENE_VOCABULARY.index("sky")).float()  # [4, 1, 32, 32]
        >>> features = torch.cat([sky, torch.rand(4, 1, 32, 32)], dim=1)  # [N, U=2, 32, 32]
        >>> metric = UnitConceptIoU(SCENE_VOCABULARY, thresholds=torch.tensor([0.5, 0.99]))
        >>> metric.update(features, labels)
        >>> result = metric.compute()
        >>> SCENE_VOCABULARY.name(int(result.concept[0])), result.iou[0].item()
        ('sky', 1.0)
        >>> result.interpretable.tolist(), result.summary.units_per_concept
        ([True, False], {'sky': 1})
    """

    is_differentiable = False
    higher_is_better = True
    full_state_update = False
    level_concept: Tensor
    level: Tensor
    level_category: Tensor
    concept: Tensor
    pixels: Tensor
    sorted_thresholds: Tensor
    threshold_order: Tensor
    concept_categories: Tensor

    def __init__(
        self,
        vocabulary: Vocabulary,
        thresholds: Tensor,
        iou_mode: str = "unrestricted",
        top_fractions: Sequence[float] | Tensor | None = None,
        min_iou: float = 0.05,
        min_iqr: float | None = None,
        min_coverage: float = MIN_COVERAGE,
        min_agreement: float = MIN_AGREEMENT,
        pixels_per_image: int | None = None,
        seed: int = 0,
        **kwargs: Any,
    ) -> None:
        """Declare the count states; the arguments are documented above."""
        super().__init__(**kwargs)
        if pixels_per_image is not None and pixels_per_image < 1:
            raise ValueError(
                f"pixels_per_image must be a positive int or None; got {pixels_per_image}"
            )
        self.pixels_per_image, self.seed, self.images_seen = pixels_per_image, seed, 0
        if iou_mode not in IOU_MODES:
            raise ValueError(f"iou_mode must be one of {IOU_MODES}; got {iou_mode!r}")
        ordered, order = sort_thresholds(torch.as_tensor(thresholds))
        num_units, num_levels = ordered.shape
        fractions = None
        if top_fractions is not None:
            fractions = torch.as_tensor(top_fractions, dtype=torch.float64).reshape(-1)
            if fractions.shape != (num_levels,):
                raise ValueError(
                    f"top_fractions must have shape [B={num_levels}]; got {list(fractions.shape)}"
                )
        self.vocabulary = vocabulary
        self.iou_mode = iou_mode
        self.top_fractions = fractions
        self.min_iou, self.min_iqr = min_iou, min_iqr
        self.min_coverage, self.min_agreement = min_coverage, min_agreement
        self.num_units, self.num_levels = num_units, num_levels
        self.scalar_thresholds = torch.as_tensor(thresholds).ndim == 1
        self.selected_levels: Tensor | None = None
        categories, names = concept_category_index(vocabulary)
        self.category_names = names
        self.register_buffer("sorted_thresholds", ordered)
        self.register_buffer("threshold_order", order)
        self.register_buffer("concept_categories", categories)
        c, g, b = len(vocabulary), len(names), num_levels + 1
        self.add_state("level_concept", torch.zeros(num_units, b, c, dtype=torch.long), "sum")
        self.add_state("level", torch.zeros(num_units, b, dtype=torch.long), "sum")
        self.add_state("level_category", torch.zeros(num_units, b, g, dtype=torch.long), "sum")
        self.add_state("concept", torch.zeros(c, dtype=torch.long), "sum")
        self.add_state("pixels", torch.zeros((), dtype=torch.long), "sum")

    @property
    def thresholds(self) -> Tensor:
        """The thresholds in the caller's level order, float32 ``[U, B]``."""
        inverse = self.threshold_order.argsort(dim=1)
        return self.sorted_thresholds.gather(1, inverse)

    def update(
        self, features: Tensor, segmentation: Tensor, image_ids: Tensor | None = None
    ) -> None:
        """Count a batch.

        Args:
            features: ``[N, U, h, w]`` featuremaps.
            segmentation: integer ``[N, K, S, S]`` label layers indexing the vocabulary.
            image_ids: int64 ``[N]`` ids of the images (their indices in the whole sample set),
                used only when sampling pixels; default: the number of images this metric has
                seen so far, counted on.

        Raises:
            ValueError: On a wrong shape or a label outside the vocabulary.
        """
        n = features.shape[0]
        if image_ids is None:
            image_ids = torch.arange(self.images_seen, self.images_seen + n)
        self.images_seen += n
        increments = _unit_concept_iou_update(
            features,
            segmentation,
            self.sorted_thresholds,
            len(self.vocabulary),
            self.concept_categories,
            self.pixels_per_image,
            image_ids,
            self.seed,
        )
        for name, increment in zip(_STATES, increments, strict=True):
            state = getattr(self, name)
            state += increment.to(state.device)

    def reset(self) -> None:
        """Zero the counts and the image counter."""
        super().reset()
        self.images_seen = 0

    def select_levels(self, levels: Tensor | None) -> None:
        """Use these levels in :meth:`compute` instead of the IQR search (None: search again).

        Args:
            levels: int64 ``[U]`` level index per unit, e.g. ``result.level`` of a metric with
                the same thresholds run on a held-out set.

        Raises:
            ValueError: If ``levels`` is not ``[U]`` with entries in ``[0, B)``.
        """
        if levels is not None and (
            levels.shape != (self.num_units,)
            or bool(((levels < 0) | (levels >= self.num_levels)).any())
        ):
            raise ValueError(
                f"levels must have shape [{self.num_units}] with entries in [0, "
                f"{self.num_levels}); got shape {list(levels.shape)}"
            )
        self.selected_levels = None if levels is None else levels.long().clone()
        self._computed = None

    def counts(self) -> UnitConceptCounts:
        """Counts at every threshold from the current (local) state, ``[U, B, C]`` tables."""
        histograms = UnitConceptHistograms(*(getattr(self, name) for name in _STATES))
        return unit_concept_counts(histograms, self.threshold_order)

    def compute(self) -> UnitConceptIoUResult:
        """Per-unit thresholds, best concepts, IoU, IQR, IoU table and layer summary.

        Raises:
            ValueError: If nothing has been counted.
        """
        if int(self.pixels) == 0:
            raise ValueError("UnitConceptIoU.compute() called before any update")
        return _unit_concept_iou_result(
            self.counts(),
            self.thresholds,
            self.vocabulary,
            self.concept_categories,
            iou_mode=self.iou_mode,
            levels=self.selected_levels,
            top_fractions=self.top_fractions,
            min_iou=self.min_iou,
            min_iqr=self.min_iqr,
            min_coverage=self.min_coverage,
            min_agreement=self.min_agreement,
        )

    def state_size_bytes(self) -> int:
        """Bytes held by the count states: ``8 * (U (B + 1) (C + G + 1) + C + 1)``.

        Example:
            >>> from ganlens.data import SCENE_VOCABULARY
            >>> UnitConceptIoU(SCENE_VOCABULARY, torch.zeros(512)).state_size_bytes()
            180376
        """
        return sum(getattr(self, n).numel() * getattr(self, n).element_size() for n in _STATES)
