"""Counting kernels of the unit-concept histograms (GAN Dissection, eq. 1 counts).

GAN Dissection (Bau et al., ICLR 2019, arXiv:1811.10597, section 3.1, eq. 1) needs, per unit u,
threshold level and concept c, the number of pixels with r_u^up above the threshold that carry c.
These kernels count one chunk of images; :mod:`ganlens.functional.unit_concept_iou` drives them.

* :func:`_count_above` (one threshold per unit) upsamples only the blocks of pixels whose 4
  input neighbours can exceed the threshold (:func:`_active_pixels`), visits only the pixels
  above it (about a fraction q of them) and gets the rest by subtraction from the label totals.
* :func:`_count_levels` (B thresholds per unit) finds each pixel's level, the number of
  thresholds it exceeds, by binary search and bins (level, label) pairs with one ``bincount``
  per label layer.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from ganlens.functional.bilinear import bilinear_at_maps, bilinear_taps
from ganlens.functional.dissection import MATMUL_UPSAMPLING_MAX, upsample_featuremaps


def _dedupe_labels(labels: Tensor) -> Tensor:
    """Zero a label that already appears in an earlier layer of the same pixel. [n, K, P]."""
    labels = labels.clone()
    for k in range(1, labels.shape[1]):
        for j in range(k):
            labels[:, k].masked_fill_(labels[:, k] == labels[:, j], 0)
    return labels


def _axis_groups(size_in: int, size_out: int, device: torch.device) -> tuple[Tensor, ...]:
    """Output positions grouped by their pair of input neighbours along one axis.

    Returns ``(low, high, positions)``: ``[G]`` neighbour pair of each group and int64
    ``[G, L]`` the output positions of each group, padded with -1 (groups are runs).
    """
    taps = bilinear_taps(size_in, size_out)
    pair = taps.low * size_in + taps.high  # [S], non-decreasing
    starts = torch.ones(size_out, dtype=torch.bool)
    starts[1:] = pair[1:] != pair[:-1]
    first = starts.nonzero().view(-1)  # [G]
    lengths = torch.diff(first, append=torch.tensor([size_out]))
    positions = first.view(-1, 1) + torch.arange(int(lengths.max())).view(1, -1)  # [G, L]
    positions = torch.where(positions < (first + lengths).view(-1, 1), positions, -1)
    return taps.low[first].to(device), taps.high[first].to(device), positions.to(device)


def _active_pixels(features: Tensor, thresholds: Tensor, size: tuple[int, int]) -> Tensor:
    """Flat indices ``(n * U + u) * P + p`` of the upsampled pixels above their unit's threshold.

    Bilinear upsampling is a convex combination of 4 input neighbours, so a block of output
    pixels sharing the same 4 neighbours can exceed t only if the largest of them does (plus a
    margin of ``2^-20`` of the largest magnitude for float32 rounding). Only the pixels of such
    blocks are evaluated, with the operations of
    :func:`~ganlens.functional.bilinear.bilinear_upsample` (bit-identical values); at a top-q
    threshold that is a small part of them.

    Args:
        features: float32 ``[n, U, h, w]``.
        thresholds: ``[U]``.
        size: ``(S_h, S_w)``.

    Returns:
        int64 ``[M]`` flat indices into ``[n, U, S_h * S_w]``.
    """
    units, (h, w) = features.shape[1], features.shape[2:]
    device = features.device
    if (h, w) == tuple(size):  # no resampling: the formula gives the values themselves
        return (features > thresholds.view(1, units, 1, 1)).view(-1).nonzero().view(-1)
    row_low, row_high, rows = _axis_groups(h, size[0], device)  # [Gy], [Gy], [Gy, Ly]
    col_low, col_high, cols = _axis_groups(w, size[1], device)  # [Gx], [Gx], [Gx, Lx]
    # Largest of the 4 neighbours (i, i + 1) x (j, j + 1) of every block, edges replicated,
    # plus a rounding margin from the map's largest magnitude.
    padded = F.pad(features, (0, 1, 0, 1), mode="replicate")  # [n, U, h + 1, w + 1]
    rows_max = torch.maximum(padded[:, :, :-1], padded[:, :, 1:])  # [n, U, h, w + 1]
    bound = torch.maximum(rows_max[..., :-1], rows_max[..., 1:])  # [n, U, h, w]
    if row_low.numel() != h:
        bound = bound.index_select(2, row_low)
    if col_low.numel() != w:
        bound = bound.index_select(3, col_low)  # [n, U, Gy, Gx]
    bound += features.abs().amax(dim=(2, 3), keepdim=True) * 2.0**-20
    block = (bound >= thresholds.view(1, units, 1, 1)).nonzero()  # [B, 4]: n, u, gy, gx
    maps, gy, gx = block[:, 0] * units + block[:, 1], block[:, 2], block[:, 3]  # [B] each
    # Every pixel of the candidate blocks, dense [B, Ly, Lx], by the formula of
    # ganlens.functional.bilinear (same operations, so bit-identical to bilinear_upsample).
    ys, xs = bilinear_taps(h, size[0], device), bilinear_taps(w, size[1], device)
    y, x = rows[gy], cols[gx]  # [B, Ly], [B, Lx], -1 = padding
    y_safe, x_safe = y.clamp(min=0), x.clamp(min=0)
    wx_low, wx_high = xs.weight_low[x_safe], xs.weight_high[x_safe]  # [B, Lx]
    flat, base = features.reshape(-1), maps * (h * w)
    corner = [
        flat.take(base + row * w + col).view(-1, 1)  # [B, 1]
        for row in (row_low[gy], row_high[gy])
        for col in (col_low[gx], col_high[gx])
    ]
    top = corner[0] * wx_low + corner[1] * wx_high  # [B, Lx]
    bottom = corner[2] * wx_low + corner[3] * wx_high
    wy_low, wy_high = ys.weight_low[y_safe].unsqueeze(2), ys.weight_high[y_safe].unsqueeze(2)
    values = top.unsqueeze(1) * wy_low + bottom.unsqueeze(1) * wy_high  # [B, Ly, Lx]
    active = values > thresholds[block[:, 1]].view(-1, 1, 1)
    active &= (y >= 0).unsqueeze(2) & (x >= 0).unsqueeze(1)
    b, i, j = active.nonzero().unbind(1)  # [M] each
    return (maps[b] * size[0] + y[b, i]) * size[1] + x[b, j]


def _above_by_products(features: Tensor, thresholds: Tensor, size: tuple[int, int]) -> Tensor:
    """What :func:`_active_pixels` returns, from the whole map upsampled by two matrix products.

    The products agree with the bilinear formula to float32 rounding; the pixels within a margin
    of ``2^-20`` of the map's largest magnitude from their threshold are decided by the formula
    itself (:func:`~ganlens.functional.bilinear.bilinear_at_maps`), so the set is the same.

    Args:
        features: float32 ``[n, U, h, w]``.
        thresholds: ``[U]``.
        size: ``(S_h, S_w)``.

    Returns:
        int64 ``[M]`` flat indices into ``[n, U, S_h * S_w]`` (in no particular order).
    """
    n, units = features.shape[:2]
    pixels = size[0] * size[1]
    up = upsample_featuremaps(features, size).view(n, units, pixels)  # [n, U, P]
    margin = features.abs().amax(dim=(2, 3)).view(n, units, 1) * 2.0**-20  # [n, U, 1]
    above = up.sub_(thresholds.view(1, units, 1))  # one difference for both tests: no pixel between
    surely = (above > margin).view(-1).nonzero().view(-1)
    close = (above.abs_() <= margin).view(-1).nonzero().view(-1)
    maps, pixel = close // pixels, close % pixels
    exact = bilinear_at_maps(features, maps, pixel // size[1], pixel % size[1], size)
    return torch.cat([surely, close[exact > thresholds[maps % units]]])


def _dense_enough(features: Tensor, thresholds: Tensor, size: tuple[int, int]) -> bool:
    """Whether the whole-map products beat block pruning: small maps with many pixels above.

    Measured on one CPU thread (64 maps upsampled to 64 px): pruning wins at a top fraction of
    0.5% up to 16 px maps, the products from about 3% above (and at 32 px always).
    """
    side = max(features.shape[-2:])
    if side > MATMUL_UPSAMPLING_MAX or tuple(features.shape[-2:]) == tuple(size):
        return False
    above = (features > thresholds.view(1, -1, 1, 1)).float().mean()  # at the map's own pixels
    return side == MATMUL_UPSAMPLING_MAX or float(above) > 0.03


def _count_above(
    features: Tensor,
    thresholds: Tensor,
    labels: Tensor,
    per_image_concept: Tensor,
    size: tuple[int, int],
) -> tuple[Tensor, Tensor]:
    """One threshold per unit: visit only the pixels above it (about a fraction q of them).

    They are found by :func:`_above_by_products` for small featuremaps with many pixels above
    (:func:`_dense_enough`), else by :func:`_active_pixels`; both give the pixels the bilinear
    formula puts above the threshold.

    Args:
        features: float32 ``[n, U, h, w]`` featuremaps (upsampled here, where needed, to ``size``).
        thresholds: ``[U, 1]``.
        labels: ``[n, K, P]`` deduplicated labels, ``P = S_h * S_w``.
        per_image_concept: ``[n, C]`` labelled pixels per image and label.
        size: ``(S_h, S_w)``.

    Returns:
        ``([n, U, 2]`` pixels per image, unit and level, ``[U, 2, C]`` level histogram), level 0
        (not above) obtained by subtraction from the label totals.
    """
    n, num_units = features.shape[:2]
    pixels = size[0] * size[1]
    num_concepts = per_image_concept.shape[1]
    find = _above_by_products if _dense_enough(features, thresholds, size) else _active_pixels
    position = find(features, thresholds.view(-1), size)  # [M] into n * U * P
    image_unit, pixel = position // pixels, position % pixels  # [M] each
    above = torch.bincount(image_unit, minlength=n * num_units).view(n, num_units)  # [n, U]
    per_image = torch.stack([pixels - above, above], dim=-1)  # [n, U, 2]
    image, unit = image_unit // num_units, image_unit % num_units  # [M] each
    hits = torch.zeros(num_units * num_concepts, dtype=torch.long, device=features.device)
    for k in range(labels.shape[1]):
        label = labels[image, k, pixel]  # [M]
        hits += torch.bincount(unit * num_concepts + label, minlength=hits.numel())
    hits = hits.view(num_units, num_concepts)
    hits[:, 0] = 0
    total = per_image_concept.sum(dim=0).view(1, -1)  # [1, C]
    return per_image, torch.stack([total - hits, hits], dim=1)  # [U, 2, C]


def _count_levels(
    up: Tensor, thresholds: Tensor, labels: Tensor, num_concepts: int
) -> tuple[Tensor, Tensor]:
    """B thresholds per unit: bin every pixel's level (binary search) with every label.

    Args:
        up: ``[U, n, P]`` upsampled activations, unit-major (each unit's pixels contiguous).
        thresholds: ``[U, B]`` ascending.
        labels: ``[n, K, P]`` deduplicated labels.
        num_concepts: ``C``.

    Returns:
        ``([n, U, B + 1]`` pixels per image, unit and level, ``[U, B + 1, C]`` histogram).
    """
    num_units, n, pixels = up.shape
    levels = thresholds.shape[1] + 1
    bins = num_units * levels * num_concepts
    small = bins < 2**31 and up.numel() < 2**31 and n * num_units * levels < 2**31
    dtype = torch.int32 if small else torch.long  # halves the memory traffic
    level = torch.searchsorted(thresholds, up.view(num_units, -1), out_int32=small)  # #{t < r}
    level = level.view(num_units, n, pixels)
    rows = torch.arange(num_units * n, device=up.device, dtype=dtype).view(num_units, n, 1)
    per_image = torch.bincount((level + rows * levels).view(-1), minlength=num_units * n * levels)
    per_image = per_image.view(num_units, n, levels).transpose(0, 1)  # [n, U, levels]
    unit = torch.arange(num_units, device=up.device, dtype=dtype).view(-1, 1, 1)
    code = (level * num_concepts).add_(unit * (levels * num_concepts))  # [U, n, P]
    histogram = torch.zeros(bins, dtype=torch.long, device=up.device)
    for k in range(labels.shape[1]):
        label = labels[:, k].to(dtype)  # [n, P]
        mask = label != 0
        if 2 * int(mask.sum()) >= mask.numel():  # dense layer: count all, label 0 dropped below
            index = code + label.unsqueeze(0)  # [U, n, P]
        else:  # sparse layer: only its labelled pixels
            where = mask.view(-1).nonzero().view(-1)  # [M] into n * P
            index = code.view(num_units, -1).index_select(1, where) + label.view(-1)[where]
        histogram += torch.bincount(index.view(-1), minlength=bins)
    histogram = histogram.view(num_units, levels, num_concepts)
    histogram[:, :, 0] = 0
    return per_image, histogram
