"""JPEG compression as an augmentation: a real libjpeg round trip through torchvision.

GAN images and images saved as JPEG both carry blocking and ringing; the scene segmenter is
trained to ignore them. :func:`jpeg_compress` encodes and decodes each image with
``torchvision.transforms.v2.functional.jpeg`` (libjpeg, the baseline pipeline of ITU-T T.81 with
its default 4:2:0 chroma subsampling) at its own quality. It is not differentiable; it runs on
the CPU (images on another device go there and back).
"""

from __future__ import annotations

import torch
from torch import Tensor
from torchvision.transforms.v2 import functional as tvf

from ganlens.images import from_uint8, to_uint8

__all__ = ["jpeg_compress"]


def jpeg_compress(images: Tensor, quality: float | Tensor) -> Tensor:
    """Round-trip float images in [-1, 1] through JPEG at the given quality.

    Args:
        images: float ``[N, 3, H, W]`` in [-1, 1].
        quality: One quality for all images, or ``[N]`` per image, in [1, 100] (rounded).

    Returns:
        float ``[N, 3, H, W]`` in [-1, 1], on the images' device and dtype.

    Raises:
        ValueError: If the shapes or qualities are invalid.

    Example:
        >>> x = torch.rand(2, 3, 16, 16) * 2 - 1
        >>> out = jpeg_compress(x, torch.tensor([10.0, 95.0]))
        >>> out.shape, bool((out - x).abs().mean() > 0)
        (torch.Size([2, 3, 16, 16]), True)
    """
    if images.ndim != 4 or images.shape[1] != 3:
        raise ValueError(f"images must be [N, 3, H, W]; got {list(images.shape)}")
    qualities = torch.as_tensor(quality, dtype=torch.float32).round().int().expand(len(images))
    if qualities.numel() and not (int(qualities.min()) >= 1 and int(qualities.max()) <= 100):
        raise ValueError(f"quality must lie in [1, 100]; got {qualities.tolist()}")
    pixels = to_uint8(images.detach().float().cpu())  # [N, 3, H, W]
    decoded = [tvf.jpeg(pixel, int(q)) for pixel, q in zip(pixels, qualities, strict=True)]
    out = from_uint8(torch.stack(decoded)) if decoded else images.detach().float().cpu()
    return out.to(device=images.device, dtype=images.dtype)
