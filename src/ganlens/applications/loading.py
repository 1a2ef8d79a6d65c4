"""What the applications measure against: real scene images, segmenter features, latent sizes.

Generators and segmenters come from :mod:`ganlens.sources` and dissections from
:mod:`ganlens.dissect.record`, like everywhere else; heavy imports happen inside the functions.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

__all__ = [
    "generator_latent_size",
    "real_scene_images",
    "segmenter_features",
]


def generator_latent_size(generator: nn.Module) -> int:
    """The generator's ``latent_size`` attribute.

    Args:
        generator: The generator.

    Returns:
        Its latent size D (latents are ``[N, D]``).

    Raises:
        ValueError: If it has none (or it is not a positive integer).

    Example:
        >>> from ganlens.sources import load_generator
        >>> generator_latent_size(load_generator("scene"))
        128
    """
    size = getattr(generator, "latent_size", None)
    if not isinstance(size, int) or size < 1:
        raise ValueError(
            f"generator {type(generator).__name__} needs a positive integer attribute "
            f"latent_size; got {size!r}"
        )
    return size


def segmenter_features(device: str | torch.device = "cpu") -> nn.Module:
    """The Fréchet segmenter distance's feature network (shipped scene segmenter, 208 features).

    Args:
        device: Where the network runs.

    Returns:
        A module mapping ``[N, 3, H, W]`` images in [-1, 1] to ``[N, 208]`` features.

    Example:
        >>> segmenter_features()(torch.zeros(2, 3, 32, 32)).shape
        torch.Size([2, 208])
    """
    from ganlens.segment.features import SegmenterFeatures

    return SegmenterFeatures().to(device)


def real_scene_images(
    count: int, resolution: int, seed: int = 0, start: int = 0, framing: str = "default"
) -> Tensor:
    """Scenes ``start .. start + count - 1`` of scene world ``seed``, float ``[N, 3, R, R]``.

    Args:
        count: N.
        resolution: Side R.
        seed: Scene-world seed.
        start: First scene index.
        framing: ``"default"`` or ``"church"`` (the generator's training framing:
            :func:`ganlens.sources.scene_framing`).

    Returns:
        float ``[N, 3, R, R]`` images in [-1, 1].

    Example:
        >>> real_scene_images(2, 32).shape
        torch.Size([2, 3, 32, 32])
    """
    from ganlens.data import SceneWorld

    if count < 1:
        raise ValueError(f"count must be >= 1; got {count}")
    world = SceneWorld(resolution=resolution, seed=seed, framing=framing)
    images, _ = world.batch(range(start, start + count))
    return images
