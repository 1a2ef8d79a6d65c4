"""Counting kernels of the unit-concept histograms (GAN Dissection, eq. 1 counts).

GAN Dissection (Bau et al., ICLR 2019, arXiv:1811.10597, section 3.1, eq. 1) needs, per unit u,
threshold level and concept c, the number of pixels with r_u^up above the threshold that carry c.
These kernels count one chunk of images; :mod:`ganlens.functional.unit_concept_iou` drives them.

* :func:`_count_above` (one threshold per unit) upsamples only the blocks of pixels whose 4
  input neighbours can exceed the threshold (:func:`_active_pixels`), visits only the pixels
  above it (about a fraction q of them) and gets the rest by subtraction from the label totals.
* :func:`_count_levels` (B thresholds per unit) reads each pixel's level, the number of
  thresholds it exceeds, from a table of value cells (a search only where a cell holds a
  threshold) and bins (level, label) pairs with one ``bincount``, a block of units at a time.
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


_GRID_CELLS = 8192
"""Most cells of each unit's value grid in :func:`_count_levels` (with 100 IQR thresholds, about
1% of a 64 px map's pixels share a cell with a threshold; 8192 measured fastest of 2048-16384)."""

_LEVEL_BLOCK = 1 << 17
"""Unit-pixels per pass of :func:`_count_levels` on the CPU, so that its temporaries stay in
cache (measured: 2.2x faster than a 2^24 unit-pixel chunk at once)."""


def _order_keys(values: Tensor) -> Tensor:
    """int64 keys ordered as the float32 values are (no NaN): ``a < b`` iff ``key(a) < key(b)``.

    A float's bit pattern is sign and magnitude; read as int32 it is ordered for positive floats
    and reversed for negative ones, which flipping the 31 magnitude bits of negatives corrects.
    ``-0.0`` is first made ``+0.0`` so that equal values get equal keys.
    """
    bits = values.masked_fill(values == 0, 0.0).view(torch.int32)
    return (bits ^ ((bits >> 31) & 0x7FFFFFFF)).long()


def _count_levels(
    up: Tensor, thresholds: Tensor, labels: Tensor, num_concepts: int
) -> tuple[Tensor, Tensor]:
    """B thresholds per unit: bin every pixel's level ``#{t < r}`` with every label.

    The counts behind GAN Dissection's eq. 1 (section 3.1) at B thresholds. A binary search per
    pixel was most of the time; instead each unit's ``[t_min, t_max]`` is cut into equal cells
    (plus one below and one above), a pixel's cell is ``trunc(clamp(r * scale + shift))`` and a
    table gives the number of thresholds in lower cells. That map never decreases with r (each
    float operation rounds monotonically) and the thresholds go through the same operations, so
    a threshold in a lower cell is below r and one in a higher cell is not: the table is exact
    for every pixel whose cell holds no threshold. The few others (ties included) get
    ``searchsorted`` itself, on keys that order (unit, value) pairs (:func:`_order_keys`), so
    one search serves a block of units. Blocks of about ``_LEVEL_BLOCK`` unit-pixels on the CPU
    (all units elsewhere) keep the temporaries in cache, and every index is int32: pixels per
    image are one ``bincount`` of ``level + levels * (unit, image)``, the (level, label)
    histogram one of ``level * C + label`` over all label layers (label 0 binned, then dropped).

    Args:
        up: ``[U, n, P]`` upsampled activations, unit-major (each unit's pixels contiguous).
        thresholds: ``[U, B]`` ascending, finite.
        labels: ``[n, K, P]`` deduplicated labels.
        num_concepts: ``C``.

    Returns:
        ``([n, U, B + 1]`` pixels per image, unit and level, ``[U, B + 1, C]`` histogram).
    """
    num_units, n, pixels = up.shape
    levels = thresholds.shape[1] + 1
    device, per_unit = up.device, n * pixels
    cells = max(1, min(_GRID_CELLS, per_unit // 8))  # a table smaller than the pixels (measured)
    # Units per block, few enough that every index fits int32 (one unit always does: its
    # outputs would not fit in memory otherwise).
    block = max(1, _LEVEL_BLOCK // per_unit) if device.type == "cpu" else num_units
    block = max(1, min(block, num_units, (2**31 - 1) // (levels * max(n, num_concepts))))
    scale = cells / (thresholds[:, -1:] - thresholds[:, :1])  # [U, 1]
    scale = torch.where(torch.isfinite(scale) & (scale > 0), scale, torch.ones_like(scale))
    shift = 1 - thresholds[:, :1] * scale  # t_min at the start of cell 1

    def cell_of(values: Tensor, units: slice) -> Tensor:  # the same for values and thresholds
        x = (values * scale[units]).add_(shift[units]).clamp_(0, cells + 1)
        return x.to(torch.int32)

    unit = torch.arange(num_units, device=device).view(-1, 1)  # [U, 1]
    rel = unit % block  # each unit's place in its block
    count = torch.bincount(
        (cell_of(thresholds, slice(None)) + unit * (cells + 2)).view(-1),
        minlength=num_units * (cells + 2),
    ).view(num_units, cells + 2)
    below = count.cumsum(1) - count  # thresholds in lower cells
    table = torch.where(count > 0, -1, below + rel * levels).to(torch.int32)  # -1: search
    # Search keys: (place, threshold) and one per unit above all its values, so the number of a
    # block's keys below a pixel's key is place * levels + #{t < r}.
    keys = torch.cat([_order_keys(thresholds), torch.full_like(rel, 2**31 - 1)], dim=1)
    keys += rel << 32  # [U, levels]
    layers = labels.to(torch.int32).transpose(0, 1).reshape(1, -1, per_unit)  # [1, K, n * P]
    per_image = torch.empty(num_units, n, levels, dtype=torch.long, device=device)
    histogram = torch.zeros(num_units, levels * num_concepts, dtype=torch.long, device=device)
    for start in range(0, num_units, block):
        units = slice(start, min(start + block, num_units))
        place = rel[units].to(torch.int32)  # [u, 1]
        values = up[units].view(-1, per_unit)  # [u, n * P]
        cell = cell_of(values, units).add_(place * (cells + 2))
        level = table[units].reshape(-1).index_select(0, cell.view(-1))  # [u * n * P]
        ambiguous = (level < 0).nonzero().view(-1)
        if ambiguous.numel():
            found = _order_keys(values.view(-1).index_select(0, ambiguous))
            found += (ambiguous // per_unit) << 32  # the pixel's place in the block
            search = torch.searchsorted(keys[units].reshape(-1), found, out_int32=True)
            level.index_copy_(0, ambiguous, search)
        level = level.view(-1, per_unit)  # [u, n * P]: place * levels + #{t < r}
        rows = torch.arange(n, device=device, dtype=torch.int32).view(1, n, 1) * levels
        rows = rows + place.view(-1, 1, 1) * ((n - 1) * levels)  # [u, n, 1]
        counts = torch.bincount(
            (level.view(-1, n, pixels) + rows).view(-1), minlength=rows.numel() * levels
        )
        per_image[units] = counts.view(-1, n, levels)
        index = torch.add(layers, level.unsqueeze(1), alpha=num_concepts)  # [u, K, n * P]
        histogram[units] += torch.bincount(
            index.view(-1), minlength=place.numel() * levels * num_concepts
        ).view(-1, levels * num_concepts)
    histogram = histogram.view(num_units, levels, num_concepts)
    histogram[:, :, 0] = 0
    return per_image.transpose(0, 1), histogram
