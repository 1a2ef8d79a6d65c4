"""Images and segmentations as PNG data URLs for the page.

Generated images ``[3, H, W]`` in [-1, 1] become 8-bit RGB by :func:`ganlens.images.to_uint8`;
segmentations become RGBA pictures with each concept's colour of the package's one palette
(:func:`ganlens.images.concept_colors`; transparent where the segmenter sees nothing), so the
page can lay them over the image.
"""

from __future__ import annotations

import base64
import io

import numpy as np
import torch
from PIL import Image
from torch import Tensor

from ganlens.images import to_uint8 as _to_uint8

__all__ = ["data_url", "label_png", "to_uint8"]


def to_uint8(images: Tensor) -> Tensor:
    """uint8 ``[N, H, W, 3]`` pixels (channels last, for PIL) of float ``[N, 3, H, W]`` images.

    Args:
        images: float ``[N, 3, H, W]`` in [-1, 1].

    Returns:
        uint8 ``[N, H, W, 3]``, :func:`ganlens.images.to_uint8` of ``images``.

    Example:
        >>> to_uint8(torch.tensor([-1.0, 0.0, 1.0]).view(1, 3, 1, 1)).flatten().tolist()
        [0, 128, 255]
    """
    return _to_uint8(images).permute(0, 2, 3, 1).contiguous()


def data_url(pixels: Tensor) -> str:
    """A ``data:image/png;base64,`` URL of uint8 ``[H, W, 3]`` or ``[H, W, 4]`` pixels.

    Example:
        >>> data_url(torch.zeros(1, 1, 3, dtype=torch.uint8))[:22]
        'data:image/png;base64,'
    """
    buffer = io.BytesIO()
    Image.fromarray(pixels.cpu().numpy()).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def label_png(labels: Tensor, colors: list[tuple[int, int, int]], opacity: int = 140) -> str:
    """A data URL of an int ``[H, W]`` label map coloured by ``colors``, label 0 transparent.

    Args:
        labels: int ``[H, W]`` concept indices.
        colors: RGB colour per index (:func:`ganlens.images.concept_colors`).
        opacity: Alpha of labelled pixels, 0 to 255.

    Returns:
        A ``data:image/png;base64,`` URL of the RGBA ``[H, W, 4]`` picture.

    Example:
        >>> from ganlens.images import concept_colors
        >>> label_png(torch.tensor([[0, 1]]), concept_colors(2))[:22]
        'data:image/png;base64,'
    """
    palette = np.asarray(colors, dtype=np.uint8)
    array = labels.cpu().numpy().clip(0, len(colors) - 1)
    rgba = np.concatenate(
        [palette[array], np.where(array > 0, opacity, 0).astype(np.uint8)[..., None]], axis=-1
    )
    return data_url(torch.from_numpy(rgba))
