"""Top-k activating samples per unit, as a fixed-size mergeable table.

GAN Dissection (Bau et al., ICLR 2019, arXiv:1811.10597, section 3.1, figures 3-4) shows each unit
through the generated images where it activates most. A sample's score for unit u is the maximum
(or the mean) of its featuremap r_u over the h x w positions, before upsampling (bilinear
upsampling only forms convex combinations, so it cannot raise the maximum).

The table is one float64 tensor ``[k, U, 2]`` of (score, sample index) pairs, so that scores and
indices stay paired through any merge: merging stacks tables and keeps the best k per unit. Order:
higher score first, ties broken by the smaller sample index, so the result does not depend on how
the samples were split between batches or processes. Empty slots hold (-inf, -1). Indices are
exact up to 2^53.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch import Tensor

from ganlens.functional.dissection import check_featuremaps

__all__ = [
    "SCORE_REDUCTIONS",
    "TopActivationsResult",
    "empty_top_table",
    "merge_top_tables",
    "top_activations",
]

SCORE_REDUCTIONS = ("max", "mean")


class TopActivationsResult:
    """Best samples per unit: ``scores`` float64 ``[U, k]`` and ``indices`` int64 ``[U, k]``.

    Unpacks as ``scores, indices = result``. A plain class, not a tuple, so torchmetrics returns
    it untouched (it squeezes one-element tensors inside tuples).

    Example:
        >>> scores, indices = TopActivationsResult(torch.ones(1, 1), torch.zeros(1, 1).long())
        >>> scores.shape, indices.tolist()
        (torch.Size([1, 1]), [[0]])
    """

    __slots__ = ("indices", "scores")

    def __init__(self, scores: Tensor, indices: Tensor) -> None:
        self.scores = scores
        self.indices = indices

    def __iter__(self) -> Iterator[Tensor]:
        """Yield ``scores`` then ``indices``."""
        return iter((self.scores, self.indices))

    def __repr__(self) -> str:
        """Shape summary."""
        return f"TopActivationsResult(units={self.scores.shape[0]}, k={self.scores.shape[1]})"

    @classmethod
    def from_table(cls, table: Tensor) -> TopActivationsResult:
        """Split a ``[k, U, 2]`` table into ``[U, k]`` scores and indices."""
        return cls(table[..., 0].T.contiguous(), table[..., 1].T.long())


def empty_top_table(k: int, num_units: int, device: torch.device | None = None) -> Tensor:
    """An empty ``[k, U, 2]`` table: every slot (-inf, -1).

    Args:
        k: Slots per unit.
        num_units: ``U``.
        device: Device of the table.

    Returns:
        float64 ``[k, U, 2]``.

    Example:
        >>> empty_top_table(2, 1).tolist()
        [[[-inf, -1.0]], [[-inf, -1.0]]]
    """
    table = torch.empty(k, num_units, 2, dtype=torch.float64, device=device)
    table[..., 0] = float("-inf")
    table[..., 1] = -1.0
    return table


def merge_top_tables(tables: Tensor, k: int | None = None) -> Tensor:
    """Keep the best k (score, index) pairs per unit from several stacked tables.

    Args:
        tables: float64 ``[W, k, U, 2]`` (e.g. one table per process) or ``[M, U, 2]`` candidates.
        k: Slots to keep; default the tables' ``k`` (``M`` for 3-d input).

    Returns:
        float64 ``[k, U, 2]``, best first (ties: smaller index first).

    Example:
        >>> a = torch.tensor([[[3.0, 7.0]], [[1.0, 2.0]]])  # [k=2, U=1, 2]
        >>> b = torch.tensor([[[3.0, 4.0]], [[2.0, 9.0]]])
        >>> merge_top_tables(torch.stack([a, b])).tolist()
        [[[3.0, 4.0]], [[3.0, 7.0]]]
    """
    keep = (tables.shape[-3] if k is None else k) if tables.ndim == 4 else (k or tables.shape[0])
    candidates = tables.reshape(-1, *tables.shape[-2:])  # [M, U, 2]
    by_index = candidates[..., 1].argsort(dim=0, stable=True)  # [M, U]
    candidates = candidates.gather(0, by_index.unsqueeze(-1).expand_as(candidates))
    by_score = candidates[..., 0].argsort(dim=0, descending=True, stable=True)[:keep]  # [k, U]
    return candidates.gather(0, by_score.unsqueeze(-1).expand(-1, -1, 2))


def _sample_scores(features: Tensor, reduction: str) -> Tensor:
    """Per-sample, per-unit score ``[N, U]``: max or mean over positions."""
    if reduction not in SCORE_REDUCTIONS:
        raise ValueError(f"reduction must be one of {SCORE_REDUCTIONS}; got {reduction!r}")
    flat = features.detach().flatten(2).double()  # [N, U, h * w]
    return flat.amax(dim=2) if reduction == "max" else flat.mean(dim=2)


def _top_activations_update(
    table: Tensor, features: Tensor, sample_indices: Tensor, reduction: str = "max"
) -> Tensor:
    """Merge one batch into a ``[k, U, 2]`` table; returns the new table.

    Raises:
        ValueError: On a wrong feature or index shape.
    """
    check_featuremaps(features, table.shape[1])
    if sample_indices.shape != (features.shape[0],):
        raise ValueError(
            f"sample_indices must have shape [N={features.shape[0]}]; got "
            f"{list(sample_indices.shape)}"
        )
    scores = _sample_scores(features, reduction)  # [N, U]
    indices = sample_indices.to(scores.device, torch.float64).view(-1, 1).expand_as(scores)
    batch = torch.stack([scores, indices], dim=-1)  # [N, U, 2]
    merged = torch.cat([table.to(scores.device), batch])  # [k + N, U, 2]
    return merge_top_tables(merged, table.shape[0])


def top_activations(
    features: Tensor, k: int, sample_indices: Tensor | None = None, reduction: str = "max"
) -> TopActivationsResult:
    """The k samples on which each unit activates most.

    Args:
        features: ``[N, U, h, w]`` featuremaps.
        k: Samples to keep per unit (slots beyond N stay empty).
        sample_indices: int ``[N]`` global index of each sample; default ``0..N-1``.
        reduction: Score of a sample: ``"max"`` (default) or ``"mean"`` over positions.

    Returns:
        :class:`TopActivationsResult` ``(scores, indices)``: float64 ``[U, k]`` scores (best
        first; -inf when empty) and int64 ``[U, k]`` sample indices (-1 when empty).

    Raises:
        ValueError: On wrong shapes, ``k < 1`` or an unknown reduction.

    Example:
        >>> features = torch.zeros(3, 2, 1, 2)  # [N=3, U=2, 1, 2]
        >>> features[1, 0, 0, 1] = 5.0
        >>> features[2, 1, 0, 0] = 4.0
        >>> scores, indices = top_activations(features, k=2)
        >>> indices.tolist(), scores[:, 0].tolist()
        ([[1, 0], [2, 0]], [5.0, 4.0])
    """
    if k < 1:
        raise ValueError(f"k must be >= 1; got {k}")
    check_featuremaps(features)
    if sample_indices is None:
        sample_indices = torch.arange(features.shape[0], device=features.device)
    table = empty_top_table(k, features.shape[1], features.device)
    table = _top_activations_update(table, features, sample_indices, reduction)
    return TopActivationsResult.from_table(table)
