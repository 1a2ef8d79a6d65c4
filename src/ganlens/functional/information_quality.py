"""Information quality ratio (IQR) and the IQR threshold search of GAN Dissection.

GAN Dissection (Bau et al., ICLR 2019, arXiv:1811.10597, section 3.1 and appendix) chooses each
unit's threshold by maximising the information quality ratio of the 2x2 contingency table of
A = [r_u^up > t] and S = [pixel is c]:

    IQR = I(A; S) / H(A, S),   I(A; S) = H(A) + H(S) - H(A, S),

with p11 = |A AND S| / n, p10 = |A AND NOT S| / n, p01 = |NOT A AND S| / n, p00 the rest. IQR is 0
where H(A, S) = 0. The search tries B = 100 thresholds per unit, the top fractions
``logspace(-3, 0, 100)`` (0.1 % to 100 %) of its activations, against every concept, with guards:
skip the 100 % level, concepts covering < 0.1 % of the pixels, and thresholds with agreement
p11 + p00 <= 0.8 or t <= 0. The unit's threshold is that of its best-IQR (level, concept) pair.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor

from ganlens.functional.unit_concept_iou import UnitConceptCounts

__all__ = [
    "IQRThresholdSearch",
    "information_quality_ratio",
    "iqr_threshold_search",
    "iqr_top_fractions",
]

NUM_LEVELS = 100
MIN_COVERAGE = 1e-3
MIN_AGREEMENT = 0.8


def iqr_top_fractions(num_levels: int = NUM_LEVELS, device: torch.device | None = None) -> Tensor:
    """The B log-spaced top fractions of the IQR search, from 0.1 % to 100 %.

    Args:
        num_levels: ``B``.
        device: Device of the result.

    Returns:
        float64 ``[B]`` ascending fractions, the last one exactly 1.

    Raises:
        ValueError: If ``num_levels < 2``.

    Example:
        >>> iqr_top_fractions(4).tolist()
        [0.001, 0.01, 0.1, 1.0]
    """
    if num_levels < 2:
        raise ValueError(f"num_levels must be >= 2; got {num_levels}")
    return torch.logspace(-3, 0, num_levels, dtype=torch.float64, device=device)


def information_quality_ratio(
    intersection: Tensor, activation: Tensor, concept: Tensor, pixels: Tensor | int
) -> Tensor:
    """IQR = I(A; S) / H(A, S) of the 2x2 tables given by counts (broadcasting).

    Args:
        intersection: |A AND S| counts, e.g. ``[U, B, C]``.
        activation: |A| counts, broadcastable to ``intersection`` (e.g. ``[U, B, 1]``).
        concept: |S| counts, broadcastable (e.g. ``[C]``).
        pixels: n, the number of pixels of the table.

    Returns:
        float64 IQR in [0, 1], of the broadcast shape; 0 where H(A, S) = 0.

    Example:
        >>> information_quality_ratio(torch.tensor([10, 0]), torch.tensor(10),
        ...                           torch.tensor([10, 10]), 40)
        tensor([1.0000, 0.0817], dtype=torch.float64)
    """
    n = torch.as_tensor(pixels, dtype=torch.float64, device=intersection.device)
    p11 = intersection.double() / n
    pa = activation.double() / n
    ps = concept.double() / n
    p10, p01 = pa - p11, ps - p11
    p00 = 1.0 - pa - ps + p11

    def plogp(p: Tensor) -> Tensor:
        return torch.xlogy(p, p.clamp(min=0))

    joint = -(plogp(p11) + plogp(p10) + plogp(p01) + plogp(p00))
    marginal_a = -(plogp(pa) + plogp(1.0 - pa))
    marginal_s = -(plogp(ps) + plogp(1.0 - ps))
    mutual = (marginal_a + marginal_s - joint).clamp(min=0)
    return torch.where(joint > 1e-12, mutual / joint.clamp(min=1e-12), 0.0).clamp(max=1.0)


class IQRThresholdSearch(NamedTuple):
    """Result of :func:`iqr_threshold_search`, one entry per unit.

    Attributes:
        level: int64 ``[U]``, index of the chosen level (the smallest top fraction when no
            candidate passes the guards).
        threshold: float32 ``[U]``, the chosen threshold.
        concept: int64 ``[U]``, the best-IQR concept (0 when no candidate passes).
        iqr: float64 ``[U]``, its IQR (0 when no candidate passes).
        valid: bool ``[U]``, whether some (level, concept) passed the guards.

    Example:
        >>> found = IQRThresholdSearch(torch.tensor([3]), torch.tensor([0.4]), torch.tensor([2]),
        ...                            torch.tensor([0.6]), torch.tensor([True]))
        >>> found.level.item(), found.valid.item()
        (3, True)
    """

    level: Tensor
    threshold: Tensor
    concept: Tensor
    iqr: Tensor
    valid: Tensor


def iqr_threshold_search(
    counts: UnitConceptCounts,
    thresholds: Tensor,
    top_fractions: Tensor,
    min_coverage: float = MIN_COVERAGE,
    min_agreement: float = MIN_AGREEMENT,
) -> IQRThresholdSearch:
    """Pick each unit's threshold as the one of its best-IQR (level, concept) pair.

    Args:
        counts: :class:`UnitConceptCounts` at the ``B`` candidate levels (``[U, B, C]``).
        thresholds: ``[U, B]`` candidate thresholds (same level order as ``counts``).
        top_fractions: ``[B]`` top fraction of each level; levels at 100 % are skipped.
        min_coverage: Skip concepts covering less than this fraction of pixels.
        min_agreement: Skip (unit, level, concept) with p11 + p00 at or below this.

    Returns:
        :class:`IQRThresholdSearch`.

    Raises:
        ValueError: If the shapes disagree.

    Example:
        >>> from ganlens.functional.unit_concept_iou import sort_thresholds
        >>> from ganlens.functional.unit_concept_iou import _unit_concept_iou_update
        >>> from ganlens.functional.unit_concept_iou import unit_concept_counts
        >>> _ = torch.manual_seed(0)
        >>> seg = (torch.rand(8, 1, 16, 16) > 0.7).long()  # [8, 1, 16, 16]: concept 1 on 30 %
        >>> r = seg.float() + 0.1 * torch.rand(8, 1, 16, 16)  # [8, U=1, 16, 16]: a detector
        >>> fractions = iqr_top_fractions(100)
        >>> t = torch.quantile(r.flatten(), 1 - fractions.float()).view(1, 100)  # [1, B]
        >>> sorted_t, order = sort_thresholds(t)
        >>> counts = unit_concept_counts(_unit_concept_iou_update(r, seg, sorted_t, 2), order)
        >>> found = iqr_threshold_search(counts, t, fractions)
        >>> found.concept.tolist(), round(found.iqr.item(), 2), found.valid.tolist()
        ([1], 0.94, [True])
    """
    intersection = counts.intersection  # [U, B, C]
    num_units, num_levels, num_concepts = intersection.shape
    if thresholds.shape != (num_units, num_levels) or top_fractions.shape != (num_levels,):
        raise ValueError(
            f"thresholds must have shape [{num_units}, {num_levels}] and top_fractions "
            f"[{num_levels}]; got {list(thresholds.shape)} and {list(top_fractions.shape)}"
        )
    device = intersection.device
    n = counts.pixels.double().to(device)
    activation = counts.activation.unsqueeze(-1)  # [U, B, 1]
    iqr = information_quality_ratio(intersection, activation, counts.concept, n)  # [U, B, C]
    agreement = (n - activation - counts.concept + 2 * intersection).double() / n  # [U, B, C]
    level_ok = top_fractions.to(device) < 1.0  # [B]
    concept_ok = counts.concept.double() / n >= min_coverage  # [C]
    concept_ok[0] = False
    threshold_ok = thresholds.to(device) > 0  # [U, B]
    ok = (agreement > min_agreement) & level_ok.view(1, -1, 1) & concept_ok.view(1, 1, -1)
    ok &= threshold_ok.unsqueeze(-1)
    score = torch.where(ok, iqr, -1.0).view(num_units, -1)  # [U, B * C]
    best, flat = score.max(dim=1)  # [U] each
    valid = best >= 0
    fallback = int(top_fractions.argmin())
    level = torch.where(valid, flat // num_concepts, fallback)
    concept = torch.where(valid, flat % num_concepts, 0)
    threshold = thresholds.to(device).gather(1, level.view(-1, 1)).view(-1).float()
    return IQRThresholdSearch(level, threshold, concept, best.clamp(min=0), valid)
