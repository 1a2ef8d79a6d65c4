"""Per-unit activation quantiles from a fixed, mergeable log-linear histogram.

GAN Dissection (Bau et al., ICLR 2019, arXiv:1811.10597, section 3.1) thresholds each unit at
t_u with P(r_u^up > t_u) = q, the top-q quantile of the unit's upsampled activations over the
probe set (the ``quantile`` policy; NetDissect uses q = 0.005, later work 0.01).
The IQR policy needs the same statistic at B top fractions at once.

**Sketch.** Every unit keeps one fixed histogram whose bins come from the float32 bit pattern, so
the bins are the same on every process, for every data range, and histograms merge by summation
(exactly, with int64 counts). A magnitude ``|x|`` in ``[2^e, 2^(e+1))`` falls into one of
``2^m`` equal-width bins of that octave (the exponent and the top ``m`` mantissa bits), for
``e_min <= e < e_max``; ``|x| < 2^e_min`` falls into one zero bin ``[-2^e_min, 2^e_min)``, and
``|x| >= 2^e_max`` into one overflow bin per sign. Negative values mirror positive ones. With the
defaults (m = 7, e in [-16, 16)) that is ``2 * 32 * 128 + 3 = 8195`` bins, 65.6 kB per unit.

**Error.** The threshold is read from the bin where the top-q count is reached, interpolating
inside it with a linear density whose slope comes from the two neighbouring bins (an overflow
bin gives its finite edge). So the threshold lies in the same bin as the exact quantile: its
relative error is below ``2^-m`` (0.8 %), or below ``2^e_min`` absolute near zero, and the
realised top fraction differs from q by at most the mass of that bin, far less where the density
is smooth across it. Measured on 10^6 pixels per unit at q = 0.005 and 0.01 (tests and
``benchmarks/dissection_statistics.py``): within 1.2 % (relative) of q for 8x8 Gaussian,
rectified, log-normal and sparse featuremaps upsampled to 128x128, and within 0.6 % for the
layers of the trained 32 px scene ProgGAN; the exact k-th largest value itself misses by up to
0.5 % there, because bilinear upsampling repeats values. The resolution is relative, so a unit
whose values near the quantile spread by only a few bin widths (e.g. 5 +- 0.05: 1 % relative
spread) is resolved poorly (errors of 5-20 %); raise ``mantissa_bits`` for such units. Ties (many
equal values, e.g. exact zeros) cannot be split by any threshold: ``r > t`` then selects fewer
than q.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from ganlens.functional.bilinear import sample_positions
from ganlens.functional.dissection import (
    check_featuremaps,
    upsample_featuremaps,
    upsampled_at,
)

__all__ = [
    "EXPONENT_RANGE",
    "MANTISSA_BITS",
    "histogram_bin_edges",
    "num_histogram_bins",
    "unit_quantile",
]

MANTISSA_BITS = 7
EXPONENT_RANGE = (-16, 16)
_FLOAT_MANTISSA = 23
_FLOAT_BIAS = 127


def _check_histogram_config(mantissa_bits: int, exponent_range: tuple[int, int]) -> None:
    low, high = exponent_range
    if not 0 <= mantissa_bits <= 12:
        raise ValueError(f"mantissa_bits must be in [0, 12]; got {mantissa_bits}")
    if not -126 <= low < high <= 127:
        raise ValueError(
            "exponent_range must be (low, high) with -126 <= low < high <= 127; "
            f"got {exponent_range}"
        )


def num_histogram_bins(
    mantissa_bits: int = MANTISSA_BITS, exponent_range: tuple[int, int] = EXPONENT_RANGE
) -> int:
    """Bins per unit: ``2 * (e_max - e_min) * 2^m + 3``.

    Args:
        mantissa_bits: ``m``, bins per octave ``2^m`` (0 to 12).
        exponent_range: ``(e_min, e_max)`` with ``-126 <= e_min < e_max <= 127``.

    Returns:
        The number of bins.

    Raises:
        ValueError: On a setting outside those ranges.

    Example:
        >>> num_histogram_bins(), num_histogram_bins(2, (-1, 1))
        (8195, 19)
    """
    _check_histogram_config(mantissa_bits, exponent_range)
    return int(2 * (exponent_range[1] - exponent_range[0]) * 2**mantissa_bits + 3)


def histogram_bin_edges(
    mantissa_bits: int = MANTISSA_BITS,
    exponent_range: tuple[int, int] = EXPONENT_RANGE,
    device: torch.device | None = None,
) -> Tensor:
    """Edges of the histogram's bins, from ``-inf`` to ``+inf``.

    Args:
        mantissa_bits: ``m``, bins per octave ``2^m``.
        exponent_range: ``(e_min, e_max)``, the octaves with their own bins.
        device: Device of the result.

    Returns:
        float64 ``[bins + 1]`` ascending edges; bin ``i`` spans ``[edges[i], edges[i + 1])``.

    Raises:
        ValueError: On an invalid setting (see :func:`num_histogram_bins`).

    Example:
        >>> histogram_bin_edges(1, (-1, 1)).tolist()
        [-inf, -2.0, -1.5, -1.0, -0.75, -0.5, 0.5, 0.75, 1.0, 1.5, 2.0, inf]
    """
    bins = num_histogram_bins(mantissa_bits, exponent_range)
    low, high = exponent_range
    per_sign = (high - low) << mantissa_bits
    first = (low + _FLOAT_BIAS) << mantissa_bits
    codes = torch.arange(first, first + per_sign + 1, dtype=torch.int32)
    magnitudes = (codes << (_FLOAT_MANTISSA - mantissa_bits)).view(torch.float32).double()
    infinity = torch.tensor([float("inf")], dtype=torch.float64)
    edges = torch.cat([-infinity, -magnitudes.flip(0), magnitudes, infinity])
    assert edges.numel() == bins + 1
    return edges.to(device=device)


def _histogram_bin_index(
    values: Tensor, mantissa_bits: int, exponent_range: tuple[int, int], offset: Tensor | int = 0
) -> Tensor:
    """Bin of each float32 value (any shape) plus ``offset``, int32 (bins in ``[0, bins)``)."""
    low, high = exponent_range
    per_sign = (high - low) << mantissa_bits
    bits = values.float().contiguous().view(torch.int32)
    index = torch.bitwise_and(bits, 0x7FFFFFFF)  # ordered like |x|
    index.bitwise_right_shift_(_FLOAT_MANTISSA - mantissa_bits)  # exponent and top m bits
    index.sub_(((low + _FLOAT_BIAS) << mantissa_bits) - 1).clamp_(0, per_sign + 1)
    sign = torch.bitwise_right_shift(bits, 31)  # 0 for x >= 0, -1 for x < 0
    index.bitwise_xor_(sign).sub_(sign)  # negate where x < 0 (two's complement)
    return index.add_(offset + (per_sign + 1))  # the zero bin is bin per_sign + 1


def _unit_quantile_update(
    features: Tensor,
    resolution: int | None = None,
    mantissa_bits: int = MANTISSA_BITS,
    exponent_range: tuple[int, int] = EXPONENT_RANGE,
    pixels_per_image: int | None = None,
    image_ids: Tensor | None = None,
    seed: int = 0,
) -> Tensor:
    """Histogram of each unit's (upsampled) activations in one batch.

    Args:
        features: ``[N, U, h, w]`` featuremaps.
        resolution: Upsample to ``S x S`` first (bilinear, centres aligned); None keeps ``h x w``.
        mantissa_bits: ``m`` of the histogram.
        exponent_range: ``(e_min, e_max)`` of the histogram.
        pixels_per_image: Count only this many stratified random pixels of each image (the
            same for all its units; :func:`~ganlens.functional.bilinear.sample_positions`),
            evaluated with :func:`~ganlens.functional.dissection.upsampled_at`; None (or at least
            ``S * S``) counts every pixel.
        image_ids: int64 ``[N]`` ids of the images for the sampled positions (default
            ``0 .. N-1``): give each image's index in the whole set to make the sample
            independent of batching and of the split over processes.
        seed: Seed of the sampled positions.

    Returns:
        int64 ``[U, bins]`` counts, on the features' device.
    """
    check_featuremaps(features)
    num_units = features.shape[1]
    size = (resolution or features.shape[2], resolution or features.shape[3])
    bins = num_histogram_bins(mantissa_bits, exponent_range)
    histogram = torch.zeros(num_units * bins, dtype=torch.long, device=features.device)
    offsets = torch.arange(num_units, device=features.device, dtype=torch.int32) * bins
    sampled = pixels_per_image is not None and pixels_per_image < size[0] * size[1]
    per_image = pixels_per_image if sampled and pixels_per_image else size[0] * size[1]
    # Bound the temporary memory: bin chunks of images and units of at most 2^23 unit-pixels
    # (no full-resolution copy of all units of a batch).
    unit_chunk = max(1, min(num_units, (1 << 23) // per_image))
    chunk = max(1, (1 << 23) // (unit_chunk * per_image))
    ids = torch.arange(features.shape[0]) if image_ids is None else image_ids.cpu().long()
    for part, part_ids in zip(torch.split(features, chunk), torch.split(ids, chunk), strict=True):
        if sampled:
            flat = sample_positions(part_ids, size[0] * size[1], per_image, seed)
            flat = flat.to(part.device)
        for start in range(0, num_units, unit_chunk):
            maps = part[:, start : start + unit_chunk].float()  # [n, u, h, w]
            shift = offsets[: maps.shape[1]].view(1, -1, 1)
            if sampled:
                values = upsampled_at(maps, flat, size)  # [n, u, m]
            elif resolution is None:
                values = maps.flatten(2)
            else:
                values = upsample_featuremaps(maps, resolution).flatten(2)  # [n, u, S * S]
            index = _histogram_bin_index(values, mantissa_bits, exponent_range, shift)
            counts = torch.bincount(index.view(-1), minlength=maps.shape[1] * bins)
            histogram[start * bins : start * bins + counts.numel()] += counts
    return histogram.view(num_units, bins)


def _unit_quantile_compute(histogram: Tensor, top_fractions: Tensor, edges: Tensor) -> Tensor:
    """Thresholds ``t`` with a fraction ``q`` of each unit's counted values above ``t``.

    Args:
        histogram: int64 ``[U, bins]`` counts.
        top_fractions: ``[B]`` fractions ``q`` in (0, 1].
        edges: float64 ``[bins + 1]`` bin edges (:func:`histogram_bin_edges`).

    Returns:
        float32 ``[U, B]`` thresholds.

    Raises:
        ValueError: If a unit has no counted values.
    """
    totals = histogram.sum(dim=1)  # [U]
    if bool((totals == 0).any()):
        raise ValueError("cannot compute quantiles: no activations have been counted")
    edges = edges.to(histogram.device)
    counts = histogram.double()  # [U, bins]
    cumulative = counts.cumsum(dim=1)  # [U, bins], values at or below each bin's upper edge
    target = totals.double()[:, None] * top_fractions.double().to(histogram.device)  # [U, B]
    # The bin holding the quantile: the first whose cumulative count exceeds n - target.
    below = (totals.double()[:, None] - target).contiguous()  # [U, B]
    index = torch.searchsorted(cumulative, below, right=True).clamp_(max=counts.shape[1] - 1)
    in_bin = counts.gather(1, index)  # [U, B]
    above = totals.double()[:, None] - cumulative.gather(1, index)  # [U, B], beyond this bin
    share = ((target - above) / in_bin.clamp(min=1)).clamp(0, 1)  # [U, B], wanted from the bin
    lower, upper = edges[index], edges[index + 1]  # [U, B] each
    offset = _position_in_bin(counts, edges, index, share)  # [U, B], in [0, 1]
    threshold = lower + offset * (upper - lower)
    threshold = torch.where(torch.isinf(upper), lower, threshold)  # positive overflow bin
    threshold = torch.where(torch.isinf(lower), upper, threshold)  # negative overflow bin
    return threshold.float()


def _position_in_bin(counts: Tensor, edges: Tensor, index: Tensor, share: Tensor) -> Tensor:
    """Where in bin ``index`` (0 = lower edge, 1 = upper) a ``share`` of its mass lies above.

    The density inside the bin is modelled as linear, ``f(s) = 1 + beta * (s - 1/2)``, with the
    slope ``beta`` estimated from the densities of the two neighbouring bins (clamped to
    ``[-2, 2]`` so that f stays non-negative; 0 next to an overflow bin). The mass above ``s`` is
    ``(1 - s) * (1 + beta * s / 2)``; the root in [0, 1] is taken in its stable form.
    """
    last = counts.shape[1] - 1
    widths = edges[1:] - edges[:-1]  # [bins], inf for the overflow bins
    density = counts / widths  # [U, bins], 0 in the overflow bins
    left, right = (index - 1).clamp(min=0), (index + 1).clamp(max=last)
    span = widths[left] / 2 + widths[index] + widths[right] / 2  # [U, B], centre to centre
    slope = (density.gather(1, right) - density.gather(1, left)) / span
    beta = slope * widths[index] / density.gather(1, index).clamp(min=1e-300)
    finite = torch.isfinite(span) & (index > 0) & (index < last)
    beta = torch.where(finite, beta, 0.0).nan_to_num(0.0).clamp(-2.0, 2.0)
    a, b, c = -beta / 2, beta / 2 - 1, 1 - share  # a s^2 + b s + c = 0
    root = 2 * c / (-b + (b * b - 4 * a * c).clamp(min=0).sqrt()).clamp(min=1e-300)
    return root.clamp(0.0, 1.0)


def _as_fractions(top_fractions: float | Sequence[float] | Tensor) -> Tensor:
    fractions = torch.as_tensor(top_fractions, dtype=torch.float64).reshape(-1)
    if fractions.numel() == 0 or bool(((fractions <= 0) | (fractions > 1)).any()):
        raise ValueError(f"top fractions must lie in (0, 1]; got {fractions.tolist()}")
    return fractions


def unit_quantile(
    features: Tensor,
    top_fractions: float | Sequence[float] | Tensor = 0.01,
    resolution: int | None = None,
    mantissa_bits: int = MANTISSA_BITS,
    exponent_range: tuple[int, int] = EXPONENT_RANGE,
) -> Tensor:
    """Per-unit top-q activation thresholds (one batch; use :class:`UnitQuantile` to stream).

    Args:
        features: ``[N, U, h, w]`` featuremaps.
        top_fractions: ``q`` or a sequence of ``B`` values of ``q``, each in (0, 1].
        resolution: Upsample to ``S x S`` first (bilinear, ``align_corners=False``).
        mantissa_bits: ``m`` of the histogram (bins per octave ``2^m``).
        exponent_range: ``(e_min, e_max)`` of the histogram.

    Returns:
        float32 ``[U]`` thresholds for a single ``q``, ``[U, B]`` for a sequence.

    Raises:
        ValueError: On a wrong shape, a fraction outside (0, 1] or an invalid histogram setting.

    Example:
        >>> _ = torch.manual_seed(0)
        >>> features = torch.randn(64, 2, 8, 8)
        >>> t = unit_quantile(features, 0.01, resolution=32)  # [2]
        >>> up = torch.nn.functional.interpolate(features, size=32, mode="bilinear")
        >>> (up > t.view(1, 2, 1, 1)).float().mean(dim=(0, 2, 3))  # realised top fractions
        tensor([0.0100, 0.0100])
    """
    fractions = _as_fractions(top_fractions)
    histogram = _unit_quantile_update(features, resolution, mantissa_bits, exponent_range)
    edges = histogram_bin_edges(mantissa_bits, exponent_range, histogram.device)
    thresholds = _unit_quantile_compute(histogram, fractions, edges)  # [U, B]
    scalar = isinstance(top_fractions, (int, float)) or (
        isinstance(top_fractions, Tensor) and top_fractions.ndim == 0
    )
    return thresholds[:, 0] if scalar else thresholds
