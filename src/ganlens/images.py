"""The one image convention of ganlens: [-1, 1] floats <-> 8-bit pixels, and the concept palette.

Generators, segmenters and the scene world exchange images as float ``[N, 3, H, W]`` tensors in
[-1, 1] (the tanh output range of the progressive GAN, Karras et al. 2018, that GAN Dissection,
Bau et al., ICLR 2019, dissects). Everything that stores, shows or compresses them uses 8-bit
pixels; the two conversions below are the only ones in the package, so an image survives
``to_uint8(from_uint8(p)) == p`` exactly wherever it travels:

* :func:`to_uint8`: ``p = round((clamp(x, -1, 1) + 1) * 127.5)`` (round half to even);
* :func:`from_uint8`: ``x = p / 127.5 - 1``.

:func:`concept_colors` is the one palette of concept labels (scene grids, lineage heatmaps,
context pictures and the paint page), so a concept has the same colour in every picture.
"""

from __future__ import annotations

import colorsys

import torch
from torch import Tensor

__all__ = ["concept_colors", "from_uint8", "to_uint8"]


def to_uint8(images: Tensor) -> Tensor:
    """8-bit pixels ``round((clamp(x, -1, 1) + 1) * 127.5)`` of images in [-1, 1].

    The arithmetic is done in float32 (a no-op for float32 images); values outside [-1, 1] are
    clamped first, so they saturate at 0 and 255. uint8 input is returned unchanged.

    Args:
        images: Images of any shape (typically float ``[N, 3, H, W]``) in [-1, 1].

    Returns:
        uint8 tensor of the same shape, on the same device.

    Example:
        >>> to_uint8(torch.tensor([-2.0, -1.0, 0.0, 0.5, 1.0])).tolist()
        [0, 0, 128, 191, 255]
        >>> to_uint8(torch.tensor([7], dtype=torch.uint8)).tolist()
        [7]
    """
    if images.dtype == torch.uint8:
        return images
    pixels = images.float().clamp(-1.0, 1.0)  # a new tensor: the in-place steps leave images alone
    return pixels.add_(1.0).mul_(127.5).round_().to(torch.uint8)


def from_uint8(pixels: Tensor) -> Tensor:
    """Float32 images ``p / 127.5 - 1`` in [-1, 1] of 8-bit pixels (the inverse of to_uint8).

    Args:
        pixels: uint8 tensor of any shape (typically ``[N, 3, H, W]`` or ``[3, H, W]``).

    Returns:
        float32 tensor of the same shape, on the same device.

    Raises:
        ValueError: If ``pixels`` is not uint8.

    Example:
        >>> from_uint8(torch.tensor([0, 128, 255], dtype=torch.uint8)).tolist()
        [-1.0, 0.003921627998352051, 1.0]
        >>> p = torch.arange(256, dtype=torch.uint8)
        >>> torch.equal(to_uint8(from_uint8(p)), p)
        True
    """
    if pixels.dtype != torch.uint8:
        raise ValueError(f"pixels must be uint8; got {pixels.dtype}")
    return pixels.float().div_(127.5).sub_(1.0)


def concept_colors(count: int) -> list[tuple[int, int, int]]:
    """The RGB colour of each concept index ``0 .. count - 1`` (index 0, "no concept", is grey).

    Index i > 0 has hue ``frac(i * 0.618...)`` (golden-ratio steps, so neighbouring indices get
    far-apart hues), saturation 0.75 and value 0.95 for odd, 0.75 for even i. A colour depends
    only on its index, never on ``count``.

    Args:
        count: Number of concept indices (the vocabulary size), >= 0.

    Returns:
        ``count`` ``(red, green, blue)`` triples of ints in [0, 255].

    Example:
        >>> concept_colors(3)
        [(128, 128, 128), (61, 114, 242), (132, 191, 48)]
        >>> len(set(concept_colors(20))), concept_colors(40)[:3] == concept_colors(3)
        (20, True)
    """
    colors = [(128, 128, 128)]
    for i in range(1, count):
        hue = (i * 0.618033988749895) % 1.0
        value = 0.95 if i % 2 else 0.75
        r, g, b = colorsys.hsv_to_rgb(hue, 0.75, value)
        colors.append((round(r * 255), round(g * 255), round(b * 255)))
    return colors[:count]
