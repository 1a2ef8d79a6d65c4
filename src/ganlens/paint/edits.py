"""Strokes as interventions, and rendering images under them.

A stroke paints ``units`` of one layer inside a mask pooled to the layer grid: "draw" moves
them towards their draw levels (99th-percentile activations), "remove" towards 0, with
``alpha = strength * pooled mask`` in ``r' = (1 - alpha) r + alpha * value`` (GAN Dissection,
Bau et al., ICLR 2019, section 3.2). Strokes compose in order (:func:`ganlens.hooks.intervene`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from ganlens.hooks import Intervention, intervene
from ganlens.paint.masks import pool_mask

__all__ = ["ACTIONS", "Stroke", "render", "stroke_intervention"]

ACTIONS = ("draw", "remove")
"""What a stroke does to its units."""


@dataclass(frozen=True)
class Stroke:
    """One brush stroke.

    Attributes:
        layer: Dotted layer name.
        units: Unit indices painted.
        action: "draw" or "remove".
        mask: ``[H, W]`` bool or float mask in [0, 1] at any resolution.
        strength: Scale of the edit in [0, 1].
        pool: "max" or "mean" pooling of the mask to the layer grid.

    Example:
        >>> Stroke("layer4", (1, 2), "remove", torch.ones(4, 4)).pool
        'max'
    """

    layer: str
    units: tuple[int, ...]
    action: str
    mask: Tensor
    strength: float = 1.0
    pool: str = "max"


def stroke_intervention(stroke: Stroke, grid: tuple[int, int], levels: Tensor) -> Intervention:
    """The :class:`~ganlens.hooks.Intervention` of a stroke on a layer with grid ``(h, w)``.

    Args:
        stroke: The stroke.
        grid: The layer's featuremap size ``(h, w)``.
        levels: float ``[U]`` draw level of every unit of the layer.

    Raises:
        ValueError: On an unknown action, a strength outside [0, 1], no units or a unit
            outside ``0..U-1``.

    Example:
        >>> edit = stroke_intervention(Stroke("x", (0,), "draw", torch.ones(2, 2)), (1, 1),
        ...                            torch.tensor([5.0, 6.0]))
        >>> edit.apply(torch.zeros(1, 2, 1, 1)).flatten().tolist()
        [5.0, 0.0]
    """
    if stroke.action not in ACTIONS:
        raise ValueError(f"action must be one of {ACTIONS}; got {stroke.action!r}")
    if not 0.0 <= stroke.strength <= 1.0:
        raise ValueError(f"strength must lie in [0, 1]; got {stroke.strength}")
    if not stroke.units or min(stroke.units) < 0 or max(stroke.units) >= levels.numel():
        raise ValueError(
            f"units must be a non-empty list in 0..{levels.numel() - 1}; got {list(stroke.units)}"
        )
    units = torch.as_tensor(stroke.units, dtype=torch.long)
    value: float | Tensor = levels[units] if stroke.action == "draw" else 0.0
    mask = pool_mask(stroke.mask, grid, stroke.pool) * stroke.strength
    return Intervention(stroke.layer, units=units, mask=mask, value=value)


def render(
    generator: nn.Module, latents: Tensor, interventions: Sequence[Intervention] = ()
) -> Tensor:
    """Images ``[N, 3, H, W]`` in [-1, 1] of ``latents`` under the interventions, in order.

    Example:
        >>> net = nn.Sequential(nn.Linear(2, 12), nn.Unflatten(1, (3, 2, 2)))
        >>> render(net, torch.ones(1, 2), [Intervention("1", value=0.0)]).abs().max().item()
        0.0
    """
    device = next(generator.parameters()).device
    with torch.no_grad(), intervene(generator, *interventions):
        images: Tensor = generator(latents.to(device))
    return images.clamp(-1.0, 1.0).cpu()
