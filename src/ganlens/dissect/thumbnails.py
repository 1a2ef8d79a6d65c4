"""Pictures of what a unit draws: generated images with the unit's thresholded region highlighted.

GAN Dissection (Bau et al., ICLR 2019, Fig. 3) shows each unit by its top-activating samples with
the region A_u = [r_u^up > t_u] kept bright and the rest dimmed. The featuremap is upsampled to
the image bilinearly with pixel centres aligned (``align_corners=False``, paper section 3.1), as in
dissection itself.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganlens.dissect.result import LayerDissection
from ganlens.hooks import get_layer, module_device, trace

__all__ = ["DIMMED", "top_sample_overlays", "unit_overlays"]

DIMMED = 0.3
"""Brightness kept outside a unit's region."""


@torch.no_grad()
def unit_overlays(
    generator: nn.Module,
    layer: str,
    latents: Tensor,
    units: Tensor | Sequence[int],
    thresholds: Tensor | Sequence[float],
    *,
    display_size: int | None = None,
    batch_size: int = 32,
) -> Tensor:
    """Render sample i from ``latents[i]`` with unit ``units[i]``'s region above ``thresholds[i]``.

    Args:
        generator: Maps latents to images ``[n, 3, H, W]`` in [-1, 1] (clamped).
        layer: Dotted name of the layer whose unit is shown.
        latents: ``[N, ...]`` latents, one per picture.
        units: ``[N]`` unit index per picture.
        thresholds: ``[N]`` activation threshold per picture (the unit's t_u).
        display_size: Side of the returned pictures (nearest-neighbour upscaling); default the
            image size.
        batch_size: Samples per forward pass.

    Returns:
        ``uint8 [N, 3, D, D]`` pictures, bright inside the unit's region and dimmed to
        :data:`DIMMED` outside it.

    Raises:
        ValueError: If ``units`` or ``thresholds`` do not have one entry per latent, or a unit
            index is out of range.

    Example:
        >>> from ganlens.dissect.planted import PlantedSceneGenerator
        >>> g = PlantedSceneGenerator(["sky", "grass"], resolution=16)
        >>> pictures = unit_overlays(g, "layer1", torch.tensor([[0.0], [1.0]]), [0, 1], [0.5, 0.5])
        >>> pictures.shape, pictures.dtype
        (torch.Size([2, 3, 16, 16]), torch.uint8)
    """
    get_layer(generator, layer)
    unit_index = torch.as_tensor(units, dtype=torch.long).view(-1)  # [N]
    level = torch.as_tensor(thresholds, dtype=torch.float32).view(-1)  # [N]
    count = latents.shape[0]
    if unit_index.numel() != count or level.numel() != count:
        raise ValueError(
            f"units and thresholds need one entry per latent ({count}); got "
            f"{unit_index.numel()} and {level.numel()}"
        )
    device = module_device(generator)
    pictures = []
    for start in range(0, count, batch_size):
        z = latents[start : start + batch_size].to(device)
        with trace(generator, layer) as features:
            images = generator(z).clamp(-1.0, 1.0).float()  # [n, 3, H, W]
        featuremap = features[layer]  # [n, U, h, w]
        chosen = unit_index[start : start + z.shape[0]].to(device)
        if chosen.numel() and (chosen.min() < 0 or chosen.max() >= featuremap.shape[1]):
            raise ValueError(
                f"unit indices must lie in [0, {featuremap.shape[1]}); got {chosen.tolist()}"
            )
        maps = featuremap[torch.arange(z.shape[0], device=device), chosen]  # [n, h, w]
        pictures.append(_overlay(images, maps, level[start : start + z.shape[0]]))
    return _resize(torch.cat(pictures), display_size)


def _overlay(images: Tensor, maps: Tensor, thresholds: Tensor) -> Tensor:
    """``uint8 [n, 3, H, W]``: images bright where ``maps [n, h, w]`` (upsampled) > thresholds."""
    maps = F.interpolate(
        maps[:, None].float(), size=images.shape[-2:], mode="bilinear", align_corners=False
    )  # [n, 1, H, W]
    region = maps > thresholds.to(maps.device).view(-1, 1, 1, 1)
    shown = (images + 1) / 2 * torch.where(region, 1.0, DIMMED)  # [n, 3, H, W] in [0, 1]
    return (shown * 255).round().to(torch.uint8).cpu()


def _resize(pictures: Tensor, display_size: int | None) -> Tensor:
    if display_size is None or display_size == pictures.shape[-1]:
        return pictures
    return F.interpolate(pictures, size=(display_size, display_size), mode="nearest")


def top_sample_overlays(
    generator: nn.Module,
    dissection: LayerDissection,
    latents_probe: Tensor,
    units: Sequence[int],
    count: int = 4,
    *,
    display_size: int | None = None,
    batch_size: int = 32,
) -> dict[int, Tensor]:
    """Each listed unit's ``count`` top-activating probe samples, with its region highlighted.

    Args:
        generator: The dissected generator.
        dissection: Its :class:`~ganlens.dissect.result.LayerDissection` (top samples and
            thresholds).
        latents_probe: The probe latents the dissection ran on.
        units: Units to draw.
        count: Pictures per unit (fewer when the unit has fewer top samples).
        display_size: Side of the pictures; default the image size.
        batch_size: Samples per forward pass.

    Returns:
        Unit index to ``uint8 [n, 3, D, D]`` pictures, best sample first.

    Example:
        >>> from ganlens.dissect import dissect
        >>> from ganlens.dissect.planted import PlantedSceneGenerator, SceneLabelSegmenter
        >>> g = PlantedSceneGenerator(["sky", "grass"], resolution=16)
        >>> z = torch.arange(8.0).view(-1, 1)
        >>> result = dissect(g, "layer1", SceneLabelSegmenter(range(8), resolution=16), z)
        >>> top_sample_overlays(g, result["layer1"], z, [1], count=3)[1].shape
        torch.Size([3, 3, 16, 16])
    """
    records = {record.unit: record for record in dissection.units}
    pairs = [(sample, unit) for unit in units for sample in records[unit].top_samples[:count]]
    result = {unit: torch.zeros(0, 3, 1, 1, dtype=torch.uint8) for unit in units}
    if not pairs:
        return result
    # Render each distinct sample once for all the units that show it.
    samples = sorted({sample for sample, _ in pairs})
    device = module_device(generator)
    drawn: dict[tuple[int, int], Tensor] = {}
    for start in range(0, len(samples), batch_size):
        chunk = samples[start : start + batch_size]
        position = {sample: i for i, sample in enumerate(chunk)}
        with torch.no_grad(), trace(generator, dissection.layer) as features:
            images = generator(latents_probe[torch.tensor(chunk)].to(device)).clamp(-1.0, 1.0)
        featuremap = features[dissection.layer]  # [n, U, h, w]
        here = [(s, u) for s, u in pairs if s in position]
        rows = torch.tensor([position[s] for s, _ in here], device=device)
        columns = torch.tensor([u for _, u in here], device=device)
        levels = torch.tensor([records[u].threshold for _, u in here])
        pictures = _overlay(images.float()[rows], featuremap[rows, columns], levels)
        drawn.update(zip(here, _resize(pictures, display_size), strict=True))
    for unit in units:
        shown = [drawn[(sample, unit)] for sample in records[unit].top_samples[:count]]
        if shown:
            result[unit] = torch.stack(shown)
    return result
