"""Sliced Wasserstein Distance (Karras et al. 2018, appendix D) as a torchmetrics ``Metric``.

The metric only holds fixed-shape patch-descriptor buffers; the math lives in
:mod:`ganlens.functional.sliced_wasserstein` (Karras et al., "Progressive Growing of GANs for
Improved Quality, Stability, and Variation", ICLR 2018, arXiv:1710.10196, appendix D).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor
from torchmetrics import Metric

from ganlens.functional.laplacian_pyramid import level_resolutions
from ganlens.functional.sliced_wasserstein import (
    DESCRIPTOR_SIZE,
    PATCHES_PER_IMAGE,
    SlicedWassersteinResult,
    _check_images,
    _random_directions,
    _random_patch_positions,
    _seeded_generator,
    _sliced_wasserstein_compute,
    _sliced_wasserstein_update,
)

_SETS = ("real", "fake")


class SlicedWassersteinDistance(Metric):
    """Sliced Wasserstein Distance between real and fake images, per Laplacian pyramid level.

    ``update(images, real)`` turns a batch into per-level 7x7x3 patch descriptors (128 per image)
    and writes them into preallocated buffers; ``compute()`` normalises each set and returns the
    SWD x1e3 per level and their mean (see :func:`~ganlens.functional.sliced_wasserstein_distance`).
    Patch positions come from per-set CPU generators seeded by ``seed`` (re-seeded by ``reset``),
    and the directions are redrawn from ``seed`` at every ``compute``, so with the same images the
    metric equals the functional with the same seed, and successive epochs use the same directions.

    State (fixed shape, declared in ``__init__``): per set and level ``{set}_descriptors_{res}``
    ``[num_images * 128, 147]`` of ``descriptor_dtype`` (reduced with ``"cat"``) and per set a fill
    counter ``{set}_count`` ``[1]`` int64 (``"cat"``: one entry per merged or gathered copy, so
    ``compute`` knows the filled rows of each copy). State size in bytes::

        2 * L * num_images * 128 * 147 * itemsize + 16,   L = log2(image_size) - 3

    e.g. 1024 images at 64 px: 231 MB in float16, 462 MB in float32; 256 px: 385 MB in float16.
    ``compute`` briefly adds a few float32 copies of one level of both sets
    (``2 * N * 128 * 147 * 4`` bytes each); a DDP sync caches the local state and gathers every
    rank's buffers. The registered defaults have 0 rows, so torchmetrics keeps no second
    full-size copy. float16 (the default) keeps 11 significant bits of the raw pyramid values
    (integers in [0, 255] on the low-pass level, [-255, 255] on band levels); measured at 1024
    images, 64 px, real vs real, it moves each level by at most 3e-4 (x1e3 units) against a
    noise floor of 5 to 10 whose spread between set pairs is 0.15 to 1.4
    (``benchmarks/swd_throughput.py``).

    In DDP every rank holds ``num_images`` per set and draws positions from the same seed; that is
    harmless (positions do not depend on image content) but results differ from a single process.
    ``forward`` only updates and returns None: SWD has no meaningful per-batch value. With 16 px
    images (one level) torchmetrics squeezes ``levels`` to a 0-d tensor.

    Args:
        num_images: capacity per set, in images, of this process's buffers.
        image_size: side ``S`` of the square images; a power of two >= 16.
        seed: seeds the patch positions and the projection directions.
        reset_real_features: if False, ``reset()`` keeps the real descriptors, so the real set is
            computed once and reused (e.g. each epoch).
        descriptor_dtype: ``torch.float16`` (default, half the memory) or ``torch.float32``.
        kwargs: passed to :class:`torchmetrics.Metric`.

    Raises:
        ValueError: on a non-positive ``num_images``, an invalid ``image_size`` or dtype.

    Example:
        >>> _ = torch.manual_seed(0)
        >>> metric = SlicedWassersteinDistance(num_images=8, image_size=32, seed=0)
        >>> metric.update(torch.rand(8, 3, 32, 32) * 2 - 1, real=True)
        >>> metric.update(torch.rand(8, 3, 32, 32) * 2 - 1, real=False)
        >>> result = metric.compute()
        >>> result.resolutions, result.levels.shape, bool(result.mean > 0)
        ((32, 16), torch.Size([2]), True)
    """

    is_differentiable = False
    higher_is_better = False
    full_state_update = False

    def __init__(
        self,
        num_images: int,
        image_size: int,
        seed: int = 0,
        reset_real_features: bool = True,
        descriptor_dtype: torch.dtype = torch.float16,
        **kwargs: Any,
    ) -> None:
        """Declare the state and allocate the buffers; the arguments are documented above."""
        super().__init__(**kwargs)
        if num_images < 1:
            raise ValueError(f"num_images must be >= 1, got {num_images}")
        if descriptor_dtype not in (torch.float16, torch.float32):
            raise ValueError(
                f"descriptor_dtype must be torch.float16 or torch.float32, got {descriptor_dtype}"
            )
        self.num_images = num_images
        self.image_size = image_size
        self.resolutions = level_resolutions(image_size)
        self.seed = seed
        self.reset_real_features = reset_real_features
        self.descriptor_dtype = descriptor_dtype
        for name in _SETS:
            for resolution in self.resolutions:
                # The registered default has 0 rows so torchmetrics keeps no second full-size copy
                # of each buffer; the full fixed-shape buffer is (re)allocated by _allocate.
                empty = torch.zeros(0, DESCRIPTOR_SIZE, dtype=descriptor_dtype)
                self.add_state(f"{name}_descriptors_{resolution}", empty, dist_reduce_fx="cat")
            self.add_state(f"{name}_count", torch.zeros(1, dtype=torch.long), dist_reduce_fx="cat")
        self._generators = {name: _seeded_generator(seed, i) for i, name in enumerate(_SETS)}
        for name in _SETS:
            self._allocate(name)

    def _allocate(self, name: str) -> None:
        """Give set ``name`` empty full-size buffers and a fresh position generator."""
        rows = self.num_images * PATCHES_PER_IMAGE
        with torch.inference_mode(False):  # normal tensors, writable in and out of inference mode
            for resolution in self.resolutions:
                buffer = torch.zeros(
                    rows, DESCRIPTOR_SIZE, dtype=self.descriptor_dtype, device=self.device
                )  # [rows, D]
                setattr(self, f"{name}_descriptors_{resolution}", buffer)
            setattr(self, f"{name}_count", torch.zeros(1, dtype=torch.long, device=self.device))
        self._generators[name] = _seeded_generator(self.seed, _SETS.index(name))

    def update(self, images: Tensor, real: bool) -> None:
        """Add a batch of images to the real or the fake set.

        Args:
            images: ``[n, 3, S, S]`` float in [-1, 1] or uint8, ``S`` = ``image_size``.
            real: True for the real set, False for the fake set.

        Raises:
            ValueError: on a wrong shape or dtype, or if the set would exceed its capacity.
        """
        _check_images(images)
        if images.shape[-1] != self.image_size:
            raise ValueError(
                f"images must have shape [n, 3, {self.image_size}, {self.image_size}], "
                f"got {list(images.shape)}"
            )
        name = "real" if real else "fake"
        if not torch.is_inference_mode_enabled():
            for key in self._defaults:  # e.g. merged under inference mode: copy once to write
                if key.startswith(name) and getattr(self, key).is_inference():
                    setattr(self, key, getattr(self, key).clone())
        counts = getattr(self, f"{name}_count").view(-1)  # [copies]
        stored = counts.tolist()
        free = [self.num_images - count for count in stored]
        n = images.shape[0]
        if n > sum(free):
            raise ValueError(
                f"{name} set overflow: {type(self).__name__} was built for num_images="
                f"{self.num_images} per set and holds {sum(stored)}; cannot add {n} more "
                "(build it with a larger num_images)"
            )
        positions = _random_patch_positions(n, self.resolutions, self._generators[name])
        descriptors = _sliced_wasserstein_update(images, positions)  # L x [n * P, D]
        start = 0
        for copy, (count, room) in enumerate(zip(stored, free, strict=True)):
            take = min(room, n - start)
            if take == 0:
                continue
            for resolution, level in zip(self.resolutions, descriptors, strict=True):
                buffer = getattr(self, f"{name}_descriptors_{resolution}")
                blocks = buffer.view(len(stored), -1, DESCRIPTOR_SIZE)  # [copies, rows, D]
                rows = slice(count * PATCHES_PER_IMAGE, (count + take) * PATCHES_PER_IMAGE)
                source = level[start * PATCHES_PER_IMAGE : (start + take) * PATCHES_PER_IMAGE]
                blocks[copy, rows] = source.to(buffer.dtype)
            counts[copy] += take
            start += take

    def _stored_descriptors(self, name: str) -> list[Tensor]:
        """Per level, the filled rows ``[count * 128, 147]`` of every copy of set ``name``."""
        counts = getattr(self, f"{name}_count").reshape(-1).tolist()
        levels = []
        for resolution in self.resolutions:
            buffer = getattr(self, f"{name}_descriptors_{resolution}")
            blocks = buffer.reshape(len(counts), -1, DESCRIPTOR_SIZE)  # [copies, rows, D]
            filled = [
                block[: count * PATCHES_PER_IMAGE]
                for block, count in zip(blocks, counts, strict=True)
            ]
            levels.append(torch.cat(filled))  # [sum(counts) * P, D]
        return levels

    def compute(self) -> SlicedWassersteinResult:
        """SWD x1e3 per level (highest resolution first) and their mean.

        Returns:
            :class:`~ganlens.functional.sliced_wasserstein.SlicedWassersteinResult`.

        Raises:
            ValueError: if the sets are empty or hold different numbers of images.
        """
        real_count, fake_count = (int(getattr(self, f"{name}_count").sum()) for name in _SETS)
        if real_count != fake_count or real_count == 0:
            raise ValueError(
                "real and fake sets must hold the same, non-zero number of images, got "
                f"{real_count} real and {fake_count} fake"
            )
        directions = _random_directions(len(self.resolutions), _seeded_generator(self.seed, 2))
        levels = _sliced_wasserstein_compute(
            self._stored_descriptors("real"), self._stored_descriptors("fake"), directions
        )
        return SlicedWassersteinResult(levels, levels.mean(), self.resolutions)

    def reset(self) -> None:
        """Empty the fake set, and the real set unless ``reset_real_features`` is False."""
        kept = {}
        if not self.reset_real_features:
            kept = {key: getattr(self, key) for key in self._defaults if key.startswith("real_")}
        super().reset()
        for name in _SETS:
            if name == "fake" or not kept:
                self._allocate(name)
        for key, value in kept.items():
            setattr(self, key, value)

    def forward(self, *args: Any, **kwargs: Any) -> None:
        """Same as :meth:`update`: SWD has no meaningful per-batch value, so nothing is returned."""
        self.update(*args, **kwargs)
