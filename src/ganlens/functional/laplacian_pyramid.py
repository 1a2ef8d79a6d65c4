"""Laplacian pyramid with the 5x5 binomial kernel and mirror padding, as used by SWD.

Karras et al., "Progressive Growing of GANs for Improved Quality, Stability, and Variation"
(ICLR 2018, arXiv:1710.10196), appendix D. The kernel is
``outer([1, 4, 6, 4, 1], [1, 4, 6, 4, 1]) / 256`` and padding mirrors without repeating the edge
(``torch`` "reflect", ``scipy.ndimage`` "mirror"). ``pyramid_down`` blurs and keeps every second
pixel; ``pyramid_up`` inserts zeros and blurs with 4x the kernel; level ``i`` of the pyramid is
``G_i - pyramid_up(G_{i+1})`` and the last level is the low-pass residual ``G`` at 16x16.
"""

from __future__ import annotations

import itertools

import torch
import torch.nn.functional as F
from torch import Tensor

MIN_RESOLUTION = 16
_BINOMIAL = (1.0, 4.0, 6.0, 4.0, 1.0)  # outer(_BINOMIAL, _BINOMIAL) / 256 is the 5x5 kernel


def level_resolutions(image_size: int) -> tuple[int, ...]:
    """Side lengths of the pyramid levels for square images of side ``image_size``.

    Args:
        image_size: image height and width; a power of two, at least 16.

    Returns:
        The resolutions from ``image_size`` down to 16, halving each step.

    Raises:
        ValueError: if ``image_size`` is not a power of two >= 16.

    Example:
        >>> level_resolutions(64)
        (64, 32, 16)
    """
    if image_size < MIN_RESOLUTION or image_size & (image_size - 1) != 0:
        raise ValueError(f"image_size must be a power of two >= {MIN_RESOLUTION}, got {image_size}")
    num_levels = image_size.bit_length() - MIN_RESOLUTION.bit_length() + 1
    return tuple(image_size >> level for level in range(num_levels))


def _check_images(images: Tensor, min_size: int) -> None:
    """Raise ``ValueError`` unless ``images`` is a float ``[N, C, H, W]`` with H, W >= min_size."""
    if images.ndim != 4 or min(images.shape[-2:]) < min_size or not images.is_floating_point():
        raise ValueError(
            f"images must be a floating point [N, C, H, W] tensor with H, W >= {min_size}, "
            f"got {images.dtype} of shape {list(images.shape)}"
        )


def pyramid_down(images: Tensor) -> Tensor:
    """Blur with the mirror-padded 5x5 binomial kernel and keep every second pixel.

    Separable: five shifted, strided slices per axis (faster than a 1-channel conv2d on CPU).

    Args:
        images: ``[N, C, H, W]`` float, ``H, W >= 3``.

    Returns:
        ``[N, C, ceil(H / 2), ceil(W / 2)]``, same dtype and device.

    Raises:
        ValueError: if ``images`` is not a float 4-D tensor with ``H, W >= 3``.

    Example:
        >>> smaller = pyramid_down(torch.ones(1, 3, 8, 8))
        >>> smaller.shape, bool((smaller == 1).all())
        (torch.Size([1, 3, 4, 4]), True)
    """
    _check_images(images, 3)
    blurred = F.pad(images, (2, 2, 2, 2), mode="reflect")  # [N, C, H + 4, W + 4]
    for dim in (2, 3):
        size = (blurred.shape[dim] - len(_BINOMIAL)) // 2 + 1
        total = torch.zeros_like(blurred.narrow(dim, 0, size))
        for offset, tap in enumerate(_BINOMIAL):
            index = [slice(None)] * 4
            index[dim] = slice(offset, offset + 2 * size - 1, 2)
            total.add_(blurred[tuple(index)], alpha=tap / 16.0)
        blurred = total
    return blurred  # [N, C, H / 2, W / 2]


def pyramid_up(images: Tensor) -> Tensor:
    """Insert zeros, mirror-pad and blur with 4x the 5x5 binomial kernel.

    Computed polyphase per axis: even outputs are ``(x[i-1] + 6 x[i] + x[i+1]) / 8``, odd ones
    ``(x[i] + x[i+1]) / 2``. Mirroring the zero-inserted signal makes ``x[-1] = x[1]`` and
    ``x[H] = x[H-1]``, which is what the padding below does.

    Args:
        images: ``[N, C, H, W]`` float, ``H, W >= 2``.

    Returns:
        ``[N, C, 2H, 2W]``, same dtype and device.

    Raises:
        ValueError: if ``images`` is not a float 4-D tensor with ``H, W >= 2``.

    Example:
        >>> pyramid_up(torch.arange(4.0).view(1, 1, 1, 4).expand(1, 1, 2, 4))[0, 0, 0]
        tensor([0.2500, 0.5000, 1.0000, 1.5000, 2.0000, 2.5000, 2.8750, 3.0000])
    """
    _check_images(images, 2)
    upsampled = images
    for dim in (2, 3):
        size = upsampled.shape[dim]
        first, last = upsampled.narrow(dim, 1, 1), upsampled.narrow(dim, size - 1, 1)
        padded = torch.cat([first, upsampled, last], dim)  # size + 2 along dim
        before, centre, after = (padded.narrow(dim, offset, size) for offset in range(3))
        even = (before + after).add_(centre, alpha=6.0).mul_(1.0 / 8.0)
        odd = (centre + after).mul_(0.5)
        upsampled = torch.stack([even, odd], dim + 1).flatten(dim, dim + 1)  # 2 * size along dim
    return upsampled  # [N, C, 2H, 2W]


def laplacian_pyramid(images: Tensor) -> list[Tensor]:
    """Laplacian pyramid from the image resolution down to 16x16.

    Args:
        images: ``[N, C, S, S]`` float, ``S`` a power of two >= 16.

    Returns:
        ``L = log2(S) - 3`` tensors ``[N, C, S / 2^l, S / 2^l]``, highest resolution first: the
        band-pass levels ``G_l - pyramid_up(G_{l+1})``, then the low-pass residual ``G`` at 16x16.
        Summing ``pyramid_up`` of the coarser reconstruction with each band restores ``images``.

    Raises:
        ValueError: if ``images`` is not float ``[N, C, S, S]`` with ``S`` a power of two >= 16.

    Example:
        >>> levels = laplacian_pyramid(torch.rand(2, 3, 64, 64))
        >>> [level.shape[-1] for level in levels]
        [64, 32, 16]
    """
    _check_images(images, MIN_RESOLUTION)
    if images.shape[-2] != images.shape[-1]:
        raise ValueError(f"images must be square [N, C, S, S], got {list(images.shape)}")
    gaussians = [images]
    for _ in level_resolutions(images.shape[-1])[1:]:
        gaussians.append(pyramid_down(gaussians[-1]))
    bands = [fine - pyramid_up(coarse) for fine, coarse in itertools.pairwise(gaussians)]
    return [*bands, gaussians[-1]]
