"""Images and segmentations as PNG data URLs for the page.

Generated images ``[3, H, W]`` in [-1, 1] become 8-bit RGB by ``round((x + 1) * 127.5)``;
segmentations become RGBA pictures with one fixed colour per concept (transparent where the
segmenter sees nothing), so the page can lay them over the image.
"""

from __future__ import annotations

import base64
import colorsys
import io

import numpy as np
import torch
from PIL import Image
from torch import Tensor

__all__ = ["concept_colors", "data_url", "label_png", "to_uint8"]


def to_uint8(images: Tensor) -> Tensor:
    """uint8 ``[N, H, W, 3]`` pixels of float ``[N, 3, H, W]`` images in [-1, 1].

    Example:
        >>> to_uint8(torch.tensor([-1.0, 0.0, 1.0]).view(1, 3, 1, 1)).flatten().tolist()
        [0, 128, 255]
    """
    pixels = ((images.clamp(-1.0, 1.0) + 1.0) * 127.5).round()
    return pixels.to(torch.uint8).permute(0, 2, 3, 1).contiguous()


def data_url(pixels: Tensor) -> str:
    """A ``data:image/png;base64,`` URL of uint8 ``[H, W, 3]`` or ``[H, W, 4]`` pixels.

    Example:
        >>> data_url(torch.zeros(1, 1, 3, dtype=torch.uint8))[:22]
        'data:image/png;base64,'
    """
    buffer = io.BytesIO()
    Image.fromarray(pixels.cpu().numpy()).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def concept_colors(count: int) -> list[tuple[int, int, int]]:
    """``count`` distinct RGB colours, one per vocabulary index (index 0 is black).

    Example:
        >>> concept_colors(3)[0], len(set(concept_colors(18)))
        ((0, 0, 0), 18)
    """
    colors = [(0, 0, 0)]
    for index in range(1, count):
        hue = (index * 0.618033988749895) % 1.0
        red, green, blue = colorsys.hsv_to_rgb(hue, 0.65, 0.95)
        colors.append((round(red * 255), round(green * 255), round(blue * 255)))
    return colors


def label_png(labels: Tensor, colors: list[tuple[int, int, int]], opacity: int = 140) -> str:
    """A data URL of an int ``[H, W]`` label map coloured by ``colors``, label 0 transparent.

    Example:
        >>> label_png(torch.tensor([[0, 1]]), concept_colors(2))[:22]
        'data:image/png;base64,'
    """
    palette = np.asarray(colors, dtype=np.uint8)
    array = labels.cpu().numpy().clip(0, len(colors) - 1)
    rgba = np.concatenate(
        [palette[array], np.where(array > 0, opacity, 0).astype(np.uint8)[..., None]], axis=-1
    )
    return data_url(torch.from_numpy(rgba))
