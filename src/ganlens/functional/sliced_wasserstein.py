"""Sliced Wasserstein Distance (SWD) between two image sets, as pure tensor functions.

Follows Karras et al., "Progressive Growing of GANs for Improved Quality, Stability, and
Variation" (ICLR 2018, arXiv:1710.10196), appendix D:

1. Images become uint8 values ``round((clamp(x, -1, 1) + 1) * 127.5)``
   (:func:`ganlens.images.to_uint8`; uint8 input is used as is), kept as float32.
2. A Laplacian pyramid with the 5x5 binomial kernel ``outer([1, 4, 6, 4, 1]) / 256`` and mirror
   padding that does not repeat the edge (``torch`` "reflect", ``scipy.ndimage`` "mirror"):
   ``down`` blurs and keeps every second pixel; ``up`` inserts zeros and blurs with 4x the kernel;
   band ``i`` is ``G_i - up(G_{i+1})``, from the image resolution down to 16x16, where the last
   level is the low-pass residual ``G`` itself.
3. Per level, 128 random 7x7x3 patches per image; a patch's top-left corner is uniform over all
   positions where the patch fits, drawn with replacement. A descriptor is the patch flattened in
   (channel, row, column) order: 147 values.
4. Each set's descriptors are normalised by that set's per-channel mean and population std.
   ``normalize="reference"`` instead normalises both sets by the *real* set's statistics (a
   deviation from Karras, see below).
5. For each of 4 repeats, 128 random unit directions; both sets are projected, each projection is
   sorted and the mean absolute difference taken; the repeats are averaged.
6. Each level is reported x1e3, highest resolution first, plus the plain mean over levels.

Randomness comes from explicit seeds on CPU generators, so a result does not depend on the device.
With seed ``s`` the real set's patch positions come from ``torch.Generator().manual_seed(3 * s)``,
the fake set's from ``3 * s + 1`` and the directions from ``3 * s + 2``; the two sets therefore
use independent positions, and ``sliced_wasserstein_distance(x, x)`` is the sampling noise floor,
not 0. The private helpers take explicit positions and directions so tests can fix them.

Karras' per-set normalisation (step 4) makes SWD blind to how much a set's patches vary: a fake
set that is noisy throughout is rescaled to unit spread like the real one, and its normalised
white-noise patches can lie closer to the real patches than those of a cleaner set with the wrong
structure. Comparing a small set against real images for how unreal it looks (the artifact scores
of GAN Dissection, Bau et al., ICLR 2019, section 4.3) needs that spread, so
``normalize="reference"`` standardises both sets with the real set's per-channel mean and std:
the real set is normalised as in Karras, the fake set keeps its scale relative to the real one.
Values then differ from Karras' SWD and the two are not comparable; the training monitor keeps
the default ``"per_set"``.

Everything runs on the inputs' device; on CPU the projections are sorted with numpy's SIMD sort,
which gives the same values as ``torch.sort`` about 8x faster.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, NamedTuple

import torch
from torch import Tensor

from ganlens.functional.laplacian_pyramid import laplacian_pyramid, level_resolutions
from ganlens.images import to_uint8

NUM_CHANNELS = 3
PATCH_SIZE = 7
PATCHES_PER_IMAGE = 128
NUM_REPEATS = 4
DIRECTIONS_PER_REPEAT = 128
DESCRIPTOR_SIZE = NUM_CHANNELS * PATCH_SIZE * PATCH_SIZE  # 147
SWD_NORMALIZATIONS = ("per_set", "reference")
"""Values of ``normalize``: Karras' per-set statistics, or the real (reference) set's for both."""

Normalization = Literal["per_set", "reference"]


class SlicedWassersteinResult(NamedTuple):
    """SWD per pyramid level and their mean.

    Attributes:
        levels: ``[L]`` float32, SWD x1e3 per level, highest resolution first.
        mean: ``[]`` float32, plain mean of ``levels``.
        resolutions: the side length of each level, e.g. ``(64, 32, 16)``.

    Example:
        >>> result = SlicedWassersteinResult(torch.tensor([4.0, 2.0]), torch.tensor(3.0), (32, 16))
        >>> {f"swd/{res}": float(value) for res, value in zip(result.resolutions, result.levels)}
        {'swd/32': 4.0, 'swd/16': 2.0}
    """

    levels: Tensor
    mean: Tensor
    resolutions: tuple[int, ...]


def _check_images(images: Tensor, name: str = "images") -> None:
    """Raise ``ValueError`` unless ``images`` is uint8 or float ``[N, 3, S, S]`` with a valid S."""
    if images.ndim != 4 or images.shape[1] != NUM_CHANNELS or images.shape[2] != images.shape[3]:
        raise ValueError(
            f"{name} must have shape [N, {NUM_CHANNELS}, S, S], got {list(images.shape)}"
        )
    level_resolutions(images.shape[-1])
    if images.dtype != torch.uint8 and not images.is_floating_point():
        raise ValueError(f"{name} must be uint8 or floating point in [-1, 1], got {images.dtype}")


def _images_to_uint8_values(images: Tensor, name: str = "images") -> Tensor:
    """Validate images and return their uint8 values as float32 ``[N, 3, S, S]``."""
    _check_images(images, name)
    return to_uint8(images).float()  # [N, 3, S, S]; uint8 input is taken as it is


def _random_patch_positions(
    num_images: int, resolutions: Sequence[int], generator: torch.Generator
) -> list[Tensor]:
    """Draw top-left patch corners, uniform over valid positions, with replacement.

    One ``[num_images, L, 128, 2]`` uniform draw, image-major, so drawing a set in chunks gives the
    same positions as drawing it at once.

    Returns:
        Per level, int64 ``[num_images, 128, 2]`` (row, column) on CPU.
    """
    shape = (num_images, len(resolutions), PATCHES_PER_IMAGE, 2)
    uniform = torch.rand(shape, generator=generator, dtype=torch.float64)  # [N, L, P, 2]
    positions = []
    for level, resolution in enumerate(resolutions):
        valid = resolution - PATCH_SIZE + 1
        corner = (uniform[:, level] * valid).floor().long().clamp_(max=valid - 1)  # [N, P, 2]
        positions.append(corner)
    return positions


def _random_directions(num_levels: int, generator: torch.Generator) -> Tensor:
    """Random unit directions, ``[L, 4, 147, 128]`` float32 on CPU (unit along dim 2)."""
    shape = (num_levels, NUM_REPEATS, DESCRIPTOR_SIZE, DIRECTIONS_PER_REPEAT)
    directions = torch.randn(shape, generator=generator)  # [L, R, D, K]
    norms = torch.linalg.vector_norm(directions, dim=2, keepdim=True)  # [L, R, 1, K]
    return torch.div(directions, norms)


def _extract_patches(level: Tensor, positions: Tensor) -> Tensor:
    """Gather 7x7 patches: ``[N, C, h, w]`` and ``[N, P, 2]`` -> descriptors ``[N * P, C * 49]``."""
    n, c, h, w = level.shape
    if positions.shape[:1] != (n,) or positions.ndim != 3 or positions.shape[2] != 2:
        raise ValueError(f"positions must have shape [{n}, P, 2], got {list(positions.shape)}")
    positions = positions.to(device=level.device, dtype=torch.long)
    if positions.numel() and (positions.min() < 0 or positions.max() > min(h, w) - PATCH_SIZE):
        raise ValueError(f"patch positions must lie in [0, {min(h, w) - PATCH_SIZE}]")
    offsets = torch.arange(PATCH_SIZE, device=level.device)
    rows = positions[:, :, 0, None] + offsets  # [N, P, 7]
    cols = positions[:, :, 1, None] + offsets  # [N, P, 7]
    index = (rows[:, :, :, None] * w + cols[:, :, None, :]).reshape(n, 1, -1)  # [N, 1, P * 49]
    patches = level.reshape(n, c, h * w).gather(2, index.expand(n, c, -1))  # [N, C, P * 49]
    patches = patches.view(n, c, -1, PATCH_SIZE * PATCH_SIZE).transpose(1, 2)  # [N, P, C, 49]
    return patches.reshape(-1, c * PATCH_SIZE * PATCH_SIZE)  # [N * P, C * 49]


def _sliced_wasserstein_update(images: Tensor, positions: Sequence[Tensor]) -> list[Tensor]:
    """Turn images into per-level patch descriptors.

    Args:
        images: ``[N, 3, S, S]`` float in [-1, 1] or uint8.
        positions: per level, ``[N, P, 2]`` top-left (row, column) patch corners.

    Returns:
        Per level, float32 descriptors ``[N * P, 147]`` of raw (unnormalised) pyramid values.

    Raises:
        ValueError: on a wrong image shape or dtype, or positions that do not match the levels.
    """
    values = _images_to_uint8_values(images)  # [N, 3, S, S]
    pyramid = laplacian_pyramid(values)
    if len(positions) != len(pyramid):
        raise ValueError(f"expected positions for {len(pyramid)} levels, got {len(positions)}")
    return [_extract_patches(level, pos) for level, pos in zip(pyramid, positions, strict=True)]


def _check_normalize(normalize: str) -> None:
    """Raise ``ValueError`` unless ``normalize`` is one of :data:`SWD_NORMALIZATIONS`."""
    if normalize not in SWD_NORMALIZATIONS:
        raise ValueError(f"normalize must be one of {SWD_NORMALIZATIONS}, got {normalize!r}")


def _normalize_descriptors(descriptors: Tensor, reference: Tensor | None = None) -> Tensor:
    """Standardise ``[M, 147]`` descriptors per colour channel (population std).

    The per-channel mean and std are those of ``reference`` (``[M', 147]``), or of
    ``descriptors`` themselves when it is None (Karras et al. 2018, appendix D).
    """
    per_channel = descriptors.float().view(descriptors.shape[0], NUM_CHANNELS, -1)  # [M, 3, 49]
    source = per_channel
    if reference is not None:
        source = reference.float().view(reference.shape[0], NUM_CHANNELS, -1)  # [M', 3, 49]
    std, mean = torch.std_mean(source, dim=(0, 2), correction=0, keepdim=True)  # [1, 3, 1]
    std = torch.where(std > 0, std, torch.ones_like(std))  # a constant channel maps to 0
    return ((per_channel - mean) / std).view(descriptors.shape[0], -1)  # [M, 147]


def _sort_rows_(values: Tensor) -> Tensor:
    """Sort each row of ``[K, M]`` ascending, in place; on CPU with numpy's (~8x faster) sort."""
    if values.device.type == "cpu" and not values.requires_grad:
        values.numpy().sort(axis=-1)
        return values
    return torch.sort(values, dim=-1).values


def _sliced_wasserstein_level(real: Tensor, fake: Tensor, directions: Tensor) -> Tensor:
    """SWD of two normalised ``[M, D]`` sets over ``[R, D, K]`` directions, averaged over R."""
    distances = []
    for repeat in directions:  # [D, K]
        real_sorted = _sort_rows_(repeat.T @ real.T)  # [K, M]
        fake_sorted = _sort_rows_(repeat.T @ fake.T)  # [K, M]
        distances.append(real_sorted.sub_(fake_sorted).abs_().mean())
    return torch.stack(distances).mean()


def _sliced_wasserstein_compute(
    real_descriptors: Sequence[Tensor],
    fake_descriptors: Sequence[Tensor],
    directions: Tensor,
    normalize: Normalization = "per_set",
) -> Tensor:
    """Per-level SWD x1e3 from both sets' raw descriptors.

    Args:
        real_descriptors: per level, ``[M, 147]`` raw descriptors of the real set.
        fake_descriptors: per level, ``[M, 147]`` raw descriptors of the fake set (same ``M``).
        directions: ``[L, R, 147, K]`` unit directions (unit norm along dim 2).
        normalize: ``"per_set"`` (Karras) or ``"reference"`` (both sets by the real set's
            per-channel statistics); see the module docstring.

    Returns:
        ``[L]`` float32, SWD x1e3 per level, on the descriptors' device.

    Raises:
        ValueError: if the sets differ in levels or size, ``directions`` does not match, or
            ``normalize`` is unknown.
    """
    _check_normalize(normalize)
    num_levels = len(real_descriptors)
    if len(fake_descriptors) != num_levels or num_levels == 0:
        raise ValueError(
            f"real and fake must have the same (non-zero) number of levels, got "
            f"{num_levels} and {len(fake_descriptors)}"
        )
    if directions.ndim != 4 or directions.shape[0] != num_levels:
        raise ValueError(
            f"directions must have shape [{num_levels}, R, {DESCRIPTOR_SIZE}, K], "
            f"got {list(directions.shape)}"
        )
    levels = []
    for real, fake, level_directions in zip(
        real_descriptors, fake_descriptors, directions, strict=True
    ):
        if real.shape != fake.shape or real.ndim != 2 or real.shape[1] != DESCRIPTOR_SIZE:
            raise ValueError(
                f"real and fake descriptors must both have shape [M, {DESCRIPTOR_SIZE}], got "
                f"{list(real.shape)} and {list(fake.shape)}"
            )
        level_directions = level_directions.to(device=real.device, dtype=torch.float32)
        reference = real if normalize == "reference" else None
        swd = _sliced_wasserstein_level(
            _normalize_descriptors(real),
            _normalize_descriptors(fake, reference),
            level_directions,
        )
        levels.append(swd * 1e3)
    return torch.stack(levels)  # [L]


def _seeded_generator(seed: int, stream: int) -> torch.Generator:
    """CPU generator for one of the three streams (0 real, 1 fake, 2 directions) of ``seed``."""
    return torch.Generator().manual_seed(3 * seed + stream)


def sliced_wasserstein_distance(
    real: Tensor,
    fake: Tensor,
    seed: int = 0,
    batch_size: int = 256,
    normalize: Normalization = "per_set",
) -> SlicedWassersteinResult:
    """Sliced Wasserstein Distance of Karras et al. (2018, appendix D) between two image sets.

    Args:
        real: ``[N, 3, S, S]`` float in [-1, 1] or uint8; ``S`` a power of two >= 16.
        fake: ``[N, 3, S, S]``, same ``N`` and ``S`` as ``real``.
        seed: seeds the patch positions and directions; equal seeds give equal results.
        batch_size: images turned into descriptors at a time (memory only, not the result).
        normalize: how each level's ``[N * 128, 147]`` patch descriptors are standardised per
            colour channel before projecting: ``"per_set"`` (Karras, appendix D) by each set's
            own mean and std; ``"reference"`` both sets by the mean and std of ``real``'s
            descriptors, so that a fake set with too much (or too little) spread, e.g. noisy
            images, stays far from ``real`` (not Karras' SWD; see the module docstring).

    Returns:
        :class:`SlicedWassersteinResult` with ``levels`` ``[L]`` (x1e3, highest resolution first),
        ``mean`` ``[]`` and ``resolutions``, on the inputs' device. The two sets get independent
        patch positions, so two samples of one distribution (or one set twice) give the noise
        floor, which shrinks like ``1/sqrt(N)``; compare values only at equal ``N``.

    Raises:
        ValueError: if a set has the wrong shape or dtype, the sets differ in size or resolution,
            or ``normalize`` is not ``"per_set"`` or ``"reference"``.

    Example:
        >>> _ = torch.manual_seed(0)
        >>> real = torch.rand(8, 3, 32, 32) * 2 - 1
        >>> coarse = torch.rand(8, 3, 4, 4) * 2 - 1
        >>> smooth = torch.nn.functional.interpolate(coarse, size=32, mode="bilinear")
        >>> result = sliced_wasserstein_distance(real, smooth, seed=0)
        >>> result.resolutions, result.levels.shape
        ((32, 16), torch.Size([2]))
        >>> noise_floor = sliced_wasserstein_distance(real, real, seed=0).mean
        >>> bool(result.mean > 2 * noise_floor)
        True

        Per-set normalisation rescales a noisy set to the real set's spread; ``"reference"``
        keeps the noise visible:

        >>> noisy = (smooth + torch.randn(8, 3, 32, 32)).clamp(-1, 1)
        >>> per_set = sliced_wasserstein_distance(smooth, noisy, seed=0).mean
        >>> reference = sliced_wasserstein_distance(smooth, noisy, seed=0, normalize="reference")
        >>> bool(reference.mean > 2 * per_set)
        True
        >>> sliced_wasserstein_distance(smooth, noisy, normalize="karras")
        Traceback (most recent call last):
            ...
        ValueError: normalize must be one of ('per_set', 'reference'), got 'karras'
    """
    _check_normalize(normalize)
    _check_images(real, "real")
    _check_images(fake, "fake")
    if real.shape != fake.shape or real.shape[0] == 0:
        raise ValueError(
            "real and fake must have the same non-empty shape [N, 3, S, S], got "
            f"{list(real.shape)} and {list(fake.shape)}"
        )
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    resolutions = level_resolutions(real.shape[-1])
    descriptors = []
    for stream, images in enumerate((real, fake)):
        generator = _seeded_generator(seed, stream)
        chunks = []
        for batch in torch.split(images, batch_size):
            positions = _random_patch_positions(batch.shape[0], resolutions, generator)
            chunks.append(_sliced_wasserstein_update(batch, positions))
        descriptors.append([torch.cat(level) for level in zip(*chunks, strict=True)])
    directions = _random_directions(len(resolutions), _seeded_generator(seed, 2))
    levels = _sliced_wasserstein_compute(descriptors[0], descriptors[1], directions, normalize)
    return SlicedWassersteinResult(levels, levels.mean(), resolutions)
