"""A callback that renders a fixed-latent sample grid from the EMA generator every few epochs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import cast

import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from pytorch_lightning.utilities import rank_zero_only
from torchvision.utils import make_grid, save_image

from ganlens.callbacks.base import Monitor, latent_size_of
from ganlens.callbacks.logging import log_evaluation

__all__ = ["SampleGridMonitor"]


class SampleGridMonitor(Monitor):
    """Log a grid of images generated from the same latents after every ``every_n_epochs`` epochs.

    The latents are drawn once from ``seed`` and kept in the callback's checkpointed state, so a
    resumed run keeps showing the same grid. The module must offer ``sample(count, z)`` returning
    images in [-1, 1] (as :class:`~ganlens.training.ProgressiveGAN` does) and
    ``hparams["latent_size"]``. Images are upscaled (nearest) to ``display_size`` for viewing.

    Logged metrics:
        ``samples/grid``: the grid image, through
        :func:`~ganlens.callbacks.logging.log_evaluation` (a ``wandb.Image`` in W&B,
        ``add_image`` in TensorBoard). Whatever the logger, a PNG file
        ``samples/epoch=NNNN.png`` is written to the run folder (``trainer.default_root_dir``,
        beside ``checkpoints/`` and ``history.jsonl``) and named in the history record as
        ``samples/grid_image``.

    Args:
        count: Number of samples in the grid.
        every_n_epochs: Render after every this many epochs.
        seed: Seed of the fixed latents.
        display_size: Side in pixels each sample is shown at.

    Example:
        >>> monitor = SampleGridMonitor(count=16, every_n_epochs=2)
        >>> monitor.state_dict()
        {'latents': None, 'images_block': 0}
    """

    def __init__(
        self, count: int = 64, every_n_epochs: int = 1, seed: int = 0, display_size: int = 64
    ) -> None:
        super().__init__(count, every_n_epochs, seed=seed)
        self.count, self.display_size = count, display_size
        self.last_path: Path | None = None

    def evaluate(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        """Render the grid now and log it."""
        z = self.latent_bank(latent_size_of(pl_module, getattr(pl_module, "generator", None)))
        sample = cast(Callable[[int, torch.Tensor], torch.Tensor], pl_module.sample)
        images = sample(self.count, z).float().cpu()  # [N, 3, r, r]
        self._log(trainer, images)

    @rank_zero_only
    def _log(self, trainer: pl.Trainer, images: torch.Tensor) -> None:
        size = max(self.display_size, images.shape[-1])
        images = F.interpolate(images, size=(size, size), mode="nearest")
        grid = make_grid(images.clamp(-1, 1) * 0.5 + 0.5, nrow=int(self.count**0.5 + 0.5))
        relative = f"samples/epoch={trainer.current_epoch:04d}.png"
        self.last_path = Path(trainer.default_root_dir) / relative
        self.last_path.parent.mkdir(parents=True, exist_ok=True)
        save_image(grid, self.last_path)
        picture = grid.mul(255).add_(0.5).clamp_(0, 255).to(torch.uint8)  # as save_image rounds
        files = {"samples/grid_image": relative}
        log_evaluation(
            trainer, {}, images={"samples/grid": picture}, files=files, owner="SampleGridMonitor"
        )
