"""Tests for ganlens.functional.sliced_wasserstein against an independent numpy reference.

The reference below re-implements Karras et al. 2018, appendix D step by step in
float64 numpy with ``scipy.ndimage.convolve(mode="mirror")``, loops for the patches and plain
matrix products for the projections. It shares no code with the torch implementation; only the
random patch positions and directions are passed to both.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy import ndimage

from ganlens.functional import level_resolutions, sliced_wasserstein_distance
from ganlens.functional.laplacian_pyramid import laplacian_pyramid, pyramid_down, pyramid_up
from ganlens.functional.sliced_wasserstein import (
    _random_directions,
    _random_patch_positions,
    _sliced_wasserstein_compute,
    _sliced_wasserstein_update,
    _sort_rows_,
)

# ---------------------------------------------------------------- numpy reference (float64)

KERNEL_1D = np.array([1.0, 4.0, 6.0, 4.0, 1.0])
KERNEL_5X5 = np.outer(KERNEL_1D, KERNEL_1D) / 256.0


def ref_uint8_values(images: np.ndarray) -> np.ndarray:
    if images.dtype == np.uint8:
        return images.astype(np.float64)
    return np.clip(np.rint((images.astype(np.float64) + 1.0) * 127.5), 0.0, 255.0)


def ref_blur(images: np.ndarray, gain: float) -> np.ndarray:
    kernel = (KERNEL_5X5 * gain)[np.newaxis, np.newaxis]
    return ndimage.convolve(images, kernel, mode="mirror")


def ref_down(images: np.ndarray) -> np.ndarray:
    return ref_blur(images, 1.0)[:, :, ::2, ::2]


def ref_up(images: np.ndarray) -> np.ndarray:
    n, c, h, w = images.shape
    zeros = np.zeros((n, c, 2 * h, 2 * w))
    zeros[:, :, ::2, ::2] = images
    return ref_blur(zeros, 4.0)


def ref_pyramid(images: np.ndarray) -> list[np.ndarray]:
    levels = [images]
    while levels[-1].shape[-1] > 16:
        coarse = ref_down(levels[-1])
        levels[-1] = levels[-1] - ref_up(coarse)
        levels.append(coarse)
    return levels


def ref_patches(level: np.ndarray, corners: np.ndarray) -> np.ndarray:
    rows = []
    for image, image_corners in zip(level, corners, strict=True):
        for y, x in image_corners:
            rows.append(image[:, y : y + 7, x : x + 7].reshape(-1))
    return np.stack(rows)


def ref_normalize(descriptors: np.ndarray, reference: np.ndarray | None = None) -> np.ndarray:
    per_channel = descriptors.reshape(len(descriptors), 3, 49)
    stats = per_channel if reference is None else reference.reshape(len(reference), 3, 49)
    mean = stats.mean(axis=(0, 2), keepdims=True)
    std = stats.std(axis=(0, 2), keepdims=True)
    return ((per_channel - mean) / std).reshape(len(descriptors), -1)


def ref_swd(real: np.ndarray, fake: np.ndarray, directions: np.ndarray) -> float:
    results = []
    for dirs in directions:
        proj_real = np.sort(real @ dirs, axis=0)
        proj_fake = np.sort(fake @ dirs, axis=0)
        results.append(np.mean(np.abs(proj_real - proj_fake)))
    return float(np.mean(results))


def ref_descriptors(images: np.ndarray, positions: list[np.ndarray]) -> list[np.ndarray]:
    pyramid = ref_pyramid(ref_uint8_values(images))
    return [ref_patches(lvl, pos) for lvl, pos in zip(pyramid, positions, strict=True)]


def ref_sliced_wasserstein(
    real: np.ndarray,
    fake: np.ndarray,
    real_positions: list[np.ndarray],
    fake_positions: list[np.ndarray],
    directions: np.ndarray,
    normalize: str = "per_set",
) -> np.ndarray:
    """Per-level SWD x1e3 then the mean, like Karras' list ``dist + [mean(dist)]``.

    ``normalize="reference"`` standardises the fake descriptors with the real ones' statistics.
    """
    real_desc = ref_descriptors(real, real_positions)
    fake_desc = ref_descriptors(fake, fake_positions)
    dist = [
        ref_swd(ref_normalize(r), ref_normalize(f, r if normalize == "reference" else None), d)
        * 1e3
        for r, f, d in zip(real_desc, fake_desc, directions, strict=True)
    ]
    return np.array([*dist, np.mean(dist)])


# ---------------------------------------------------------------- helpers


def smooth_images(
    n: int, size: int, seed: int, coarse: int = 8, noise: float = 0.0
) -> torch.Tensor:
    """Random smooth images in [-1, 1]: bilinear upsampling of coarse noise, plus pixel noise."""
    generator = torch.Generator().manual_seed(seed)
    base = torch.rand(n, 3, coarse, coarse, generator=generator) * 2 - 1
    images = F.interpolate(base, size=size, mode="bilinear", align_corners=False)
    images = images + noise * torch.randn(n, 3, size, size, generator=generator)
    return images.clamp(-1, 1)


def draw(
    n: int, size: int, seed: int
) -> tuple[list[torch.Tensor], list[torch.Tensor], torch.Tensor]:
    resolutions = level_resolutions(size)
    real_pos = _random_patch_positions(n, resolutions, torch.Generator().manual_seed(seed))
    fake_pos = _random_patch_positions(n, resolutions, torch.Generator().manual_seed(seed + 1))
    directions = _random_directions(len(resolutions), torch.Generator().manual_seed(seed + 2))
    return real_pos, fake_pos, directions


def torch_swd(real, fake, real_pos, fake_pos, directions, normalize="per_set") -> torch.Tensor:
    levels = _sliced_wasserstein_compute(
        _sliced_wasserstein_update(real, real_pos),
        _sliced_wasserstein_update(fake, fake_pos),
        directions,
        normalize,
    )
    return torch.cat([levels, levels.mean()[None]])


# ---------------------------------------------------------------- parity with the reference


@pytest.mark.parametrize(
    ("size", "as_uint8", "normalize"),
    [
        (32, False, "per_set"),
        (64, False, "per_set"),
        (32, True, "per_set"),
        (32, False, "reference"),
        (64, True, "reference"),
    ],
)
def test_matches_numpy_reference(size: int, as_uint8: bool, normalize: str) -> None:
    real = smooth_images(6, size, seed=1, noise=0.2)
    fake = smooth_images(6, size, seed=2, coarse=4, noise=0.05)
    if as_uint8:
        real = ((real + 1) * 127.5).round().to(torch.uint8)
        fake = ((fake + 1) * 127.5).round().to(torch.uint8)
    real_pos, fake_pos, directions = draw(6, size, seed=3)
    expected = ref_sliced_wasserstein(
        real.numpy(),
        fake.numpy(),
        [p.numpy() for p in real_pos],
        [p.numpy() for p in fake_pos],
        directions.double().numpy(),
        normalize,
    )
    actual = torch_swd(real, fake, real_pos, fake_pos, directions, normalize)
    assert actual.shape == (len(level_resolutions(size)) + 1,)
    np.testing.assert_allclose(actual.double().numpy(), expected, rtol=1e-5, atol=1e-4)


def test_descriptors_match_numpy_reference() -> None:
    images = smooth_images(4, 64, seed=5, noise=0.3)
    positions, _, _ = draw(4, 64, seed=6)
    expected = ref_descriptors(images.numpy(), [p.numpy() for p in positions])
    actual = _sliced_wasserstein_update(images, positions)
    for act, exp in zip(actual, expected, strict=True):
        assert act.shape == (4 * 128, 147)
        np.testing.assert_allclose(act.double().numpy(), exp, rtol=0, atol=1e-4)


def test_pyramid_matches_reference_and_reconstructs() -> None:
    values = torch.rand(3, 3, 64, 64, dtype=torch.float64) * 255
    pyramid = laplacian_pyramid(values)
    for act, exp in zip(pyramid, ref_pyramid(values.numpy()), strict=True):
        np.testing.assert_allclose(act.numpy(), exp, rtol=0, atol=1e-9)
    reconstruction = pyramid[-1]
    for band in reversed(pyramid[:-1]):
        reconstruction = band + pyramid_up(reconstruction)
    torch.testing.assert_close(reconstruction, values, rtol=0, atol=1e-9)


@pytest.mark.parametrize("shape", [(2, 3, 16, 16), (1, 2, 6, 10), (1, 1, 5, 7)])
def test_down_and_up_match_reference(shape: tuple[int, ...]) -> None:
    values = torch.rand(shape, dtype=torch.float64) * 255
    np.testing.assert_allclose(pyramid_down(values).numpy(), ref_down(values.numpy()), atol=1e-9)
    np.testing.assert_allclose(pyramid_up(values).numpy(), ref_up(values.numpy()), atol=1e-9)


def test_pyramid_functions_validate_input() -> None:
    with pytest.raises(ValueError, match=r"H, W >= 3, got torch.float32 of shape \[1, 1, 2, 8\]"):
        pyramid_down(torch.zeros(1, 1, 2, 8))
    with pytest.raises(ValueError, match="floating point"):
        pyramid_up(torch.zeros(1, 1, 4, 4, dtype=torch.uint8))
    with pytest.raises(ValueError, match=r"square \[N, C, S, S\], got \[1, 3, 32, 64\]"):
        laplacian_pyramid(torch.zeros(1, 3, 32, 64))
    with pytest.raises(ValueError, match="power of two >= 16, got 24"):
        laplacian_pyramid(torch.zeros(1, 3, 24, 24))


def test_cpu_sort_fast_path_equals_torch_sort() -> None:
    values = torch.randn(5, 1000)
    torch.testing.assert_close(_sort_rows_(values.clone()), torch.sort(values, dim=-1).values)


def test_float32_pyramid_reconstructs() -> None:
    values = torch.rand(2, 3, 128, 128) * 255
    pyramid = laplacian_pyramid(values)
    reconstruction = pyramid[-1]
    for band in reversed(pyramid[:-1]):
        reconstruction = band + pyramid_up(reconstruction)
    torch.testing.assert_close(reconstruction, values, rtol=0, atol=1e-3)


@pytest.mark.parametrize(
    ("size", "expected"), [(32, (32, 16)), (64, (64, 32, 16)), (128, (128, 64, 32, 16))]
)
def test_level_count_and_order(size: int, expected: tuple[int, ...]) -> None:
    assert level_resolutions(size) == expected
    pyramid = laplacian_pyramid(torch.rand(1, 3, size, size))
    assert [level.shape[-1] for level in pyramid] == list(expected)
    result = sliced_wasserstein_distance(smooth_images(2, size, 0), smooth_images(2, size, 1))
    assert result.resolutions == expected
    assert result.levels.shape == (len(expected),)
    torch.testing.assert_close(result.mean, result.levels.mean())


def test_low_pass_residual_is_blurred_image() -> None:
    values = torch.rand(2, 3, 32, 32, dtype=torch.float64) * 255
    residual = laplacian_pyramid(values)[-1]
    np.testing.assert_allclose(residual.numpy(), ref_down(values.numpy()), atol=1e-9)


def test_uint8_conversion_rounds_and_clamps() -> None:
    images = torch.zeros(1, 3, 16, 16)
    images[0, 0, 0, :6] = torch.tensor([-1.5, -1.0, 0.0, 1.0, 2.0, -0.99])
    positions = [torch.zeros(1, 128, 2, dtype=torch.long)]
    descriptors = _sliced_wasserstein_update(images, positions)[0]
    first_row = descriptors[0, :6]
    torch.testing.assert_close(first_row, torch.tensor([0.0, 0.0, 128.0, 255.0, 255.0, 1.0]))


# ---------------------------------------------------------------- behaviour


def test_identical_descriptor_sets_give_zero() -> None:
    images = smooth_images(4, 32, seed=0, noise=0.1)
    positions, _, directions = draw(4, 32, seed=1)
    swd = torch_swd(images, images, positions, positions, directions)
    assert torch.equal(swd, torch.zeros_like(swd))


def test_larger_shift_gives_larger_distance() -> None:
    # Pixel noise mostly changes the finest band, so the 32x32 level and the mean must both order
    # real-vs-real < small shift < large shift.
    real = smooth_images(48, 32, seed=10)
    results = [
        sliced_wasserstein_distance(real, smooth_images(48, 32, seed=11, noise=noise), seed=0)
        for noise in (0.0, 0.1, 0.3)
    ]
    finest = [result.levels[0] for result in results]
    means = [result.mean for result in results]
    assert finest[0] < finest[1] < finest[2]
    assert means[0] < means[1] < means[2]


def test_reference_normalisation_sees_spread_that_per_set_normalisation_removes() -> None:
    # A fake set that is the real set at a third of the contrast: Karras' per-set normalisation
    # rescales it back (the same distance as the unscaled set), the real set's statistics do not.
    real = smooth_images(16, 32, seed=20, noise=0.1)
    low_contrast = real / 3
    same = sliced_wasserstein_distance(real, real, seed=1)
    per_set = sliced_wasserstein_distance(real, low_contrast, seed=1)
    reference = sliced_wasserstein_distance(real, low_contrast, seed=1, normalize="reference")
    torch.testing.assert_close(per_set.levels, same.levels, rtol=0.05, atol=0.0)
    assert bool((reference.levels > 5 * same.levels).all())
    # both sets standardised alike: the same patches of the same images are still 0 apart
    positions, _, directions = draw(16, 32, seed=2)
    swd = torch_swd(real, real, positions, positions, directions, "reference")
    assert torch.equal(swd, torch.zeros_like(swd))


def test_unknown_normalisation_raises() -> None:
    images = smooth_images(2, 16, seed=0)
    with pytest.raises(ValueError, match=r"normalize must be one of \('per_set', 'reference'\)"):
        sliced_wasserstein_distance(images, images, normalize="karras")  # type: ignore[arg-type]
    positions, _, directions = draw(2, 16, seed=0)
    descriptors = _sliced_wasserstein_update(images, positions)
    with pytest.raises(ValueError, match="got 'real'"):
        _sliced_wasserstein_compute(descriptors, descriptors, directions, "real")  # type: ignore[arg-type]


def test_seed_reproducible_and_batching_invariant() -> None:
    real, fake = smooth_images(7, 32, 0), smooth_images(7, 32, 1, coarse=4)
    first = sliced_wasserstein_distance(real, fake, seed=4)
    again = sliced_wasserstein_distance(real, fake, seed=4, batch_size=3)
    other = sliced_wasserstein_distance(real, fake, seed=5)
    torch.testing.assert_close(first.levels, again.levels, rtol=1e-6, atol=1e-6)
    assert not torch.allclose(first.levels, other.levels)


def test_float_and_uint8_inputs_agree() -> None:
    real, fake = smooth_images(4, 32, 0), smooth_images(4, 32, 1, coarse=4)
    as_uint8 = [((x + 1) * 127.5).round().to(torch.uint8) for x in (real, fake)]
    from_float = sliced_wasserstein_distance(real, fake, seed=2)
    from_uint8 = sliced_wasserstein_distance(*as_uint8, seed=2)
    torch.testing.assert_close(from_float.levels, from_uint8.levels, rtol=0, atol=0)


@pytest.mark.parametrize(
    ("real_shape", "fake_shape", "match"),
    [
        ((4, 3, 32, 32), (5, 3, 32, 32), "same non-empty shape"),
        ((4, 3, 32, 32), (4, 3, 64, 64), "same non-empty shape"),
        ((0, 3, 32, 32), (0, 3, 32, 32), "same non-empty shape"),
        ((4, 1, 32, 32), (4, 1, 32, 32), r"\[N, 3, S, S\], got \[4, 1, 32, 32\]"),
        ((4, 3, 32, 16), (4, 3, 32, 16), r"\[N, 3, S, S\]"),
        ((4, 3, 48, 48), (4, 3, 48, 48), "power of two"),
        ((4, 3, 8, 8), (4, 3, 8, 8), "power of two >= 16, got 8"),
    ],
)
def test_invalid_inputs_raise(real_shape, fake_shape, match) -> None:
    with pytest.raises(ValueError, match=match):
        sliced_wasserstein_distance(torch.zeros(real_shape), torch.zeros(fake_shape))


def test_invalid_dtype_and_positions_raise() -> None:
    with pytest.raises(ValueError, match="uint8 or floating point"):
        sliced_wasserstein_distance(
            torch.zeros(2, 3, 16, 16, dtype=torch.long), torch.zeros(2, 3, 16, 16)
        )
    images = torch.zeros(2, 3, 16, 16)
    with pytest.raises(ValueError, match="positions for 1 levels"):
        _sliced_wasserstein_update(images, [])
    with pytest.raises(ValueError, match=r"shape \[2, P, 2\]"):
        _sliced_wasserstein_update(images, [torch.zeros(3, 128, 2, dtype=torch.long)])
    with pytest.raises(ValueError, match=r"\[0, 9\]"):
        _sliced_wasserstein_update(images, [torch.full((2, 128, 2), 10)])


@pytest.mark.gpu
def test_cuda_matches_cpu() -> None:
    real, fake = smooth_images(8, 64, 0), smooth_images(8, 64, 1, coarse=4)
    cpu = sliced_wasserstein_distance(real, fake, seed=3)
    cuda = sliced_wasserstein_distance(real.cuda(), fake.cuda(), seed=3)
    assert cuda.levels.device.type == "cuda"
    torch.testing.assert_close(cuda.levels.cpu(), cpu.levels, rtol=1e-4, atol=1e-3)


def test_patch_positions_uniform_over_valid_corners() -> None:
    generator = torch.Generator().manual_seed(0)
    positions = _random_patch_positions(400, (32, 16), generator)  # 400 * 128 * 2 draws per level
    for corners, resolution in zip(positions, (32, 16), strict=True):
        assert corners.shape == (400, 128, 2) and corners.dtype == torch.long
        counts = torch.bincount(corners.flatten(), minlength=resolution - 6)
        assert counts.numel() == resolution - 6  # corners 0 .. S - 7, nothing beyond
        expected = corners.numel() / (resolution - 6)
        assert counts.min() > 0.9 * expected and counts.max() < 1.1 * expected
    again = _random_patch_positions(400, (32, 16), torch.Generator().manual_seed(0))
    generator = torch.Generator().manual_seed(0)
    head = _random_patch_positions(150, (32, 16), generator)
    tail = _random_patch_positions(250, (32, 16), generator)
    chunked = [torch.cat(parts) for parts in zip(head, tail, strict=True)]
    for whole, first, pieces in zip(positions, again, chunked, strict=True):
        assert torch.equal(whole, first) and torch.equal(whole, pieces)
