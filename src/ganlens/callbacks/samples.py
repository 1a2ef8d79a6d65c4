"""A callback that renders a fixed-latent sample grid from the EMA generator every few epochs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from pytorch_lightning.loggers import TensorBoardLogger, WandbLogger
from pytorch_lightning.utilities import rank_zero_only, rank_zero_warn
from torchvision.utils import make_grid, save_image


def run_folder(trainer: pl.Trainer) -> Path:
    """This run's own folder: beside its checkpoints for W&B, the versioned log dir otherwise."""
    logger = trainer.logger
    if isinstance(logger, WandbLogger) and logger.save_dir is not None:
        return Path(logger.save_dir) / str(logger.name) / str(logger.version)
    return Path(trainer.log_dir or trainer.default_root_dir)


class SampleGridMonitor(pl.Callback):
    """Log a grid of images generated from the same latents after every ``every_n_epochs`` epochs.

    The latents are drawn once from ``seed`` and kept in the callback's checkpointed state, so a
    resumed run keeps showing the same grid. The module must offer ``sample(count, z)`` returning
    images in [-1, 1] (as :class:`~ganlens.training.ProgressiveGAN` does) and
    ``hparams["latent_size"]``. Images are upscaled (nearest) to ``display_size`` for viewing.

    Logged metrics:
        ``samples/grid``: the grid image, through ``WandbLogger.log_image`` or TensorBoard's
        ``add_image``. Whatever the logger, a PNG file ``samples/epoch=NNNN.png`` is written
        to the run's folder (see :func:`run_folder`).

    Args:
        count: Number of samples in the grid.
        every_n_epochs: Render after every this many epochs.
        seed: Seed of the fixed latents.
        display_size: Side in pixels each sample is shown at.

    Example:
        >>> monitor = SampleGridMonitor(count=16, every_n_epochs=2)
        >>> monitor.state_dict()
        {'latents': None}
    """

    def __init__(
        self, count: int = 64, every_n_epochs: int = 1, seed: int = 0, display_size: int = 64
    ) -> None:
        if count < 1 or every_n_epochs < 1:
            raise ValueError(
                f"count and every_n_epochs must be >= 1; got {count}, {every_n_epochs}"
            )
        self.count, self.every_n_epochs, self.seed = count, every_n_epochs, seed
        self.display_size = display_size
        self.latents: torch.Tensor | None = None
        self.last_path: Path | None = None

    def _latents(self, latent_size: int) -> torch.Tensor:
        if self.latents is None or self.latents.shape != (self.count, latent_size):
            generator = torch.Generator().manual_seed(self.seed)
            self.latents = torch.randn(self.count, latent_size, generator=generator)
        return self.latents

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        """Render and log the grid when the epoch count calls for it."""
        if (trainer.current_epoch + 1) % self.every_n_epochs:
            return
        z = self._latents(pl_module.hparams["latent_size"])
        sample = cast(Callable[[int, torch.Tensor], torch.Tensor], pl_module.sample)
        images = sample(self.count, z).float().cpu()  # [N, 3, r, r]
        self._log(trainer, images)

    @rank_zero_only
    def _log(self, trainer: pl.Trainer, images: torch.Tensor) -> None:
        size = max(self.display_size, images.shape[-1])
        images = F.interpolate(images, size=(size, size), mode="nearest")
        grid = make_grid(images.clamp(-1, 1) * 0.5 + 0.5, nrow=int(self.count**0.5 + 0.5))
        folder = run_folder(trainer) / "samples"
        folder.mkdir(parents=True, exist_ok=True)
        self.last_path = folder / f"epoch={trainer.current_epoch:04d}.png"
        save_image(grid, self.last_path)
        for logger in trainer.loggers:
            try:
                if isinstance(logger, WandbLogger):
                    logger.log_image("samples/grid", [grid], step=trainer.global_step)
                elif isinstance(logger, TensorBoardLogger):
                    logger.experiment.add_image("samples/grid", grid, trainer.global_step)
            except Exception as error:  # a broken logger must never stop training
                rank_zero_warn(
                    f"SampleGridMonitor could not log to {type(logger).__name__}: {error}"
                )

    def state_dict(self) -> dict[str, Any]:
        """The fixed latents (``None`` before the first grid)."""
        return {"latents": self.latents}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore the fixed latents."""
        self.latents = state_dict["latents"]
