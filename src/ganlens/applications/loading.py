"""Where the applications get generators, segmenters, dissections, features and real images.

Every object the applications take from other ganlens subpackages that are being moved (sources,
the dissection runner, the scene segmenter's feature network) is imported here and only here, so
that a move re-points one module. Heavy imports happen inside the functions.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

__all__ = [
    "generator_latent_size",
    "load_generator",
    "load_segmenter",
    "read_dissection",
    "real_scene_images",
    "segmenter_features",
]


def load_generator(source: str, device: str | torch.device = "cpu") -> nn.Module:
    """A generator named by ``source`` ("scene", a .ckpt, a .pth or "package.module:factory").

    Args:
        source: The generator's name.
        device: Where to put it.

    Returns:
        The generator in eval mode.

    Example:
        >>> load_generator("scene").resolution
        32
    """
    from ganlens.sources import load_generator as load

    return load(source, device)


def load_segmenter(source: str, device: str | torch.device = "cpu") -> Any:
    """A segmenter named by ``source`` ("scene", "segformer:PATH" or "package.module:factory").

    Args:
        source: The segmenter's name.
        device: Where it computes.

    Returns:
        The segmenter.

    Example:
        >>> load_segmenter("scene").layer_names
        ('object', 'part', 'material')
    """
    from ganlens.sources import load_segmenter as load

    return load(source, device)


def generator_latent_size(generator: nn.Module) -> int:
    """The generator's ``latent_size`` attribute.

    Args:
        generator: The generator.

    Returns:
        Its latent size D (latents are ``[N, D]``).

    Raises:
        ValueError: If it has none (or it is not a positive integer).

    Example:
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


def real_scene_images(count: int, resolution: int, seed: int = 0, start: int = 0) -> Tensor:
    """Scenes ``start .. start + count - 1`` of scene world ``seed``, float ``[N, 3, R, R]``.

    Args:
        count: N.
        resolution: Side R.
        seed: Scene-world seed.
        start: First scene index.

    Returns:
        float ``[N, 3, R, R]`` images in [-1, 1].

    Example:
        >>> real_scene_images(2, 32).shape
        torch.Size([2, 3, 32, 32])
    """
    from ganlens.data import SceneWorld

    if count < 1:
        raise ValueError(f"count must be >= 1; got {count}")
    images, _ = SceneWorld(resolution=resolution, seed=seed).batch(range(start, start + count))
    return images


def read_dissection(path: str | Path) -> Any:
    """The :class:`~ganlens.dissect.DissectionResult` of a ``dissect.json`` (or its folder).

    Args:
        path: A ``dissect.json`` file, or a folder holding one.

    Returns:
        The dissection, read through the one record format.

    Raises:
        FileNotFoundError: If there is no such file.
        ValueError: If it is not a ganlens ``dissect.json``.

    Example:
        >>> read_dissection("/nonexistent")
        Traceback (most recent call last):
        ...
        FileNotFoundError: no dissect.json at /nonexistent/dissect.json ...
    """
    from ganlens.dissect.record import read_dissection as read

    return read(path)
