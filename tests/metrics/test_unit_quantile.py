"""Tests for ganlens.metrics.UnitQuantile: functional parity, merge, accuracy, fixed state."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from ganlens.functional.information_quality import iqr_top_fractions
from ganlens.functional.unit_quantile import unit_quantile
from ganlens.metrics.distributed import all_reduce_sum
from ganlens.metrics.unit_quantile import UnitQuantile


def batches(count: int, seed: int, units: int = 6) -> list[torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    scales = torch.logspace(-2, 2, units).view(1, -1, 1, 1)
    return [torch.randn(5, units, 4, 4, generator=generator).relu() * scales for _ in range(count)]


@pytest.mark.parametrize("fractions", [0.01, [0.005, 0.01, 0.2, 1.0]])
def test_streaming_equals_functional_on_all_data(fractions: float | list[float]) -> None:
    data = batches(20, seed=0)
    metric = UnitQuantile(num_units=6, top_fractions=fractions, resolution=16)
    for batch in data:
        metric.update(batch)
    expected = unit_quantile(torch.cat(data), fractions, resolution=16)
    assert torch.equal(metric.compute(), expected)
    assert metric.compute().shape == ((6,) if isinstance(fractions, float) else (6, 4))


def test_merge_of_two_halves_equals_one_pass() -> None:
    data = batches(12, seed=1)
    one, first, second = (UnitQuantile(6, iqr_top_fractions(), resolution=12) for _ in range(3))
    for index, batch in enumerate(data):
        one.update(batch)
        (first if index % 2 else second).update(batch)
    first.merge_state(second)
    assert torch.equal(first.histogram, one.histogram)
    assert torch.equal(first.compute(), one.compute())


def test_top_fraction_on_a_million_pixels_per_unit() -> None:
    metric = UnitQuantile(num_units=3, top_fractions=[0.005, 0.01], resolution=128)
    generator = torch.Generator().manual_seed(2)
    data = [torch.randn(31, 3, 8, 8, generator=generator).exp() for _ in range(2)]  # 62 images
    for batch in data:
        metric.update(batch)
    thresholds = metric.compute()  # [3, 2]
    up = F.interpolate(torch.cat(data), size=128, mode="bilinear", align_corners=False)
    assert up[:, 0].numel() >= 10**6
    for b, q in enumerate([0.005, 0.01]):
        realised = (up > thresholds[:, b].view(1, -1, 1, 1)).double().mean(dim=(0, 2, 3))
        assert float((realised / q - 1).abs().max()) < 0.02


def test_state_is_fixed_size_and_resets() -> None:
    metric = UnitQuantile(num_units=6)
    size = metric.state_size_bytes()
    assert size == 6 * (2 * 32 * 128 + 3) * 8
    for batch in batches(3, seed=3):
        metric.update(batch)
    assert metric.state_size_bytes() == size
    assert int(metric.histogram.sum()) == 3 * 5 * 6 * 16
    metric.reset()
    assert int(metric.histogram.sum()) == 0
    with pytest.raises(ValueError, match="no activations"), pytest.warns(UserWarning):
        metric.compute()


@pytest.mark.filterwarnings("ignore:The ``compute`` method")
def test_state_dict_round_trip() -> None:
    metric = UnitQuantile(num_units=6, top_fractions=0.1)
    metric.persistent(True)
    for batch in batches(2, seed=4):
        metric.update(batch)
    restored = UnitQuantile(num_units=6, top_fractions=0.1)
    restored.persistent(True)
    restored.load_state_dict(metric.state_dict())
    assert torch.equal(restored.compute(), metric.compute())


def test_bad_arguments_raise() -> None:
    with pytest.raises(ValueError, match="num_units"):
        UnitQuantile(num_units=0)
    with pytest.raises(ValueError, match="top fractions"):
        UnitQuantile(num_units=2, top_fractions=[0.1, 0.0])
    metric = UnitQuantile(num_units=2)
    with pytest.raises(ValueError, match=r"\[N, U=2, H, W\]; got \[1, 3, 4, 4\]"):
        metric.update(torch.zeros(1, 3, 4, 4))


def test_all_reduce_sum_without_process_group_is_identity() -> None:
    state = torch.arange(4)
    assert torch.equal(all_reduce_sum(state)[0], state)


def test_sampled_metric_is_reproducible_and_counts_the_samples() -> None:
    data = batches(4, seed=5)  # [5, 6, 4, 4] each, upsampled to 16 x 16
    first, second = (UnitQuantile(6, 0.01, resolution=16, pixels_per_image=32) for _ in range(2))
    for batch in data:
        first.update(batch)
        second.update(batch)
    assert torch.equal(first.histogram, second.histogram)
    assert first.histogram.sum(dim=1).tolist() == [4 * 5 * 32] * 6
    assert torch.equal(first.clone().compute(), first.compute())
    with pytest.raises(ValueError, match="pixels_per_image"):
        UnitQuantile(6, pixels_per_image=0)
