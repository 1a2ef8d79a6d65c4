"""The base of ganlens' monitors: a seeded latent bank, a schedule, and checkpointed state.

Every monitor evaluates the generator on the same latents at every evaluation, so its numbers
form one series, and keeps those latents (and its schedule) in the callback's checkpointed state,
so a resumed run continues the series. It evaluates after every ``every_n_epochs`` epochs, or,
with ``every_n_images``, after the training batch with which the module's ``images_shown``
counter passes each multiple of that number (Lightning's ``global_step`` counts optimizer steps,
two per batch for a GAN, so images are the honest clock).

What the monitors need from a LightningModule (any GAN, not only ganlens' ProgressiveGAN):

* ``sample(count, z)``: ``[count, 3, r, r]`` images in [-1, 1] from latents ``z``
  (``SampleGridMonitor``, ``ImageQualityMonitor``);
* the generator as an attribute, ``generator_attribute`` (``generator_ema`` by default), an
  ``nn.Module`` mapping ``[N, latent_size]`` latents to images (``DissectionMonitor``,
  ``CausalEffectMonitor``);
* the latent size as ``hparams["latent_size"]``, else the generator's ``latent_size``
  attribute (:func:`latent_size_of`; for the two monitors that only call ``sample``, the
  module's ``generator`` attribute);
* optionally ``images_shown`` (a counter of real images, for ``every_n_images`` and the logged
  ``images_shown``; ``global_step`` otherwise) and, for a GAN that grows, ``stage.resolution``
  (``ImageQualityMonitor`` evaluates at the current stage; else at ``hparams["resolution"]``
  or the generator's ``resolution``).
"""

from __future__ import annotations

from typing import Any

import pytorch_lightning as pl
import torch
from torch import Tensor

__all__ = ["Monitor", "images_shown_of", "latent_size_of", "resolution_of"]


def images_shown_of(trainer: pl.Trainer, pl_module: pl.LightningModule) -> int:
    """Real images the module has seen: its ``images_shown`` counter, else ``global_step``.

    Read from the host-side ``images_shown_count`` where the module keeps one (no GPU sync).

    Example:
        >>> images_shown_of(pl.Trainer(logger=False), pl.LightningModule())
        0
    """
    shown = getattr(pl_module, "images_shown_count", None)
    if shown is None:
        counter = getattr(pl_module, "images_shown", None)
        shown = trainer.global_step if counter is None else int(counter)
    return int(shown)


def latent_size_of(pl_module: pl.LightningModule, generator: Any = None) -> int:
    """The module's latent size: ``hparams["latent_size"]``, else the generator's attribute.

    Raises:
        ValueError: If neither gives a positive integer.

    Example:
        >>> from torch import nn
        >>> module = pl.LightningModule()
        >>> generator = nn.Linear(4, 4)
        >>> generator.latent_size = 4
        >>> latent_size_of(module, generator)
        4
    """
    size = pl_module.hparams.get("latent_size", getattr(generator, "latent_size", None))
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ValueError(
            f"{type(pl_module).__name__} needs hparams['latent_size'] (save_hyperparameters) or "
            f"a generator with a latent_size attribute for the monitors; got {size!r}"
        )
    return size


def resolution_of(pl_module: pl.LightningModule, generator: Any = None) -> int:
    """The side of the images the module samples now (a growing GAN's current stage).

    ``stage.resolution``, else ``hparams["resolution"]``, else the generator's ``resolution``.

    Example:
        >>> module = pl.LightningModule()
        >>> module.save_hyperparameters({"resolution": 32})
        >>> resolution_of(module)
        32
    """
    stage = getattr(pl_module, "stage", None)
    if stage is not None:
        return int(stage.resolution)
    size = pl_module.hparams.get("resolution", getattr(generator, "resolution", None))
    if size is None:
        raise ValueError(
            f"{type(pl_module).__name__} needs stage.resolution, hparams['resolution'] or a "
            "generator with a resolution attribute for this monitor"
        )
    return int(size)


class Monitor(pl.Callback):
    """A callback that evaluates the generator on a fixed latent bank on a schedule.

    Subclasses implement :meth:`evaluate` and may add state with :meth:`extra_state` and
    :meth:`load_extra_state`.

    Args:
        bank_size: Latents in the bank.
        every_n_epochs: Evaluate after every this many epochs (when ``every_n_images`` is None).
        every_n_images: Instead, evaluate after the batch with which ``images_shown`` passes
            each multiple of this number.
        seed: Seed of the bank.

    Raises:
        ValueError: If a count is not a positive integer.

    Example:
        >>> class Counter(Monitor):
        ...     def evaluate(self, trainer, pl_module):
        ...         pass
        >>> monitor = Counter(bank_size=4, every_n_epochs=2)
        >>> monitor.latent_bank(3).shape, sorted(monitor.state_dict())
        (torch.Size([4, 3]), ['images_block', 'latents'])
    """

    def __init__(
        self, bank_size: int, every_n_epochs: int = 1, every_n_images: int | None = None,
        seed: int = 0,
    ) -> None:  # fmt: skip
        for name, value in (("bank_size", bank_size), ("every_n_epochs", every_n_epochs)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
        if every_n_images is not None and (
            not isinstance(every_n_images, int) or every_n_images < 1
        ):
            raise ValueError(
                f"every_n_images must be an integer >= 1 or None, got {every_n_images!r}"
            )
        self.bank_size, self.every_n_epochs = bank_size, every_n_epochs
        self.every_n_images, self.seed = every_n_images, seed
        self.images_block = 0  # multiples of every_n_images passed so far
        self.latents: Tensor | None = None

    def latent_bank(self, latent_size: int) -> Tensor:
        """The ``[bank_size, latent_size]`` bank: drawn from ``seed`` once, then kept."""
        if self.latents is None or self.latents.shape != (self.bank_size, latent_size):
            seeded = torch.Generator().manual_seed(self.seed)
            self.latents = torch.randn(self.bank_size, latent_size, generator=seeded)
        return self.latents

    def evaluate(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> Any:
        """Evaluate and log now (called on every rank)."""
        raise NotImplementedError

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        """Evaluate when the epoch count calls for it."""
        if self.every_n_images is None and (trainer.current_epoch + 1) % self.every_n_epochs == 0:
            self.evaluate(trainer, pl_module)

    def on_train_batch_end(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, *args: Any, **kwargs: Any
    ) -> None:
        """Evaluate when ``images_shown`` passes a multiple of ``every_n_images``."""
        if self.every_n_images is None:
            return
        if not hasattr(pl_module, "images_shown"):
            raise ValueError(
                f"every_n_images needs a module with an images_shown counter; "
                f"{type(pl_module).__name__} has none (use every_n_epochs)"
            )
        block = images_shown_of(trainer, pl_module) // self.every_n_images
        if block > self.images_block:
            self.images_block = block
            self.evaluate(trainer, pl_module)

    def extra_state(self) -> dict[str, Any]:
        """State a subclass adds to the checkpoint."""
        return {}

    def load_extra_state(self, state_dict: dict[str, Any]) -> None:
        """Restore what :meth:`extra_state` saved."""

    def state_dict(self) -> dict[str, Any]:
        """The latent bank, the image-count schedule and the subclass's state."""
        return {"latents": self.latents, "images_block": self.images_block, **self.extra_state()}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` saved."""
        self.latents = state_dict.get("latents")
        self.images_block = int(state_dict.get("images_block", 0))
        self.load_extra_state(state_dict)
