"""Top-k activating samples per unit as a torchmetrics ``Metric``.

GAN Dissection (Bau et al., ICLR 2019, arXiv:1811.10597, section 3.1, figures 3-4) visualises a
unit through the samples where it activates most. The merge rule (best score first, ties by the
smaller sample index) lives in :mod:`ganlens.functional.top_activations`.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor
from torchmetrics import Metric

from ganlens.functional.top_activations import (
    SCORE_REDUCTIONS,
    TopActivationsResult,
    _top_activations_update,
    empty_top_table,
    merge_top_tables,
)

__all__ = ["TopActivations"]


class TopActivations(Metric):
    """The k samples with the highest activation of each unit, streamed over any N.

    ``update(features, sample_indices)`` scores every sample per unit (max, or mean, of its
    ``h x w`` featuremap) and keeps the best k; ``compute()`` returns a
    :class:`~ganlens.functional.top_activations.TopActivationsResult` that unpacks as
    ``(scores, indices)``, each ``[U, k]``, best first (ties: smaller index first; empty slots
    -inf and -1). Pass global sample indices (e.g. the latent's row in the latent bank) so
    results from several processes refer to the same samples.

    State: ``table`` float64 ``[k, U, 2]`` of (score, index) pairs, ``16 * k * U`` bytes
    independent of N. Its reduction merges tables (a custom ``dist_reduce_fx``), so
    ``merge_state`` and DDP sync give exactly the single-process result; use the default
    gathering ``dist_sync_fn`` (not a summing all-reduce).

    Args:
        num_units: ``U``.
        k: Samples kept per unit (default 10).
        reduction: ``"max"`` (default) or ``"mean"`` over positions.
        kwargs: Passed to :class:`torchmetrics.Metric`.

    Raises:
        ValueError: On ``num_units < 1``, ``k < 1`` or an unknown reduction.

    Example:
        >>> _ = torch.manual_seed(0)
        >>> metric = TopActivations(num_units=4, k=3)
        >>> metric.update(torch.randn(8, 4, 2, 2), torch.arange(8))
        >>> metric.update(torch.randn(8, 4, 2, 2), torch.arange(8, 16))
        >>> scores, indices = metric.compute()
        >>> indices.shape, bool((scores[:, :-1] >= scores[:, 1:]).all())
        (torch.Size([4, 3]), True)
    """

    is_differentiable = False
    higher_is_better = None
    full_state_update = False
    table: Tensor

    def __init__(self, num_units: int, k: int = 10, reduction: str = "max", **kwargs: Any) -> None:
        """Declare the table state; the arguments are documented above."""
        super().__init__(**kwargs)
        if num_units < 1 or k < 1:
            raise ValueError(f"num_units and k must be >= 1; got {num_units} and {k}")
        if reduction not in SCORE_REDUCTIONS:
            raise ValueError(f"reduction must be one of {SCORE_REDUCTIONS}; got {reduction!r}")
        self.num_units, self.k, self.reduction = num_units, k, reduction
        self.add_state("table", empty_top_table(k, num_units), dist_reduce_fx=merge_top_tables)

    def update(self, features: Tensor, sample_indices: Tensor) -> None:
        """Merge a batch.

        Args:
            features: ``[N, U, h, w]`` featuremaps.
            sample_indices: int ``[N]`` global index of each sample.

        Raises:
            ValueError: On a wrong shape.
        """
        indices = torch.as_tensor(sample_indices, device=features.device)
        self.table = _top_activations_update(self.table, features, indices, self.reduction)

    def compute(self) -> TopActivationsResult:
        """Scores (float64) and sample indices (int64), each ``[U, k]``, best first."""
        return TopActivationsResult.from_table(self.table)

    def state_size_bytes(self) -> int:
        """Bytes of the state, ``16 * k * U``.

        Example:
            >>> TopActivations(num_units=512, k=10).state_size_bytes()
            81920
        """
        return self.table.numel() * self.table.element_size()
