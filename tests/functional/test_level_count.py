"""The B-level count (:func:`_count_levels`) against searchsorted and bincount written plainly.

The count reads most levels from a table of value cells and searches only the pixels sharing a
cell with a threshold, so the cases aim at what that could get wrong: values equal to thresholds
(``#{t < r}`` must not count ``t == r``), runs of equal thresholds, values below and above every
threshold, a unit whose thresholds are all equal, ``-0.0`` against ``+0.0``, several units per
block, and dense, sparse and empty label layers.
"""

from __future__ import annotations

import pytest
import torch

import ganlens.functional.unit_concept_kernels as kernels
from ganlens.functional.unit_concept_kernels import _count_levels, _dedupe_labels


def reference(
    up: torch.Tensor, thresholds: torch.Tensor, labels: torch.Tensor, num_concepts: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Pixels per (image, unit, level) and (unit, level, label) counts, label 0 left out."""
    units, n, _ = up.shape
    levels = thresholds.shape[1] + 1
    level = torch.searchsorted(thresholds, up.reshape(units, -1)).view(units, n, -1)  # #{t < r}
    per_image = torch.zeros(n, units, levels, dtype=torch.long)
    histogram = torch.zeros(units, levels, num_concepts, dtype=torch.long)
    for u in range(units):
        for i in range(n):
            per_image[i, u] = torch.bincount(level[u, i], minlength=levels)
        for k in range(labels.shape[1]):
            label = labels[:, k].reshape(-1)
            keep = label != 0
            pairs = level[u].reshape(-1)[keep] * num_concepts + label[keep]
            histogram[u] += torch.bincount(pairs, minlength=levels * num_concepts).view(levels, -1)
    return per_image, histogram


def tie_case(units: int, n: int, pixels: int, num_levels: int, k: int, seed: int) -> tuple:
    """Values drawn from the thresholds, beside them and outside them; labels of K layers."""
    g = torch.Generator().manual_seed(seed)
    thresholds = torch.randn(units, num_levels, generator=g).round(decimals=1)  # equal runs
    thresholds = thresholds.sort(dim=1).values
    thresholds[0] = 0.5  # one unit with all thresholds equal
    low, high = thresholds[:, :1], thresholds[:, -1:]
    candidates = torch.cat(
        [
            thresholds,
            thresholds.nextafter(torch.tensor(-float("inf"))),
            thresholds.nextafter(torch.tensor(float("inf"))),
            low - 3,
            high + 3,
            torch.full_like(low, -float("inf")),
            torch.full_like(low, float("inf")),
        ],
        dim=1,
    )
    pick = torch.randint(0, candidates.shape[1], (units, n * pixels), generator=g)
    up = candidates.gather(1, pick)
    noise = torch.randn(units, n * pixels, generator=g)
    up = torch.where(torch.rand(units, n * pixels, generator=g) < 0.3, noise, up)
    up = up.view(units, n, pixels).contiguous()
    num_concepts = 7
    labels = torch.randint(1, num_concepts, (n, k, pixels), generator=g)  # dense layers
    if k > 1:
        labels[:, 1][torch.rand(n, pixels, generator=g) < 0.9] = 0  # sparse
    if k > 2:
        labels[:, 2] = 0  # empty
    return up, thresholds.contiguous(), _dedupe_labels(labels), num_concepts


def assert_same(got: tuple[torch.Tensor, ...], want: tuple[torch.Tensor, ...]) -> None:
    for a, b in zip(got, want, strict=True):
        assert a.dtype == b.dtype == torch.long
        assert a.shape == b.shape
        assert torch.equal(a, b)


@pytest.mark.parametrize("k", [1, 3])
@pytest.mark.parametrize("num_levels", [1, 2, 9, 100])
def test_equals_the_plain_search_with_ties_and_values_outside(k: int, num_levels: int) -> None:
    case = tie_case(units=5, n=3, pixels=700, num_levels=num_levels, k=k, seed=num_levels + k)
    assert_same(_count_levels(*case), reference(*case))


@pytest.mark.parametrize("block", [1, 3000, 1 << 17])
def test_several_units_per_block_and_one(monkeypatch: pytest.MonkeyPatch, block: int) -> None:
    monkeypatch.setattr(kernels, "_LEVEL_BLOCK", block)  # 1, 1 and 2, all 7 units per pass
    case = tie_case(units=7, n=2, pixels=750, num_levels=20, k=3, seed=block % 97)
    assert_same(_count_levels(*case), reference(*case))


def test_thresholds_one_rounding_apart_and_wide_apart() -> None:
    """Two thresholds one ulp apart in one cell, values one ulp either side of each."""
    g = torch.Generator().manual_seed(4)
    thresholds = torch.tensor([[1.0, 1.0, 1e6]])
    thresholds[0, 1] = thresholds[0, 0].nextafter(thresholds[0, 2])
    flat, inf = thresholds.view(-1), torch.tensor(float("inf"))
    values = torch.cat([flat, flat.nextafter(-inf), flat.nextafter(inf), torch.rand(40) * 2e6])
    up = values.repeat((1 << 16) // values.numel() + 1)[: 1 << 16].view(1, 1, -1).contiguous()
    labels = torch.randint(0, 3, (1, 1, up.shape[-1]), generator=g)
    assert_same(_count_levels(up, thresholds, labels, 3), reference(up, thresholds, labels, 3))


def test_negative_zero_ties_positive_zero() -> None:
    thresholds = torch.tensor([[-1.0, 0.0, 0.0, 2.0], [-0.0, -0.0, 1.0, 3.0]])
    up = torch.tensor([0.0, -0.0, 1.0, -2.0, 3.0, 2.0] * 300).view(1, 1, -1).repeat(2, 2, 1)
    labels = torch.ones(2, 1, up.shape[-1], dtype=torch.long)
    got = _count_levels(up, thresholds, labels, 2)
    assert_same(got, reference(up, thresholds, labels, 2))
    assert got[0][0, 0].tolist() == [300, 600, 0, 600, 300]  # -0.0 and 0.0 both above -1 only


def test_real_valued_maps_with_quantile_thresholds() -> None:
    """The IQR mode's inputs: thresholds at each unit's own quantiles (ties with the pixels)."""
    g = torch.Generator().manual_seed(11)
    up = torch.randn(4, 6, 32 * 32, generator=g).mul(torch.rand(4, 1, 1, generator=g) * 3)
    up = up.relu()  # many exact zeros, so many equal thresholds at zero
    q = 1 - torch.logspace(-3, 0, 100, dtype=torch.float64)
    thresholds = torch.quantile(up.reshape(4, -1).double(), q.clamp(0, 1), dim=1).T.float()
    thresholds = thresholds.sort(dim=1).values.contiguous()
    labels = _dedupe_labels(torch.randint(0, 9, (6, 3, 32 * 32), generator=g))
    assert_same(_count_levels(up, thresholds, labels, 9), reference(up, thresholds, labels, 9))
