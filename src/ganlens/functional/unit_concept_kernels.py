"""Counting kernels of the unit-concept histograms (GAN Dissection, eq. 1 counts).

GAN Dissection (Bau et al., ICLR 2019, arXiv:1811.10597, section 3.1, eq. 1) needs, per unit u,
threshold level and concept c, the number of pixels with r_u^up above the threshold that carry c.
These kernels count one chunk of images; :mod:`ganlens.functional.unit_concept_iou` drives them.

* :func:`_count_above` (one threshold per unit) visits only the pixels above the threshold
  (about a fraction q of them) and gets the rest by subtraction from the label totals.
* :func:`_count_levels` (B thresholds per unit) finds each pixel's level, the number of
  thresholds it exceeds, by binary search and bins (level, label) pairs with one ``bincount``.
"""

from __future__ import annotations

import torch
from torch import Tensor


def _dedupe_labels(labels: Tensor) -> Tensor:
    """Zero a label that already appears in an earlier layer of the same pixel. [n, K, P]."""
    labels = labels.clone()
    for k in range(1, labels.shape[1]):
        for j in range(k):
            labels[:, k].masked_fill_(labels[:, k] == labels[:, j], 0)
    return labels


def _count_above(
    up: Tensor, thresholds: Tensor, labels: Tensor, per_image_concept: Tensor
) -> tuple[Tensor, Tensor]:
    """One threshold per unit: visit only the pixels above it (about a fraction q of them).

    Args:
        up: ``[n, U, P]`` upsampled activations.
        thresholds: ``[U, 1]``.
        labels: ``[n, K, P]`` deduplicated labels.
        per_image_concept: ``[n, C]`` labelled pixels per image and label.

    Returns:
        ``([n, U, 2]`` pixels per image, unit and level, ``[U, 2, C]`` level histogram), level 0
        (not above) obtained by subtraction from the label totals.
    """
    n, num_units, pixels = up.shape
    num_concepts = per_image_concept.shape[1]
    active = up > thresholds.view(1, num_units, 1)  # [n, U, P]
    position = active.view(-1).nonzero().view(-1)  # [M] into n * U * P
    image_unit, pixel = position // pixels, position % pixels  # [M] each
    above = torch.bincount(image_unit, minlength=n * num_units).view(n, num_units)  # [n, U]
    per_image = torch.stack([pixels - above, above], dim=-1)  # [n, U, 2]
    image, unit = image_unit // num_units, image_unit % num_units  # [M] each
    hits = torch.zeros(num_units * num_concepts, dtype=torch.long, device=up.device)
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
        up: ``[n, U, P]`` upsampled activations.
        thresholds: ``[U, B]`` ascending.
        labels: ``[n, K, P]`` deduplicated labels.
        num_concepts: ``C``.

    Returns:
        ``([n, U, B + 1]`` pixels per image, unit and level, ``[U, B + 1, C]`` histogram).
    """
    n, num_units, _ = up.shape
    levels = thresholds.shape[1] + 1
    bins = num_units * levels * num_concepts
    small = bins < 2**31 and n * num_units * levels < 2**31
    dtype = torch.int32 if small else torch.long  # halves the memory traffic
    bounds = thresholds.expand(n, -1, -1).contiguous()  # [n, U, B]
    level = torch.searchsorted(bounds, up, out_int32=small)  # [n, U, P], #{t < r}
    unit = torch.arange(num_units, device=up.device, dtype=dtype).view(1, -1, 1) * levels
    image = torch.arange(n, device=up.device, dtype=dtype).view(-1, 1, 1) * (num_units * levels)
    per_image = torch.bincount((image + unit + level).view(-1), minlength=n * num_units * levels)
    code = (unit + level) * num_concepts  # [n, U, P]
    indices = []
    for k in range(labels.shape[1]):
        label = labels[:, k].to(dtype)  # [n, P]
        mask = label != 0
        if 2 * int(mask.sum()) >= mask.numel():  # dense layer: count all, label 0 dropped below
            indices.append((code + label.unsqueeze(1)).view(-1))  # [n * U * P]
        else:  # sparse layer: only its labelled pixels
            indices.append((code.transpose(0, 1)[:, mask] + label[mask].view(1, -1)).view(-1))
    histogram = torch.bincount(torch.cat(indices), minlength=bins)  # one pass, one output
    histogram = histogram.view(num_units, levels, num_concepts)
    histogram[:, :, 0] = 0
    return per_image.view(n, num_units, levels), histogram
