"""Per-unit dissection results from accumulated counts: threshold, best concept, IoU, IQR.

GAN Dissection (Bau et al., ICLR 2019, arXiv:1811.10597, section 3.1): each unit u is labelled
with the concept of highest IoU(u, c) (eq. 1) at its threshold t_u, and is interpretable when
that IoU exceeds a cut-off (0.05; in the ``iqr`` threshold mode also IQR > 0.01).
 With B candidate levels per unit the level is chosen by the IQR search of
:mod:`ganlens.functional.information_quality`, on these counts or given from a held-out set.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ganlens.data.vocabulary import Vocabulary
from ganlens.functional.dissection import LayerSummary, layer_summary
from ganlens.functional.information_quality import (
    MIN_AGREEMENT,
    MIN_COVERAGE,
    IQRThresholdSearch,
    information_quality_ratio,
    iqr_threshold_search,
    iqr_top_fractions,
)
from ganlens.functional.unit_concept_iou import UnitConceptCounts, _unit_concept_iou_compute

__all__ = ["UnitConceptIoUResult"]


class UnitConceptIoUResult:
    """Dissection of one layer: per-unit tensors and the layer summary.

    A plain class rather than a dataclass or tuple, so that torchmetrics returns it untouched
    (it would squeeze one-element tensors inside containers, e.g. ``[U]`` with U = 1).

    Attributes:
        concept: int64 ``[U]``, best concept at the unit's threshold (vocabulary index; 0 when
            every IoU is 0).
        iou: float32 ``[U]``, its IoU.
        iqr: float32 ``[U]``, its information quality ratio at the same threshold.
        threshold: float32 ``[U]``, the unit's threshold t_u.
        level: int64 ``[U]``, index of t_u among the candidate levels (0 with one level).
        interpretable: bool ``[U]``, IoU (and IQR where required) above the cut-offs.
        iou_table: float32 ``[U, C]``, IoU of every concept at the unit's threshold.
        summary: The :class:`~ganlens.functional.dissection.LayerSummary`.
        search: The IQR search on these counts, when it chose the levels; otherwise None.

    Example:
        >>> from ganlens.data import SCENE_VOCABULARY
        >>> one = torch.ones(1)
        >>> r = UnitConceptIoUResult(concept=torch.tensor([1]), iou=one / 2, iqr=one / 4,
        ...     threshold=one, level=torch.tensor([0]), interpretable=torch.tensor([True]),
        ...     iou_table=torch.zeros(1, 18), summary=layer_summary(torch.tensor([1]),
        ...     torch.tensor([True]), SCENE_VOCABULARY))
        >>> r.summary.units_per_concept, r.iou.shape
        ({'sky': 1}, torch.Size([1]))
    """

    __slots__ = (
        "concept",
        "interpretable",
        "iou",
        "iou_table",
        "iqr",
        "level",
        "search",
        "summary",
        "threshold",
    )

    def __init__(
        self,
        *,
        concept: Tensor,
        iou: Tensor,
        iqr: Tensor,
        threshold: Tensor,
        level: Tensor,
        interpretable: Tensor,
        iou_table: Tensor,
        summary: LayerSummary,
        search: IQRThresholdSearch | None = None,
    ) -> None:
        self.concept = concept
        self.iou = iou
        self.iqr = iqr
        self.threshold = threshold
        self.level = level
        self.interpretable = interpretable
        self.iou_table = iou_table
        self.summary = summary
        self.search = search

    def __repr__(self) -> str:
        """Short description: units, interpretable units and distinct concepts."""
        s = self.summary
        return (
            f"UnitConceptIoUResult(units={s.num_units}, interpretable={s.num_interpretable}, "
            f"concepts={s.num_concepts})"
        )


def _unit_concept_iou_result(
    counts: UnitConceptCounts,
    thresholds: Tensor,
    vocabulary: Vocabulary,
    concept_categories: Tensor,
    iou_mode: str = "unrestricted",
    levels: Tensor | None = None,
    top_fractions: Tensor | None = None,
    min_iou: float = 0.05,
    min_iqr: float | None = None,
    min_coverage: float = MIN_COVERAGE,
    min_agreement: float = MIN_AGREEMENT,
) -> UnitConceptIoUResult:
    """Label every unit from counts at its threshold level.

    Args:
        counts: :class:`~ganlens.functional.unit_concept_iou.UnitConceptCounts` ``[U, B, C]``.
        thresholds: ``[U, B]`` thresholds in the counts' level order.
        vocabulary: Vocabulary the labels index (``C`` = its length).
        concept_categories: int64 ``[C]`` category per label (-1: none).
        iou_mode: ``"unrestricted"`` or ``"category"``.
        levels: int64 ``[U]`` level per unit (e.g. chosen on a held-out set). None: level 0 when
            ``B == 1``, otherwise the IQR search on these counts.
        top_fractions: ``[B]`` top fraction per level, for the search (default
            :func:`~ganlens.functional.information_quality.iqr_top_fractions` of ``B``).
        min_iou: A unit is interpretable when its IoU exceeds this ...
        min_iqr: ... and, unless None, its IQR exceeds this.
        min_coverage: Search guard: skip concepts covering less than this fraction of pixels.
        min_agreement: Search guard: skip candidates with p11 + p00 at or below this.

    Returns:
        :class:`UnitConceptIoUResult`.

    Raises:
        ValueError: If ``levels`` is not ``[U]`` with entries in ``[0, B)``.
    """
    num_units, num_levels = thresholds.shape
    device = counts.intersection.device
    search = None
    if levels is None and num_levels == 1:
        levels = torch.zeros(num_units, dtype=torch.long, device=device)
    elif levels is None:
        fractions = iqr_top_fractions(num_levels) if top_fractions is None else top_fractions
        search = iqr_threshold_search(
            counts, thresholds, fractions.to(device), min_coverage, min_agreement
        )
        levels = search.level
    levels = levels.to(device=device, dtype=torch.long)
    if levels.shape != (num_units,) or bool(((levels < 0) | (levels >= num_levels)).any()):
        raise ValueError(
            f"levels must have shape [{num_units}] with entries in [0, {num_levels}); got "
            f"shape {list(levels.shape)}"
        )
    iou = _unit_concept_iou_compute(counts, concept_categories, iou_mode)  # [U, B, C]
    table = iou[torch.arange(num_units, device=device), levels]  # [U, C]
    best_iou, best = table[:, 1:].max(dim=1)  # [U] each
    concept = torch.where(best_iou > 0, best + 1, 0)
    units = torch.arange(num_units, device=device)
    iqr = information_quality_ratio(
        counts.intersection[units, levels, concept],
        counts.activation[units, levels],
        counts.concept.to(device)[concept],
        counts.pixels.to(device),
    ).float()  # [U]
    interpretable = (best_iou > min_iou) & (concept > 0)
    if min_iqr is not None:
        interpretable &= iqr > min_iqr
    return UnitConceptIoUResult(
        concept=concept,
        iou=best_iou,
        iqr=iqr,
        threshold=thresholds.to(device)[units, levels].float(),
        level=levels,
        interpretable=interpretable,
        iou_table=table,
        summary=layer_summary(concept, interpretable, vocabulary),
        search=search,
    )
