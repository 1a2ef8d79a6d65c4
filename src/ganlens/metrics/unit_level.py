"""A unit's activation level: its 99th-percentile activation over all featuremap cells.

GAN Dissection (Bau et al., ICLR 2019, arXiv:1811.10597) forces units to a constant when it
inserts them (section 3.2) or paints with them (section 4, GANPaint). Besides the ACE constant k
(:func:`ganlens.ace.insertion_statistics`), ganlens uses one unconditional level per unit u: the
value ``t_u`` with ``P(r_u > t_u) = 1 - level`` over every cell of the featuremaps of a sample set
(no upsampling), ``level = 0.99`` by default. It is estimated by
:class:`~ganlens.metrics.UnitQuantile`'s fixed histogram. This module is the one place that
computes it: the ACE statistics' ``quantile`` and the paint server's "draw" level
(:meth:`ganlens.paint.model.PaintModel.levels`) both come from here.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ganlens.hooks import module_device, trace
from ganlens.metrics.distributed import all_reduce_sum
from ganlens.metrics.unit_quantile import UnitQuantile

__all__ = ["UNIT_LEVEL", "UnitLevel", "unit_levels"]

UNIT_LEVEL = 0.99
"""Default quantile level of a unit's activation level (its 99th percentile)."""


class UnitLevel:
    """Stream featuremaps into each unit's ``level``-quantile activation over all cells.

    The histogram (a :class:`~ganlens.metrics.UnitQuantile` of ``U`` units) is made on the
    device of the first featuremaps, with their unit count.

    Args:
        level: Quantile level, in (0, 1) (default 0.99: the 99th percentile).
        distributed: Sum the histogram over the process group on :meth:`compute` (every
            process calls it and gets the level of all processes' featuremaps).

    Raises:
        ValueError: If ``level`` is not in (0, 1).

    Example:
        >>> levels = UnitLevel()
        >>> for start in range(0, 10000, 2500):  # one unit, values 0 .. 9999 in four batches
        ...     levels.update(torch.arange(start, start + 2500.0).view(1, 1, 50, 50))
        >>> levels.compute()  # 1 % of the values lie above it
        tensor([9900.])
    """

    def __init__(self, level: float = UNIT_LEVEL, distributed: bool = False) -> None:
        if not 0.0 < level < 1.0:
            raise ValueError(f"level must lie in (0, 1); got {level}")
        self.level, self.distributed = level, distributed
        self.quantiles: UnitQuantile | None = None

    def update(self, features: Tensor) -> None:
        """Add ``[N, U, h, w]`` featuremaps (the same ``U`` every time).

        Raises:
            ValueError: If ``features`` is not ``[N, U, h, w]`` with the first call's ``U``.
        """
        if self.quantiles is None:
            if features.ndim != 4:
                raise ValueError(f"features must be [N, U, h, w]; got {list(features.shape)}")
            self.quantiles = UnitQuantile(
                features.shape[1], 1.0 - self.level, sync_on_compute=self.distributed,
                dist_sync_fn=all_reduce_sum,
            ).to(features.device)  # fmt: skip
        self.quantiles.update(features)

    def compute(self) -> Tensor:
        """float32 ``[U]`` levels, on the CPU.

        Raises:
            ValueError: If no featuremaps have been added.
        """
        if self.quantiles is None:
            raise ValueError("no featuremaps have been added")
        return self.quantiles.compute().reshape(-1).float().cpu()


def unit_levels(
    generator: nn.Module,
    layer: str,
    latents: Tensor,
    *,
    level: float = UNIT_LEVEL,
    batch_size: int = 32,
) -> Tensor:
    """Each unit's ``level``-quantile activation at ``layer`` over the images of ``latents``.

    Args:
        generator: Maps ``[N, ...]`` latents to images; run as it is, without gradients.
        layer: Dotted name of a layer with output ``[N, U, h, w]``.
        latents: ``[N, ...]`` latents, N >= 1 (moved to the generator's device batch by batch).
        level: Quantile level, in (0, 1).
        batch_size: Latents per forward pass.

    Returns:
        float32 ``[U]`` levels, on the CPU.

    Raises:
        ValueError: On a bad ``level`` or ``batch_size``, no latents, or a layer that does not
            output ``[N, U, h, w]``.

    Example:
        >>> g = nn.Sequential(nn.ReLU(), nn.Conv2d(2, 3, 1))  # layer "0": 2 units, 4 x 4 cells
        >>> z = torch.randn(1000, 2, 4, 4, generator=torch.Generator().manual_seed(0))
        >>> [round(v, 1) for v in unit_levels(g, "0", z, batch_size=250).tolist()]  # N(0, 1): 2.33
        [2.3, 2.3]
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1; got {batch_size}")
    accumulator = UnitLevel(level)
    device = module_device(generator)
    for start in range(0, latents.shape[0], batch_size):
        z = latents[start : start + batch_size].to(device)
        with torch.no_grad(), trace(generator, layer) as traced:
            generator(z)
        features = traced.get(layer)
        if features is None or features.ndim != 4:
            got = list(features.shape) if features is not None else "no output"
            raise ValueError(f"layer {layer!r} must output [N, U, h, w]; got {got}")
        accumulator.update(features)
    return accumulator.compute()
