"""Bilinear upsampling written as two separable passes, evaluable at any chosen output pixels.

GAN Dissection (Bau et al., ICLR 2019, arXiv:1811.10597, section 3.1) compares each unit's
featuremap r_u, upsampled bilinearly to the segmentation resolution S (``align_corners=False``:
output centre ``i`` maps to input coordinate ``(i + 0.5) * h / S - 0.5``, clamped to the map), with
the concept masks. The statistics need r_u^up only where it matters (above a threshold, or at
sampled pixels), so the upsampling is written as an explicit formula over the 4 neighbours::

    row(y, X) = f[y, x_lo(X)] * wx_lo(X) + f[y, x_hi(X)] * wx_hi(X)
    r(Y, X) = row(y_lo(Y), X) * wy_lo(Y) + row(y_hi(Y), X) * wy_hi(Y)

with separate float32 multiplies and adds, so :func:`bilinear_upsample` (every pixel) and
:func:`bilinear_at` (chosen pixels) give bit-identical values on every device. They agree with
``torch.nn.functional.interpolate(mode="bilinear", align_corners=False)`` and with the two matrix
products of :func:`~ganlens.functional.dissection.upsample_featuremaps` (the same weights) to
about one float32 rounding, which moves a threshold or a count only for a pixel within that
rounding of the threshold.
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

import torch
from torch import Tensor

__all__ = [
    "BilinearTaps",
    "bilinear_at",
    "bilinear_at_maps",
    "bilinear_taps",
    "bilinear_upsample",
    "sample_positions",
]


class BilinearTaps(NamedTuple):
    """The two input neighbours and weights of each output position along one axis.

    Attributes:
        low: int64 ``[S]`` lower neighbour index.
        high: int64 ``[S]`` upper neighbour index (equal to ``low`` at a clamped edge).
        weight_low: float32 ``[S]`` weight of ``low``.
        weight_high: float32 ``[S]`` weight of ``high`` (0 where ``high == low``).
    """

    low: Tensor
    high: Tensor
    weight_low: Tensor
    weight_high: Tensor


@lru_cache(maxsize=64)
def _taps_cpu(size_in: int, size_out: int) -> BilinearTaps:
    # float32 arithmetic, as PyTorch's own bilinear kernel computes its source coordinates
    scale = torch.tensor(size_in / size_out, dtype=torch.float32)
    position = (torch.arange(size_out, dtype=torch.float32) + 0.5) * scale - 0.5
    position = position.clamp(min=0.0)
    low = position.floor().long().clamp(max=size_in - 1)
    high = (low + 1).clamp(max=size_in - 1)
    fraction = (position - low.float()).clamp(0.0, 1.0)
    edge = high == low
    weight_high = torch.where(edge, 0.0, fraction)
    weight_low = torch.where(edge, 1.0, 1.0 - fraction)
    return BilinearTaps(low, high, weight_low, weight_high)


def bilinear_taps(size_in: int, size_out: int, device: torch.device | None = None) -> BilinearTaps:
    """Neighbours and weights of ``align_corners=False`` bilinear resampling along one axis.

    Args:
        size_in: Input length ``h`` (>= 1).
        size_out: Output length ``S`` (>= 1).
        device: Device of the result.

    Returns:
        :class:`BilinearTaps` of ``[S]`` tensors.

    Raises:
        ValueError: If a size is below 1.

    Example:
        >>> taps = bilinear_taps(2, 4)  # centres at input x = -0.25 (clamped), 0.25, 0.75, 1.25
        >>> taps.low.tolist(), taps.high.tolist(), taps.weight_high.tolist()
        ([0, 0, 0, 1], [1, 1, 1, 1], [0.0, 0.25, 0.75, 0.0])
    """
    if size_in < 1 or size_out < 1:
        raise ValueError(f"sizes must be >= 1; got size_in={size_in}, size_out={size_out}")
    taps = _taps_cpu(int(size_in), int(size_out))
    return BilinearTaps(*(t.to(device) for t in taps))


def bilinear_upsample(features: Tensor, size: tuple[int, int]) -> Tensor:
    """Every output pixel of the formula above.

    Args:
        features: float32 ``[N, U, h, w]``.
        size: ``(S_h, S_w)``.

    Returns:
        float32 ``[N, U, S_h, S_w]``.

    Example:
        >>> bilinear_upsample(torch.tensor([[[[0.0, 4.0]]]]), (1, 4))
        tensor([[[[0., 1., 3., 4.]]]])
    """
    h, w = features.shape[-2:]
    ys, xs = bilinear_taps(h, size[0], features.device), bilinear_taps(w, size[1], features.device)
    rows = features.index_select(3, xs.low) * xs.weight_low
    rows += features.index_select(3, xs.high) * xs.weight_high  # [N, U, h, S_w]
    out = rows.index_select(2, ys.low) * ys.weight_low.view(-1, 1)
    out += rows.index_select(2, ys.high) * ys.weight_high.view(-1, 1)
    return out


def bilinear_at(features: Tensor, y: Tensor, x: Tensor, size: tuple[int, int]) -> Tensor:
    """The formula above at chosen output pixels, bit-identical to :func:`bilinear_upsample`.

    Args:
        features: float32 ``[N, U, h, w]``.
        y: int64 ``[N, M]`` (the same pixels for every unit of an image) or ``[N, U, M]`` output
            rows in ``[0, S_h)``.
        x: int64 output columns in ``[0, S_w)``, shaped like ``y``.
        size: ``(S_h, S_w)``.

    Returns:
        float32 ``[N, U, M]`` upsampled values.

    Example:
        >>> f = torch.randn(2, 3, 4, 4)
        >>> up = bilinear_upsample(f, (16, 16))
        >>> y, x = torch.tensor([[3, 15], [0, 9]]), torch.tensor([[7, 0], [2, 2]])  # [N=2, M=2]
        >>> torch.equal(bilinear_at(f, y, x, (16, 16))[1, 2], up[1, 2, y[1], x[1]])
        True
    """
    n, units, h, w = features.shape
    ys, xs = bilinear_taps(h, size[0], features.device), bilinear_taps(w, size[1], features.device)
    shape = (n, units, y.shape[-1])
    if y.ndim == 2:
        y, x = y.unsqueeze(1), x.unsqueeze(1)  # [N, 1, M]

    def gather(row: Tensor, column: Tensor) -> Tensor:
        return features.view(n, units, h * w).gather(2, (row * w + column).expand(shape))

    low_row, high_row, x_low, x_high = ys.low[y], ys.high[y], xs.low[x], xs.high[x]
    wx_low, wx_high = xs.weight_low[x], xs.weight_high[x]
    top = gather(low_row, x_low) * wx_low + gather(low_row, x_high) * wx_high
    bottom = gather(high_row, x_low) * wx_low + gather(high_row, x_high) * wx_high
    return top * ys.weight_low[y] + bottom * ys.weight_high[y]


def bilinear_at_maps(
    features: Tensor, maps: Tensor, y: Tensor, x: Tensor, size: tuple[int, int]
) -> Tensor:
    """The formula above at pixels of chosen maps, bit-identical to :func:`bilinear_upsample`.

    Args:
        features: float32 ``[N, U, h, w]``.
        maps: int64 ``[M]`` flat map index ``n * U + u`` of each pixel.
        y: int64 ``[M]`` output rows in ``[0, S_h)``.
        x: int64 ``[M]`` output columns in ``[0, S_w)``.
        size: ``(S_h, S_w)``.

    Returns:
        float32 ``[M]`` upsampled values.

    Example:
        >>> f = torch.randn(2, 3, 4, 4)
        >>> up = bilinear_upsample(f, (16, 16)).view(6, 16, 16)
        >>> m, y, x = torch.tensor([0, 5]), torch.tensor([3, 15]), torch.tensor([7, 0])
        >>> torch.equal(bilinear_at_maps(f, m, y, x, (16, 16)), up[m, y, x])
        True
    """
    h, w = features.shape[-2:]
    ys, xs = bilinear_taps(h, size[0], features.device), bilinear_taps(w, size[1], features.device)
    flat = features.reshape(-1)
    base = maps * (h * w)
    low_row, high_row = base + ys.low[y] * w, base + ys.high[y] * w
    x_low, x_high, wx_low, wx_high = xs.low[x], xs.high[x], xs.weight_low[x], xs.weight_high[x]
    top = flat.take(low_row + x_low) * wx_low + flat.take(low_row + x_high) * wx_high
    bottom = flat.take(high_row + x_low) * wx_low + flat.take(high_row + x_high) * wx_high
    return top * ys.weight_low[y] + bottom * ys.weight_high[y]


def sample_positions(image_ids: Tensor, pixels: int, samples: int, seed: int = 0) -> Tensor:
    """Stratified random pixel positions, ``samples`` of ``pixels`` per image, all equally likely.

    The raster order ``0 .. pixels - 1`` is cut into ``samples`` equal strata (runs of
    ``pixels / samples`` pixels, i.e. pieces of image rows) and one position is drawn uniformly in
    each, so every pixel is included with probability ``samples / pixels`` and the positions
    spread evenly over the image (smooth upsampled maps are estimated better than with independent
    draws). The draws of an image depend only on ``seed`` and its id (e.g. its index in the whole
    sample set), so they do not depend on batching or on how images are split over processes.

    Args:
        image_ids: int64 ``[n]`` ids of the images.
        pixels: Pixels per image ``P = S_h * S_w``.
        samples: Positions per image ``m``, ``1 <= m <= P``.
        seed: Seed of the draws.

    Returns:
        int64 ``[n, m]`` flat positions in ``[0, P)``, ascending per image, on the CPU.

    Raises:
        ValueError: If ``samples`` is outside ``[1, pixels]``.

    Example:
        >>> positions = sample_positions(torch.tensor([0, 7]), 16, 4)
        >>> positions.shape, bool(((positions // 4) == torch.arange(4)).all())  # one per stratum
        (torch.Size([2, 4]), True)
        >>> torch.equal(sample_positions(torch.tensor([7]), 16, 4)[0], positions[1])
        True
    """
    if not 1 <= samples <= pixels:
        raise ValueError(f"samples must lie in [1, {pixels}] (pixels per image); got {samples}")
    generator = torch.Generator()
    offsets = torch.empty(len(image_ids), samples, dtype=torch.float64)
    for row, image in enumerate(image_ids.tolist()):
        generator.manual_seed((seed * 0x9E3779B1 + int(image)) % (1 << 63))
        offsets[row] = torch.rand(samples, generator=generator, dtype=torch.float64)
    strata = torch.arange(samples, dtype=torch.float64)
    positions = ((strata + offsets) * (pixels / samples)).floor().long()
    return positions.clamp_(max=pixels - 1)
