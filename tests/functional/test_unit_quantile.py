"""Tests for ganlens.functional.unit_quantile: bins, accuracy at 10^6 pixels, additivity."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from ganlens.functional.unit_quantile import (
    _histogram_bin_index,
    _unit_quantile_compute,
    _unit_quantile_update,
    histogram_bin_edges,
    num_histogram_bins,
    unit_quantile,
)


def wide_values(n: int, seed: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    magnitudes = torch.logspace(-8, 8, n, dtype=torch.float64)
    signs = torch.randint(0, 2, (n,), generator=generator) * 2 - 1
    extra = torch.tensor([0.0, -0.0, float("inf"), float("-inf"), 1.0, -1.0, 2.0**-16, 2.0**16])
    return torch.cat([(magnitudes * signs).float(), extra])


@pytest.mark.parametrize(("mantissa_bits", "exponent_range"), [(7, (-16, 16)), (3, (-4, 6))])
def test_every_value_lies_in_its_bin(mantissa_bits: int, exponent_range: tuple[int, int]) -> None:
    values = wide_values(20000, seed=0)
    edges = histogram_bin_edges(mantissa_bits, exponent_range)
    index = _histogram_bin_index(values, mantissa_bits, exponent_range)
    assert edges.shape == (num_histogram_bins(mantissa_bits, exponent_range) + 1,)
    assert bool((edges[1:] > edges[:-1]).all())
    lower, upper, x = edges[index], edges[index + 1], values.double()
    # Non-negative values: [lower, upper); negative ones mirror: (lower, upper].
    inside = torch.where(x >= 0, (lower <= x) & (x < upper), (lower < x) & (x <= upper))
    inside |= torch.isinf(x) & (torch.isinf(lower) | torch.isinf(upper))
    # The zero bin is [-2^e_min, 2^e_min) for both signs.
    zero_bin = num_histogram_bins(mantissa_bits, exponent_range) // 2
    inside |= (index == zero_bin) & (x.abs() < 2.0 ** exponent_range[0])
    assert bool(inside.all()), values[~inside]


def test_bin_width_is_relative() -> None:
    edges = histogram_bin_edges(7, (-16, 16))
    finite = edges[1:-1]
    positive = finite[finite > 0]
    ratio = positive[1:] / positive[:-1]
    assert float(ratio.max()) <= 1 + 2**-7 + 1e-12


KINDS = ["gaussian", "rectified", "lognormal", "sparse"]


def featuremaps(kind: str, seed: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    base = torch.randn(62, 4, 8, 8, generator=generator)  # 62 * 128^2 > 10^6 pixels per unit
    if kind == "gaussian":
        return base
    if kind == "rectified":
        return base.relu()
    if kind == "lognormal":
        return base.exp() * 100.0
    if kind == "sparse":
        return (base - 2.0).relu() * 1e-3
    raise AssertionError(kind)


@pytest.mark.parametrize("q", [0.005, 0.01])
@pytest.mark.parametrize("kind", KINDS)
def test_realised_top_fraction_within_two_percent(q: float, kind: str) -> None:
    features = featuremaps(kind, seed=KINDS.index(kind))
    thresholds = unit_quantile(features, q, resolution=128)  # [4]
    up = F.interpolate(features, size=128, mode="bilinear", align_corners=False)
    assert up[:, 0].numel() >= 10**6
    realised = (up > thresholds.view(1, -1, 1, 1)).double().mean(dim=(0, 2, 3))  # [4]
    assert float((realised / q - 1).abs().max()) < 0.02, realised
    # The threshold lies within one relative bin width of the exact order statistic.
    k = round(q * up[:, 0].numel())
    exact = up.transpose(0, 1).reshape(4, -1).topk(k, dim=1).values[:, -1]  # [4]
    assert torch.allclose(thresholds, exact, rtol=2**-7, atol=2**-16)


def test_several_fractions_are_ordered_and_match_single_calls() -> None:
    features = featuremaps("gaussian", seed=3)[:8]
    fractions = [0.001, 0.01, 0.1, 0.5, 1.0]
    table = unit_quantile(features, fractions)  # [4, 5]
    assert table.shape == (4, 5)
    assert bool((table[:, 1:] <= table[:, :-1]).all())
    for b, q in enumerate(fractions):
        assert torch.equal(table[:, b], unit_quantile(features, q))
    # q = 1: every value is above (or on the lower edge of the lowest bin).
    flat = features.transpose(0, 1).reshape(4, -1)
    assert bool((flat >= table[:, -1:]).all())


def test_histograms_add_over_batches() -> None:
    features = featuremaps("lognormal", seed=4)[:12]
    whole = _unit_quantile_update(features, resolution=32)
    parts = sum(_unit_quantile_update(part, resolution=32) for part in features.split(5))
    assert torch.equal(whole, parts)
    assert int(whole.sum()) == 12 * 4 * 32 * 32


def test_overflow_and_tiny_values() -> None:
    features = torch.full((1, 2, 10, 10), 1e9)
    features[0, 1] = 1e-9
    thresholds = unit_quantile(features, 0.5)
    assert thresholds[0] == 2.0**16  # the finite edge of the overflow bin
    assert abs(float(thresholds[1])) <= 2.0**-16


def test_compute_on_empty_histogram_raises() -> None:
    empty = torch.zeros(2, num_histogram_bins(), dtype=torch.long)
    with pytest.raises(ValueError, match="no activations"):
        _unit_quantile_compute(empty, torch.tensor([0.1]), histogram_bin_edges())


@pytest.mark.parametrize("fraction", [0.0, -0.1, 1.5])
def test_bad_fraction_raises(fraction: float) -> None:
    with pytest.raises(ValueError, match="top fractions"):
        unit_quantile(torch.randn(1, 2, 4, 4), fraction)


def test_bad_shape_and_settings_raise() -> None:
    with pytest.raises(ValueError, match=r"\[N, U, H, W\]; got \[2, 4, 4\]"):
        unit_quantile(torch.randn(2, 4, 4))
    with pytest.raises(ValueError, match="mantissa_bits"):
        unit_quantile(torch.randn(1, 2, 4, 4), mantissa_bits=20)
    with pytest.raises(ValueError, match="exponent_range"):
        unit_quantile(torch.randn(1, 2, 4, 4), exponent_range=(3, 3))


def test_narrow_distribution_needs_and_gets_more_mantissa_bits() -> None:
    # 5 +- 0.05 spans about one default bin per standard deviation; 12 bits resolve it.
    generator = torch.Generator().manual_seed(7)
    features = 5.0 + 0.05 * torch.randn(62, 2, 8, 8, generator=generator)
    up = F.interpolate(features, size=128, mode="bilinear", align_corners=False)
    for q in (0.005, 0.01):
        thresholds = unit_quantile(features, q, 128, mantissa_bits=12, exponent_range=(0, 4))
        realised = (up > thresholds.view(1, -1, 1, 1)).double().mean(dim=(0, 2, 3))
        assert float((realised / q - 1).abs().max()) < 0.02


@pytest.mark.parametrize("kind", KINDS)
def test_sampled_pixels_keep_the_realised_top_fraction_within_two_percent(kind: str) -> None:
    # 2048 images, 512 of 64 x 64 upsampled pixels sampled per image: about 10^6 per unit.
    generator = torch.Generator().manual_seed(11)
    base = torch.randn(2048, 4, 8, 8, generator=generator)
    features = {
        "gaussian": base,
        "rectified": base.relu(),
        "lognormal": base.exp() * 100.0,
        "sparse": (base - 2.0).relu() * 1e-3,
    }[kind]
    fractions = torch.tensor([0.005, 0.01], dtype=torch.float64)
    histogram = _unit_quantile_update(features, 64, pixels_per_image=512)
    assert int(histogram[0].sum()) == 2048 * 512
    thresholds = _unit_quantile_compute(histogram, fractions, histogram_bin_edges())  # [4, 2]
    above = torch.zeros(4, 2, dtype=torch.float64)
    for part in features.split(256):
        up = F.interpolate(part, size=64, mode="bilinear", align_corners=False)
        above += (up.unsqueeze(2) > thresholds.view(1, 4, 2, 1, 1)).sum(dim=(0, 3, 4))
    realised = above / (2048 * 64 * 64)  # on every pixel
    assert float((realised / fractions - 1).abs().max()) < 0.02, realised


def test_sampling_every_pixel_is_the_exact_histogram() -> None:
    features = featuremaps("rectified", seed=6)[:5]
    exact = _unit_quantile_update(features, resolution=16)
    assert torch.equal(_unit_quantile_update(features, 16, pixels_per_image=256), exact)
    sampled = _unit_quantile_update(features, 16, pixels_per_image=64)
    assert sampled.sum(dim=1).tolist() == [5 * 64] * 4
    # The sample of an image depends on its id only: batching does not change the histogram.
    ids = torch.tensor([4, 9, 2, 0, 7])
    whole = _unit_quantile_update(features, 16, pixels_per_image=64, image_ids=ids, seed=3)
    parts = _unit_quantile_update(features[:2], 16, pixels_per_image=64, image_ids=ids[:2], seed=3)
    parts += _unit_quantile_update(features[2:], 16, pixels_per_image=64, image_ids=ids[2:], seed=3)
    assert torch.equal(whole, parts)
    assert not torch.equal(whole, _unit_quantile_update(features, 16, pixels_per_image=64, seed=3))
