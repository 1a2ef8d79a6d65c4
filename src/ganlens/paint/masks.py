"""Stroke masks: decode a PNG or a packed bit raster, and pool it to a layer's grid.

A stroke arrives at any resolution (the page sends its canvas); GANPaint edits the featuremap
cell by cell, so the mask is pooled to the layer grid ``(h, w)`` by ``max`` (a cell is painted
when any of its pixels is) or ``mean`` (the painted fraction of the cell, a soft mask).
"""

from __future__ import annotations

import base64
import binascii
import io
import warnings

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import Tensor

__all__ = ["MAX_MASK_SIDE", "POOLS", "decode_bits", "decode_png", "pool_mask"]

MAX_MASK_SIDE = 1024
"""Largest mask width or height accepted, in pixels."""

POOLS = ("max", "mean")
"""How a mask is pooled to the layer grid."""


def _b64(data: str, what: str) -> bytes:
    if data.startswith("data:"):
        header, _, data = data.partition(",")
        if not header.endswith(";base64"):
            raise ValueError(
                f"{what} must be base64 (a data URL ending ';base64,'); got {header!r}"
            )
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError) as error:
        raise ValueError(f"{what} is not valid base64: {error}") from error


def decode_png(data: str) -> Tensor:
    """A float32 ``[H, W]`` mask in [0, 1] from a base64 PNG (or a ``data:image/png`` URL).

    The alpha channel is the mask when the image has one, otherwise its grey level.

    Raises:
        ValueError: If it is not base64, not a PNG, or larger than 1024 x 1024.

    Example:
        >>> image = Image.new("L", (4, 2)); image.putpixel((1, 0), 255)
        >>> buffer = io.BytesIO(); image.save(buffer, format="PNG")
        >>> decode_png(base64.b64encode(buffer.getvalue()).decode()).tolist()
        [[0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]]
    """
    raw = _b64(data, "png")
    if not raw.startswith(b"\x89PNG\r\n\x1a\n"):
        raise ValueError("png is not a PNG image (bad signature)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(raw))
            width, height = image.size
            if width > MAX_MASK_SIDE or height > MAX_MASK_SIDE:
                raise ValueError(
                    f"png is {width} x {height}; at most {MAX_MASK_SIDE} x {MAX_MASK_SIDE} allowed"
                )
            image.load()
    except ValueError:
        raise
    except Exception as error:  # PIL raises many types for corrupt files
        raise ValueError(f"png cannot be decoded: {error}") from error
    bands = image.getbands()
    plane = image.getchannel("A") if "A" in bands else image.convert("L")
    array = np.asarray(plane, dtype=np.float32) / 255.0
    return torch.from_numpy(array.copy())


def decode_bits(data: str, width: int, height: int) -> Tensor:
    """A bool ``[height, width]`` mask from base64 bits, row-major, most significant bit first.

    Raises:
        ValueError: If a side is outside 1..1024, the data is not base64 or its length is not
            ``ceil(width * height / 8)`` bytes.

    Example:
        >>> decode_bits(base64.b64encode(bytes([0b10010000])).decode(), 2, 2).tolist()
        [[True, False], [False, True]]
    """
    for name, side in (("width", width), ("height", height)):
        if not 1 <= side <= MAX_MASK_SIDE:
            raise ValueError(f"{name} must lie in 1..{MAX_MASK_SIDE}; got {side}")
    raw = _b64(data, "bits")
    expected = (width * height + 7) // 8
    if len(raw) != expected:
        raise ValueError(f"bits has {len(raw)} bytes; a {width} x {height} raster needs {expected}")
    bits = np.unpackbits(np.frombuffer(raw, dtype=np.uint8))[: width * height]
    return torch.from_numpy(bits.reshape(height, width).astype(bool))


def pool_mask(mask: Tensor, grid: tuple[int, int], pool: str = "max") -> Tensor:
    """Pool an ``[H, W]`` mask (bool or float in [0, 1]) to the float32 ``[h, w]`` layer grid.

    Each grid cell covers the pixels ``adaptive_*_pool2d`` assigns to it; a mask smaller than
    the grid is repeated.

    Raises:
        ValueError: If ``pool`` is not "max" or "mean", or the mask is not 2-D.

    Example:
        >>> mask = torch.zeros(4, 4); mask[0, 0] = 1.0
        >>> pool_mask(mask, (2, 2)).tolist(), pool_mask(mask, (2, 2), "mean").tolist()
        ([[1.0, 0.0], [0.0, 0.0]], [[0.25, 0.0], [0.0, 0.0]])
    """
    if pool not in POOLS:
        raise ValueError(f"pool must be one of {POOLS}; got {pool!r}")
    if mask.ndim != 2:
        raise ValueError(f"mask must be [H, W]; got shape {tuple(mask.shape)}")
    grid_input = mask.float()[None, None]
    pooled = (
        F.adaptive_max_pool2d(grid_input, grid)
        if pool == "max"
        else F.adaptive_avg_pool2d(grid_input, grid)
    )
    return pooled[0, 0].clamp(0.0, 1.0)
