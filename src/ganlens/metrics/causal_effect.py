"""Average causal effect (ACE) of units on a concept as a streaming torchmetrics ``Metric``.

GAN Dissection (Bau et al., ICLR 2019, arXiv:1811.10597, section 3.2, eq. 3):
``delta(U -> c) = E_z[mean_P s_c(x_inserted)] - E_z[mean_P s_c(x_ablated)]`` with ablation
``r' = (1 - alpha P) r`` and insertion ``r' = (1 - alpha P) r + alpha P k`` at one layer
(section 3.2). The math lives in :mod:`ganlens.functional.causal_effect`; this class
runs the generator under :func:`ganlens.hooks.intervene`, segments, and sums.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn
from torchmetrics import Metric

from ganlens.functional.causal_effect import (
    CAUSAL_VARIANTS,
    _causal_effect_compute,
    _causal_effect_update,
    _concept_label,
    concept_presence,
)
from ganlens.hooks import Intervention, get_layer, intervene, module_device, trace

__all__ = ["REGIONS", "AverageCausalEffect", "generate_presence"]

REGIONS = ("whole", "present", "given")
"""Pixel mask policies: the whole map, cells where c is present (unedited), or cells given."""


def generate_presence(
    generator: nn.Module,
    segmenter: Any,
    latents: Tensor,
    layer: str,
    concept: str | int,
    *edits: Intervention,
    variants: Sequence[str] = CAUSAL_VARIANTS,
    resolution: int | None = None,
) -> tuple[Tensor, Tensor]:
    """Generate with ``edits`` applied and measure the concept's presence per feature cell.

    Images are clamped to [-1, 1] before segmenting (ProgGAN outputs overshoot). Runs with the
    caller's autograd mode: under ``torch.no_grad()`` for evaluation, with gradients for fitting.

    Args:
        generator: Maps ``[N, ...]`` latents to ``[N, 3, H, W]`` images.
        segmenter: A :class:`~ganlens.segment.Segmenter`.
        latents: ``[N, ...]`` latents (moved to the generator's device).
        layer: The layer whose output ``[N, U, h, w]`` sets the feature grid.
        concept: Concept name or label value.
        *edits: Interventions applied while generating.
        variants: Presence variants (``"hard"``, ``"soft"``).
        resolution: Segmentation side (default the image size).

    Returns:
        ``(presence [V, N, h, w], unedited featuremaps [N, U, h, w])``.

    Raises:
        ValueError: If the layer does not output ``[N, U, h, w]`` in this forward pass.

    Example:
        >>> from ganlens.ace.planted import PlantedCausalGenerator, PlantedConceptSegmenter
        >>> g = PlantedCausalGenerator(grid=4, scale=2)
        >>> z = torch.randn(2, g.latent_size, generator=torch.Generator().manual_seed(0))
        >>> ablate = Intervention("layer1", units=g.causal_units)
        >>> with torch.no_grad():
        ...     presence, features = generate_presence(g, PlantedConceptSegmenter(), z, "layer1",
        ...                                             "tree", ablate)
        >>> presence.shape, float(presence[0].sum()), features.shape
        (torch.Size([2, 2, 4, 4]), 0.0, torch.Size([2, 8, 4, 4]))
    """
    z = latents.to(module_device(generator))
    with trace(generator, layer) as traced, intervene(generator, *edits):
        images = generator(z).clamp(-1.0, 1.0)
    features = traced.get(layer)
    if features is None or features.ndim != 4:
        got = list(features.shape) if features is not None else "no output"
        raise ValueError(f"layer {layer!r} must output [N, U, h, w] in this pass; got {got}")
    grid = (int(features.shape[2]), int(features.shape[3]))
    presence = concept_presence(
        segmenter, images, concept, grid, variants=variants, resolution=resolution
    )
    return presence, features


class AverageCausalEffect(Metric):
    """ACE of a unit set (or per-unit alpha) on a concept, summed over batches of latents.

    ``update(latents)`` renders each latent twice, with the units ablated (value 0) and inserted
    (value k) over the region P, and adds the per-image means over P of the concept's presence.
    ``compute()`` returns a dict of float32 ``[2]`` tensors (``[hard, soft]``): ``"ace"``,
    ``"inserted"`` (E[mean_P s_c] after insertion) and ``"ablated"``. Hard presence is the
    fraction of a feature cell's pixels whose argmax label is c; soft the mean probability.

    Regions P: ``"whole"`` (every cell), ``"present"`` (cells where the unedited image's hard
    presence exceeds ``presence_threshold``; an extra unedited pass; images without c are skipped)
    or ``"given"`` (``update(latents, mask)`` with a ``[N, h, w]`` or ``[h, w]`` bool/float mask).

    State: ``inserted`` and ``ablated`` float64 ``[2]`` sums of per-image means and ``count``, all
    reduced by ``"sum"``: DDP sync and ``merge_state`` are exact (``dist_sync_fn=all_reduce_sum``
    keeps the sync at one copy). The generator and segmenter are held, not registered, so they are
    neither in ``state_dict`` nor moved by ``.to()``; latents follow the generator's device.

    Args:
        generator: The generator (not modified; run in its current mode, without gradients).
        layer: Dotted name of the layer to intervene on.
        segmenter: A :class:`~ganlens.segment.Segmenter`.
        concept: Concept name or label value.
        k: Insertion value: a number or ``[U]`` per-unit constants (see
            :func:`ganlens.ace.insertion_statistics`).
        units: Unit ids to intervene on; None means all (then use a per-unit ``alpha``).
        alpha: Strength in [0, 1]: a number, or one value per selected unit.
        region: ``"whole"``, ``"present"`` or ``"given"``.
        presence_threshold: Coverage a cell must exceed to count as present (``"present"``).
        resolution: Segmentation side (default the image size).
        kwargs: Passed to :class:`torchmetrics.Metric`.

    Raises:
        ValueError: On an unknown region, concept or a bad threshold.

    Example:
        >>> from ganlens.ace.planted import PlantedCausalGenerator, PlantedConceptSegmenter
        >>> g = PlantedCausalGenerator(grid=4, scale=2)
        >>> metric = AverageCausalEffect(g, "layer1", PlantedConceptSegmenter(), "tree", k=0.75,
        ...                              units=g.causal_units)
        >>> metric.update(torch.randn(8, g.latent_size, generator=torch.Generator().manual_seed(0)))
        >>> metric.compute()["ace"]  # hard: inserting paints every cell, ablating none
        tensor([1.0000, 0.9...])
    """

    is_differentiable = False
    higher_is_better = True
    full_state_update = False
    inserted: Tensor
    ablated: Tensor
    count: Tensor

    def __init__(
        self,
        generator: nn.Module,
        layer: str,
        segmenter: Any,
        concept: str | int,
        k: float | Tensor,
        units: Sequence[int] | Tensor | None = None,
        alpha: float | Tensor = 1.0,
        region: str = "whole",
        presence_threshold: float = 0.0,
        resolution: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        get_layer(generator, layer)
        _concept_label(segmenter, concept)
        if region not in REGIONS:
            raise ValueError(f"region must be one of {REGIONS}; got {region!r}")
        if not 0.0 <= presence_threshold < 1.0:
            raise ValueError(f"presence_threshold must lie in [0, 1); got {presence_threshold}")
        self._models = (generator, segmenter)  # a tuple: not registered as submodules
        self.layer, self.concept, self.region = layer, concept, region
        self.presence_threshold, self.resolution = presence_threshold, resolution
        self.units = None if units is None else torch.as_tensor(units, dtype=torch.long)
        self.alpha = alpha.detach() if isinstance(alpha, Tensor) else alpha
        self.k = k.detach() if isinstance(k, Tensor) else k
        variants = len(CAUSAL_VARIANTS)
        self.add_state("inserted", torch.zeros(variants, dtype=torch.float64), "sum")
        self.add_state("ablated", torch.zeros(variants, dtype=torch.float64), "sum")
        self.add_state("count", torch.zeros((), dtype=torch.float64), "sum")

    def _value(self) -> float | Tensor:
        k = self.k
        if isinstance(k, Tensor) and self.units is not None and k.numel() > self.units.numel():
            return k[self.units.to(k.device)]  # [U] constants, restricted to the selection
        return k

    def update(self, latents: Tensor, mask: Tensor | None = None) -> None:
        """Render, intervene and accumulate one batch.

        Args:
            latents: ``[N, ...]`` latents of the generator.
            mask: Region P for ``region="given"``: ``[N, h, w]`` or ``[h, w]``, bool or float in
                [0, 1]; must be None for the other regions.

        Raises:
            ValueError: If a mask is missing for ``"given"`` or passed for another region.
        """
        if (mask is None) == (self.region == "given"):
            raise ValueError(
                f"pass mask exactly when region='given'; region={self.region!r}, "
                f"mask {'given' if mask is not None else 'missing'}"
            )
        generator, segmenter = self._models
        name = self.layer
        with torch.no_grad():
            if self.region == "present":
                unedited, _ = generate_presence(
                    generator, segmenter, latents, name, self.concept, variants=("hard",),
                    resolution=self.resolution,
                )  # fmt: skip
                mask = unedited[0] > self.presence_threshold  # [N, h, w]
            results = []
            for value in (0.0, self._value()):
                edit = Intervention(
                    name, units=self.units, alpha=self.alpha, mask=mask, value=value
                )
                presence, _ = generate_presence(
                    generator, segmenter, latents, name, self.concept, edit,
                    resolution=self.resolution,
                )  # fmt: skip
                results.append(presence)  # [V, N, h, w]
        ablated, inserted = results
        weights = mask.float() if mask is not None and mask.dtype == torch.bool else mask
        sums = _causal_effect_update(inserted, ablated, weights)
        self.inserted += sums[0].to(self.inserted.device)
        self.ablated += sums[1].to(self.ablated.device)
        self.count += sums[2].to(self.count.device)

    def compute(self) -> dict[str, Tensor]:
        """``{"ace", "inserted", "ablated"}``, each float32 ``[2]`` (hard, soft); NaN if empty."""
        return _causal_effect_compute(self.inserted, self.ablated, self.count)
