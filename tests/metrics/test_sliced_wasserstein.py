"""Tests for ganlens.metrics.SlicedWassersteinDistance: parity with the functional, merge, reset."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from ganlens.functional import level_resolutions, sliced_wasserstein_distance
from ganlens.functional.sliced_wasserstein import (
    _random_directions,
    _random_patch_positions,
    _seeded_generator,
    _sliced_wasserstein_compute,
    _sliced_wasserstein_update,
)
from ganlens.metrics import SlicedWassersteinDistance

SIZE = 32


def smooth_images(n: int, seed: int, coarse: int = 8, noise: float = 0.1) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    base = torch.rand(n, 3, coarse, coarse, generator=generator) * 2 - 1
    images = F.interpolate(base, size=SIZE, mode="bilinear", align_corners=False)
    return (images + noise * torch.randn(images.shape, generator=generator)).clamp(-1, 1)


def fill(metric: SlicedWassersteinDistance, images: torch.Tensor, real: bool, batch: int) -> None:
    for chunk in images.split(batch):
        metric.update(chunk, real=real)


def descriptors(images: torch.Tensor, seed: int, stream: int) -> list[torch.Tensor]:
    """Descriptors drawn the way a fresh metric with ``seed`` draws them for one set."""
    positions = _random_patch_positions(
        images.shape[0], level_resolutions(SIZE), _seeded_generator(seed, stream)
    )
    return _sliced_wasserstein_update(images, positions)


def expected_levels(real: list[torch.Tensor], fake: list[torch.Tensor], seed: int) -> torch.Tensor:
    directions = _random_directions(len(real), _seeded_generator(seed, 2))
    return _sliced_wasserstein_compute(real, fake, directions)


def test_metric_equals_functional_float32() -> None:
    real, fake = smooth_images(10, 0), smooth_images(10, 1, coarse=4)
    metric = SlicedWassersteinDistance(10, SIZE, seed=3, descriptor_dtype=torch.float32)
    fill(metric, real, True, batch=4)
    fill(metric, fake, False, batch=3)
    result = metric.compute()
    expected = sliced_wasserstein_distance(real, fake, seed=3)
    assert result.resolutions == expected.resolutions == (32, 16)
    torch.testing.assert_close(result.levels, expected.levels, rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(result.mean, expected.mean, rtol=1e-6, atol=1e-6)


def test_float16_state_equals_functional_on_rounded_descriptors() -> None:
    real, fake = smooth_images(6, 0), smooth_images(6, 1, coarse=4)
    metric = SlicedWassersteinDistance(8, SIZE, seed=1)
    assert metric.real_descriptors_32.dtype == torch.float16
    fill(metric, real, True, batch=6)
    fill(metric, fake, False, batch=2)
    rounded = [
        [level.half() for level in descriptors(images, seed=1, stream=stream)]
        for stream, images in enumerate((real, fake))
    ]
    expected = expected_levels(rounded[0], rounded[1], seed=1)
    torch.testing.assert_close(metric.compute().levels, expected, rtol=1e-6, atol=1e-6)


def test_state_is_fixed_shape_and_declared() -> None:
    metric = SlicedWassersteinDistance(5, 64, descriptor_dtype=torch.float32)
    names = set(metric.metric_state)
    resolutions = (64, 32, 16)
    assert names == {f"{s}_descriptors_{r}" for s in ("real", "fake") for r in resolutions} | {
        "real_count",
        "fake_count",
    }
    metric.update(smooth_images(2, 0).repeat_interleave(2, -1).repeat_interleave(2, -2), True)
    for name, value in metric.metric_state.items():
        if "descriptors" in name:
            assert value.shape == (5 * 128, 147)
    assert metric.real_count.tolist() == [2]
    assert metric.fake_count.tolist() == [0]
    metric.reset()
    assert metric.real_count.tolist() == [0]
    assert metric.real_descriptors_64.shape == (5 * 128, 147)
    assert not metric.real_descriptors_64.any()


def test_merge_state_equals_single_pass() -> None:
    real, fake = smooth_images(8, 0), smooth_images(8, 1, coarse=4)
    halves = [SlicedWassersteinDistance(4, SIZE, seed=2) for _ in range(2)]
    for metric, part in zip(halves, (slice(0, 4), slice(4, 8)), strict=True):
        metric.update(real[part], real=True)
        metric.update(fake[part], real=False)
    halves[0].merge_state(halves[1])
    sets = [
        [
            torch.cat([a.half(), b.half()])
            for a, b in zip(
                descriptors(images[:4], 2, stream),
                descriptors(images[4:], 2, stream),
                strict=True,
            )
        ]
        for stream, images in enumerate((real, fake))
    ]
    expected = expected_levels(sets[0], sets[1], seed=2)
    torch.testing.assert_close(halves[0].compute().levels, expected, rtol=1e-6, atol=1e-6)


def test_distributed_sync_equals_merge() -> None:
    real, fake = smooth_images(6, 0), smooth_images(6, 1, coarse=4)
    ranks = [SlicedWassersteinDistance(3, SIZE, seed=0) for _ in range(2)]
    for metric, part in zip(ranks, (slice(0, 3), slice(3, 6)), strict=True):
        metric.update(real[part], real=True)
        metric.update(fake[part], real=False)
    other_states = iter([ranks[1].metric_state[name] for name in ranks[1]._reductions])

    def fake_gather(tensor: torch.Tensor, group: object = None) -> list[torch.Tensor]:
        return [tensor, next(other_states)]

    ranks[0].dist_sync_fn = fake_gather
    ranks[0].distributed_available_fn = lambda: True
    synced = ranks[0].compute()
    assert ranks[0].real_count.tolist() == [3]  # unsynced back to the local state
    merged = ranks[1].clone()
    merged.merge_state({name: value.clone() for name, value in ranks[0].metric_state.items()})
    torch.testing.assert_close(synced.levels, merged.compute().levels, rtol=1e-6, atol=1e-6)


def test_update_after_merge_fills_remaining_capacity() -> None:
    real, fake = smooth_images(6, 0), smooth_images(6, 1, coarse=4)
    first, second = SlicedWassersteinDistance(3, SIZE), SlicedWassersteinDistance(3, SIZE)
    first.update(real[:2], True)
    second.update(real[2:3], True)
    first.merge_state(second)
    first.update(real[3:6], True)  # 1 into the first copy, 2 into the second
    assert first.real_count.tolist() == [3, 3]
    with pytest.raises(ValueError, match="real set overflow"):
        first.update(real[:1], True)
    first.update(fake, False)
    assert first.fake_count.tolist() == [3, 3]
    assert first.compute().levels.shape == (2,)


def test_keep_real_across_reset() -> None:
    real = smooth_images(6, 0)
    fakes = [smooth_images(6, seed, coarse=4) for seed in (1, 2)]
    metric = SlicedWassersteinDistance(
        6, SIZE, seed=5, reset_real_features=False, descriptor_dtype=torch.float32
    )
    metric.update(real, real=True)
    for fake in fakes:
        metric.update(fake, real=False)
        expected = sliced_wasserstein_distance(real, fake, seed=5)
        torch.testing.assert_close(metric.compute().levels, expected.levels, rtol=1e-6, atol=1e-6)
        metric.reset()
        assert metric.real_count.tolist() == [6]
        assert metric.fake_count.tolist() == [0]


def test_default_reset_clears_real() -> None:
    metric = SlicedWassersteinDistance(4, SIZE)
    metric.update(smooth_images(4, 0), real=True)
    metric.reset()
    assert metric.real_count.tolist() == [0]
    metric.update(smooth_images(4, 1), real=False)
    with pytest.raises(ValueError, match="0 real and 4 fake"):
        metric.compute()


def test_unequal_set_sizes_raise() -> None:
    metric = SlicedWassersteinDistance(4, SIZE)
    metric.update(smooth_images(4, 0), real=True)
    metric.update(smooth_images(3, 1), real=False)
    with pytest.raises(ValueError, match="4 real and 3 fake"):
        metric.compute()


def test_capacity_overflow_raises() -> None:
    metric = SlicedWassersteinDistance(4, SIZE)
    metric.update(smooth_images(3, 0), real=False)
    with pytest.raises(ValueError, match=r"num_images=4 per set and holds 3; cannot add 2"):
        metric.update(smooth_images(2, 1), real=False)
    assert metric.fake_count.tolist() == [3]  # the failed update stored nothing


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"num_images": 0, "image_size": 32}, "num_images must be >= 1, got 0"),
        ({"num_images": 4, "image_size": 40}, "power of two >= 16, got 40"),
        (
            {"num_images": 4, "image_size": 32, "descriptor_dtype": torch.bfloat16},
            "descriptor_dtype",
        ),
    ],
)
def test_invalid_construction_raises(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        SlicedWassersteinDistance(**kwargs)


def test_wrong_image_size_raises() -> None:
    metric = SlicedWassersteinDistance(4, 64)
    with pytest.raises(ValueError, match=r"\[n, 3, 64, 64\], got \[2, 3, 32, 32\]"):
        metric.update(smooth_images(2, 0), real=True)


def test_forward_only_updates() -> None:
    metric = SlicedWassersteinDistance(4, SIZE)
    assert metric(smooth_images(2, 0), real=True) is None
    assert metric.real_count.tolist() == [2]


@pytest.mark.gpu
def test_metric_on_cuda_matches_cpu() -> None:
    real, fake = smooth_images(8, 0), smooth_images(8, 1, coarse=4)
    results = []
    for device in ("cpu", "cuda"):
        metric = SlicedWassersteinDistance(8, SIZE, seed=1).to(device)
        metric.update(real.to(device), real=True)
        metric.update(fake.to(device), real=False)
        assert metric.real_descriptors_32.device.type == device
        results.append(metric.compute().levels.cpu())
    torch.testing.assert_close(results[1], results[0], rtol=1e-4, atol=1e-3)


def test_inference_mode_reset_and_merge_then_update_outside() -> None:
    metric, other = SlicedWassersteinDistance(4, SIZE), SlicedWassersteinDistance(4, SIZE)
    with torch.inference_mode():
        metric.update(smooth_images(2, 0), real=True)
        metric.reset()
        metric.update(smooth_images(1, 0), real=True)
        other.update(smooth_images(1, 1), real=True)
        metric.merge_state(other)
    metric.update(smooth_images(2, 2), real=True)  # outside inference mode
    assert metric.real_count.tolist() == [3, 1]
