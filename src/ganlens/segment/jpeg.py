"""JPEG-like compression in PyTorch: 8x8 block DCT quantisation on any device.

Follows the baseline JPEG pipeline (ITU-T T.81, Wallace 1992, "The JPEG still picture compression
standard"): RGB to YCbCr (JFIF), level shift, 8x8 orthonormal DCT-II per block, division by the
Annex K luminance/chrominance tables scaled to a quality in the IJG way, rounding, and the
inverse. Chroma is not subsampled and nothing is entropy coded (that step is lossless), so the
artefacts are the blocking and ringing of real JPEG at the same quality.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["jpeg_like"]

_LUMA = (
    (16, 11, 10, 16, 24, 40, 51, 61),
    (12, 12, 14, 19, 26, 58, 60, 55),
    (14, 13, 16, 24, 40, 57, 69, 56),
    (14, 17, 22, 29, 51, 87, 80, 62),
    (18, 22, 37, 56, 68, 109, 103, 77),
    (24, 35, 55, 64, 81, 104, 113, 92),
    (49, 64, 78, 87, 103, 121, 120, 101),
    (72, 92, 95, 98, 112, 100, 103, 99),
)
_CHROMA_ROWS = ((17, 18, 24, 47), (18, 21, 26, 66), (24, 26, 56), (47, 66))

_RGB_TO_YCBCR = (
    (0.299, 0.587, 0.114),
    (-0.168736, -0.331264, 0.5),
    (0.5, -0.418688, -0.081312),
)


def _chroma_table() -> list[list[int]]:
    """Annex K.2: the listed top-left entries, 99 elsewhere."""
    table = [[99] * 8 for _ in range(8)]
    for i, row in enumerate(_CHROMA_ROWS):
        table[i][: len(row)] = list(row)
    return table


def _dct_matrix(device: torch.device, dtype: torch.dtype) -> Tensor:
    """Orthonormal 8x8 DCT-II matrix ``D`` (``D @ block @ D.T`` transforms a block)."""
    k = torch.arange(8, dtype=torch.float64)[:, None]
    i = torch.arange(8, dtype=torch.float64)[None, :]
    d = torch.cos((2 * i + 1) * k * math.pi / 16) * math.sqrt(2 / 8)
    d[0] /= math.sqrt(2)
    return d.to(device=device, dtype=dtype)  # [8, 8]


def _tables(quality: Tensor) -> Tensor:
    """Quantisation tables ``[N, 3, 1, 1, 8, 8]`` for per-image qualities ``[N]`` (IJG scaling)."""
    q = quality.clamp(1, 100)
    scale = torch.where(q < 50, 5000 / q, 200 - 2 * q)  # [N], percent
    base = torch.tensor(
        [_LUMA, _chroma_table(), _chroma_table()], device=q.device, dtype=q.dtype
    )  # [3, 8, 8]
    tables = torch.floor((base[None] * scale[:, None, None, None] + 50) / 100)  # [N, 3, 8, 8]
    return tables.clamp(1, 255)[:, :, None, None]


def jpeg_like(images: Tensor, quality: float | Tensor) -> Tensor:
    """Compress and decompress images with baseline-JPEG quantisation at ``quality``.

    Args:
        images: ``[N, 3, H, W]`` images in [-1, 1] (any size; padded to whole 8x8 blocks by edge
            replication and cropped back).
        quality: JPEG quality 1 (worst) to 100, a float or ``[N]`` per image.

    Returns:
        ``[N, 3, H, W]`` images in [-1, 1] on the input device.

    Example:
        >>> x = torch.rand(2, 3, 16, 16) * 2 - 1
        >>> high = (jpeg_like(x, 95) - x).abs().mean().item()
        >>> low = (jpeg_like(x, 10) - x).abs().mean().item()
        >>> high < low
        True
    """
    n, _, h, w = images.shape
    dtype, device = images.dtype, images.device
    qualities = torch.as_tensor(quality, dtype=dtype, device=device)
    qualities = qualities.expand(n) if qualities.ndim == 0 else qualities
    to_ycc = torch.tensor(_RGB_TO_YCBCR, dtype=dtype, device=device)  # [3, 3]
    pad_h, pad_w = -h % 8, -w % 8
    x = (images + 1.0) * 127.5  # [N, 3, H, W] in [0, 255]
    x = F.pad(x, (0, pad_w, 0, pad_h), mode="replicate")
    ycc = torch.einsum("oc,nchw->nohw", to_ycc, x)
    ycc[:, 0] -= 128.0  # level shift; chroma is already centred on 0
    hb, wb = ycc.shape[2] // 8, ycc.shape[3] // 8
    blocks = ycc.reshape(n, 3, hb, 8, wb, 8).permute(0, 1, 2, 4, 3, 5)  # [N, 3, hb, wb, 8, 8]
    d = _dct_matrix(device, dtype)
    coefficients = d @ blocks @ d.T
    table = _tables(qualities)  # [N, 3, 1, 1, 8, 8]
    restored = d.T @ (torch.round(coefficients / table) * table) @ d
    ycc = restored.permute(0, 1, 2, 4, 3, 5).reshape(n, 3, hb * 8, wb * 8)
    ycc[:, 0] += 128.0
    rgb = torch.einsum("oc,nchw->nohw", torch.linalg.inv(to_ycc), ycc)  # [N, 3, H + ph, W + pw]
    return (rgb[..., :h, :w].clamp(0.0, 255.0) / 127.5 - 1.0).contiguous()
