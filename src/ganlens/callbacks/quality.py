"""A callback that measures the EMA generator's image quality (SWD and FID or FSD) during training.

SWD is Karras et al. 2018, appendix D (:class:`~ganlens.metrics.SlicedWassersteinDistance`), FID
is Heusel et al. 2017 through torchmetrics, FSD the same Fréchet distance in scene-segmenter
features (:mod:`ganlens.segment.features`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal, cast

import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from pytorch_lightning.utilities import rank_zero_warn
from torch import Tensor
from torch.utils.data import Dataset
from torchmetrics.image.fid import FrechetInceptionDistance
from torchmetrics.utilities.imports import _TORCH_FIDELITY_AVAILABLE

from ganlens.callbacks.base import Monitor, images_shown_of, latent_size_of, resolution_of
from ganlens.callbacks.logging import log_evaluation
from ganlens.images import from_uint8, to_uint8
from ganlens.metrics import SlicedWassersteinDistance
from ganlens.segment.features import SegmenterFeatures

__all__ = ["MIN_RESOLUTION", "ImageQualityMonitor"]

MIN_RESOLUTION = 16
"""Smallest stage resolution evaluated (SWD's coarsest pyramid level is 16x16)."""


class ImageQualityMonitor(Monitor):
    """Log SWD, its real-vs-real floor, and FID (or FSD) of fixed-latent samples every few epochs.

    After every ``every_n_epochs``-th training epoch, ``num_images`` images are generated with
    ``pl_module.sample(count, z)`` (the EMA generator at the current stage, ``[n, 3, r, r]`` in
    [-1, 1]) from a latent bank drawn once from ``seed`` and checkpointed, so a resumed run
    continues the same series. They are compared with ``num_images`` real images, and a second,
    disjoint set of ``num_images`` real images gives the SWD noise floor at the same N. The
    ``2 * num_images`` real images are picked once (a ``seed``-permutation of ``real_images``, by
    default the datamodule's ``train_dataloader().dataset``), kept on CPU as uint8 and
    area-downsampled to the stage resolution ``r``. Stages below 16 px are not evaluated and log
    nothing. Real statistics (SWD descriptors, Fréchet mean and covariance, floor) are computed
    once per resolution and kept; they are not checkpointed but recomputed after a resume, which
    gives the same values (same images, same seeds).

    FID needs Inception weights (``inception_weights``, torchmetrics' ``FrechetInceptionDistance``
    with ``antialias=False`` as published FIDs, images resized to 299 px); it needs the
    ``torch-fidelity`` package. Without weights, ``alternative="segmenter"`` logs the Fréchet
    segmenter distance instead (never under ``quality/fid``) and ``None`` skips it; either way a
    warning says so once.

    In DDP each rank handles every ``world_size``-th image, metric states sync in ``compute`` on
    all ranks, and :func:`~ganlens.callbacks.logging.log_evaluation` writes on rank zero.

    Logged metrics:
        ``quality/swd``: SWD x1e3, plain mean over the pyramid levels.
        ``quality/swd_<R>px``: SWD x1e3 of the level of side R (r, r/2, ..., 16).
        ``quality/swd_floor``, ``quality/swd_floor_<R>px``: the same between the two real sets.
        ``quality/fid``: FID, only with ``inception_weights``.
        ``quality/fsd``: Fréchet segmenter distance, without weights if ``alternative="segmenter"``.
        ``quality/resolution``: the stage resolution r evaluated.
        ``quality/images_shown``: real images shown to the critic so far.

    Args:
        num_images: N, images per set (fake, real, real floor); at least 2.
        every_n_epochs: Evaluate after every this many epochs (when ``every_n_images`` is None).
        every_n_images: Instead, evaluate after the training batch with which the module's
            ``images_shown`` passes each multiple of this many real images.
        seed: Seed of the latent bank, the real-image choice and SWD's patches and directions.
        batch_size: Images generated and embedded at a time.
        inception_weights: Path to torch-fidelity's Inception-v3 state dict
            (``weights-inception-2015-12-05-6726825d.pth``), or None.
        alternative: ``"segmenter"`` or None: what replaces FID without ``inception_weights``.
        real_images: A ``[M, 3, R, R]`` tensor in [-1, 1] or a dataset of such images (or of dicts
            with ``"image"``); default: the datamodule's training dataset. Needs M >= 2N.

    Raises:
        ValueError: on a bad argument (naming it, its value and what is allowed).

    Example:
        >>> monitor = ImageQualityMonitor(num_images=64, every_n_epochs=2, alternative=None)
        >>> sorted(monitor.state_dict())
        ['images_block', 'latents']
    """

    def __init__(
        self,
        num_images: int = 256,
        every_n_epochs: int = 1,
        every_n_images: int | None = None,
        seed: int = 0,
        batch_size: int = 64,
        inception_weights: str | None = None,
        alternative: Literal["segmenter"] | None = "segmenter",
        real_images: Tensor | Dataset[Any] | None = None,
    ) -> None:
        for name, value, least in (("num_images", num_images, 2), ("batch_size", batch_size, 1)):
            if not isinstance(value, int) or value < least:
                raise ValueError(f"{name} must be an integer >= {least}, got {value!r}")
        if alternative not in ("segmenter", None):
            raise ValueError(f"alternative must be 'segmenter' or None, got {alternative!r}")
        if inception_weights is not None and not Path(inception_weights).is_file():
            raise ValueError(
                f"inception_weights must be an existing file, got {inception_weights!r}"
            )
        if inception_weights is not None and not _TORCH_FIDELITY_AVAILABLE:
            raise ValueError("inception_weights needs the torch-fidelity package (pip install it)")
        if isinstance(real_images, Tensor) and (
            real_images.ndim != 4 or real_images.shape[1] != 3 or len(real_images) < 2 * num_images
        ):
            raise ValueError(
                f"real_images must have shape [M >= {2 * num_images}, 3, R, R], "
                f"got {list(real_images.shape)}"
            )
        super().__init__(num_images, every_n_epochs, every_n_images, seed)
        self.num_images = num_images
        self.batch_size, self.inception_weights = batch_size, inception_weights
        self.alternative, self.real_source = alternative, real_images
        self._real: Tensor | None = None  # [2N, 3, R, R] uint8 on CPU
        self._resolution = 0  # resolution the real statistics below belong to
        self._swd: SlicedWassersteinDistance | None = None
        self._floor: dict[str, float] = {}
        self._frechet: FrechetInceptionDistance | None = None
        self._frechet_key = "quality/fid" if inception_weights else "quality/fsd"

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        """Build the Fréchet metric; warn once when FID cannot be computed."""
        if self._frechet is not None:
            return
        if self.inception_weights is not None:
            self._frechet = FrechetInceptionDistance(
                feature=2048,
                reset_real_features=False,
                normalize=True,
                feature_extractor_weights_path=self.inception_weights,
                antialias=False,
            )
            return
        why = "ImageQualityMonitor: no Inception weights (inception_weights=None), so quality/fid "
        if self.alternative == "segmenter":
            rank_zero_warn(why + "is skipped; logging quality/fsd (Fréchet segmenter distance).")
            self._frechet = FrechetInceptionDistance(SegmenterFeatures(), reset_real_features=False)
        else:
            rank_zero_warn(why + "is skipped (alternative=None).")

    def _real_images(self, trainer: pl.Trainer) -> Tensor:
        if self._real is not None:
            return self._real
        source = self.real_source
        if source is None:
            datamodule = getattr(trainer, "datamodule", None)
            if datamodule is None:
                raise ValueError("ImageQualityMonitor needs real_images or a datamodule")
            source = datamodule.train_dataloader().dataset
        count = len(source) if isinstance(source, Tensor) else len(cast(Any, source))
        if count < 2 * self.num_images:
            raise ValueError(
                f"ImageQualityMonitor(num_images={self.num_images}) needs {2 * self.num_images} "
                f"real images (N for the statistics, N for the floor); the source has {count}"
            )
        order = torch.randperm(count, generator=torch.Generator().manual_seed(self.seed))
        images = []
        for index in order[: 2 * self.num_images].tolist():
            item = source[index]
            image = item["image"] if isinstance(item, dict) else item
            images.append(image[0] if isinstance(image, (tuple, list)) else image)
        stacked = torch.stack(images).float()  # [2N, 3, R, R]
        self._real = to_uint8(stacked)
        return self._real

    def _batches(self, images: Tensor, trainer: pl.Trainer, resolution: int) -> Iterator[Tensor]:
        """This rank's share of ``images``, area-resized to ``resolution``, in [-1, 1]."""
        mine = images[trainer.global_rank :: trainer.world_size]
        for batch in torch.split(mine, self.batch_size):
            yield F.interpolate(from_uint8(batch), size=(resolution, resolution), mode="area")

    def _prepare_real(self, trainer: pl.Trainer, resolution: int, device: torch.device) -> None:
        """Real SWD descriptors, Fréchet statistics and the floor at ``resolution`` (all ranks)."""
        real = self._real_images(trainer)
        share = math.ceil(self.num_images / trainer.world_size)
        swd = SlicedWassersteinDistance(share, resolution, self.seed, reset_real_features=False)
        floor = SlicedWassersteinDistance(share, resolution, self.seed)
        self._swd, floor = swd.to(device), floor.to(device)
        if self._frechet is not None:
            self._frechet.to(device)
            self._frechet.reset_real_features = True
            self._frechet.reset()
            self._frechet.reset_real_features = False
        for batch in self._batches(real[: self.num_images], trainer, resolution):
            batch = batch.to(device)
            self._swd.update(batch, real=True)
            floor.update(batch, real=True)
            self._frechet_update(batch, real=True)
        for batch in self._batches(real[self.num_images :], trainer, resolution):
            floor.update(batch.to(device), real=False)
        self._floor = self._swd_scalars("quality/swd_floor", floor)
        self._resolution = resolution

    def _frechet_update(self, images: Tensor, real: bool) -> None:
        if self._frechet is None:
            return
        images = images.clamp(-1.0, 1.0)
        self._frechet.update((images + 1) / 2 if self.inception_weights else images, real=real)

    @staticmethod
    def _swd_scalars(key: str, metric: SlicedWassersteinDistance) -> dict[str, float]:
        result = metric.compute()
        levels = result.levels.reshape(-1).tolist()  # a 0-d tensor with one level
        scalars = {key: float(result.mean)}
        scalars.update({f"{key}_{r}px": v for r, v in zip(result.resolutions, levels, strict=True)})
        return scalars

    def evaluate(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, resolution: int | None = None
    ) -> None:
        """Generate, compare and log one evaluation (call on every rank).

        Args:
            trainer: The running trainer.
            pl_module: The GAN (``sample``; ``stage`` and ``images_shown`` where it has them).
            resolution: Image side to evaluate at (default: the current stage's, skipping
                stages below 16 px).
        """
        generator = getattr(pl_module, "generator", None)
        if resolution is None:
            resolution = resolution_of(pl_module, generator)
            if resolution < MIN_RESOLUTION:
                return
        if resolution != self._resolution:
            self._prepare_real(trainer, resolution, pl_module.device)
        assert self._swd is not None, "prepared above"
        sample = cast(Callable[[int, Tensor], Tensor], pl_module.sample)
        z = self.latent_bank(latent_size_of(pl_module, generator))[
            trainer.global_rank :: trainer.world_size
        ]
        for chunk in torch.split(z, self.batch_size):
            images = sample(len(chunk), chunk).float()  # [n, 3, r, r]
            if images.shape[-1] != resolution:
                raise ValueError(
                    f"sample() gave {images.shape[-1]} px images at stage {resolution}"
                )
            self._swd.update(images, real=False)
            self._frechet_update(images, real=False)
        scalars = {**self._swd_scalars("quality/swd", self._swd), **self._floor}
        self._swd.reset()
        if self._frechet is not None:
            scalars[self._frechet_key] = float(self._frechet.compute())
            self._frechet.reset()
        shown = float(images_shown_of(trainer, pl_module))
        scalars.update({"quality/resolution": float(resolution), "quality/images_shown": shown})
        log_evaluation(trainer, scalars, owner="ImageQualityMonitor")
