"""Progressive GAN training as a LightningModule (Karras et al., ICLR 2018, arXiv:1710.10196).

WGAN-GP (lambda 10, target 1) plus drift 0.001, Adam(lr 1e-3, betas (0, 0.99), eps 1e-8) for both
networks, reset at every phase change; one critic step and one generator step per batch; the new
block and the real images fade in together; an exponential moving average of the generator
(0.999) is what samples and metrics use. Growth is driven by a checkpointed count of real images
shown (``images_shown``), and latents and penalty weights come from a module-owned random
generator whose state is checkpointed, so a resumed run continues bit-exactly. Under DDP
``images_shown`` counts the images of every process (the schedule is in global images), and
each process keeps its own share of one draw from that stream, so the ranks' fakes differ.

GPU efficiency: the step never waits for the device (the counters have host-side mirrors, and
latents drawn on the host are copied from pinned memory without blocking); ``split_batches`` trains
on every image of a large loader batch in steps of each phase's batch size; ``channels_last``
stores the networks and images in NHWC. ``torch.compile`` is not offered: the gradient penalty
needs a double backward, which compiled graphs do not support (torch 2.14: "torch.compile with
aot_autograd does not currently support double backward").

(Over 300 lines: the LightningModule's training step, growth, EMA and checkpoint hooks belong
together.)
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import asdict
from functools import partial
from typing import Any

import pytorch_lightning as pl
import torch
from pytorch_lightning.core.optimizer import LightningOptimizer
from torch import Tensor

from ganlens.models import ProgressiveDiscriminator, ProgressiveGenerator
from ganlens.training.compact import load_compact_state
from ganlens.training.losses import critic_loss, generator_loss, gradient_penalty
from ganlens.training.schedule import (
    GrowthPhase,
    GrowthSchedule,
    Stage,
    default_schedule,
    fade_real_images,
)

_RNG_KEY = "ganlens_noise_rng_state"


class ProgressiveGAN(pl.LightningModule):
    """Train a :class:`~ganlens.models.ProgressiveGenerator` with WGAN-GP and progressive growing.

    Batches are dicts with ``"image"``: float ``[B, 3, R, R]`` in [-1, 1] at the final resolution;
    each step uses the first ``phase.batch_size`` images (all when it is ``None``), or, with
    ``split_batches``, every consecutive run of ``phase.batch_size`` images of the batch.

    Args:
        resolution: Final resolution R (16 to 1024).
        latent_size: Size of z.
        fmap_base: Channel schedule numerator (channels ``min(fmap_base / 2^(k-1), fmap_max)``).
        fmap_max: Channel cap.
        schedule: Growth phases ending at ``resolution`` (records or their dicts, as stored in
            checkpoints); default: Karras' 800k images to fade and 800k to stabilise per
            resolution, batch 16.
        lr: Adam learning rate of both networks.
        betas: Adam betas.
        eps: Adam epsilon.
        gp_weight: Gradient-penalty weight lambda.
        gp_target: Gradient-norm target of the penalty.
        drift: Weight of ``E[D(real)^2]``.
        ema_decay: Decay of the generator's moving average.
        mbstd_group_size: Minibatch-stddev group size of the critic.
        seed: Seed of the module's latent and penalty random stream.
        split_batches: Train on all images of a loader batch, in consecutive steps of the phase's
            batch size (a remainder smaller than that is dropped), so a loader batch sized for
            the largest phase wastes no rendered image in the smaller-batch phases.
        channels_last: Keep weights and images in channels-last (NHWC) memory format, which
            tensor cores prefer for bf16 convolutions.
        max_images: Stop training (``trainer.should_stop``) once this many real images have
            been shown; counted across resumed runs, unlike ``max_epochs``.
        init_state: A compact state file (:func:`~ganlens.training.export_compact_state`) to
            start from: weights, EMA, images shown and phase; Adam starts afresh.

    Raises:
        ValueError: If the schedule does not end at ``resolution``, ``ema_decay`` is outside
            [0, 1) or ``max_images`` is below 1.

    Example:
        >>> gan = ProgressiveGAN(resolution=16, latent_size=8, fmap_base=32, fmap_max=8,
        ...                      schedule=[GrowthPhase(4, 0, 8), GrowthPhase(8, 8, 8),
        ...                                GrowthPhase(16, 8, 8)])
        >>> gan.stage.resolution, gan.sample(2).shape
        (4, torch.Size([2, 3, 4, 4]))
    """

    images_shown: Tensor  # buffers: real images shown so far, and the phase Adam was reset for
    phase: Tensor

    def __init__(
        self,
        resolution: int = 64,
        latent_size: int = 512,
        fmap_base: int = 8192,
        fmap_max: int = 512,
        schedule: Sequence[GrowthPhase] | None = None,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.0, 0.99),
        eps: float = 1e-8,
        gp_weight: float = 10.0,
        gp_target: float = 1.0,
        drift: float = 0.001,
        ema_decay: float = 0.999,
        mbstd_group_size: int = 4,
        seed: int = 0,
        split_batches: bool = False,
        channels_last: bool = False,
        max_images: int | None = None,
        init_state: str | None = None,
    ) -> None:
        super().__init__()
        phases = [
            GrowthPhase(**phase) if isinstance(phase, dict) else phase
            for phase in (schedule or default_schedule(resolution))
        ]
        self.schedule = GrowthSchedule(phases)
        # Plain dicts keep checkpoints loadable with torch.load(weights_only=True).
        self.save_hyperparameters(ignore=["schedule"])
        self.hparams["schedule"] = [asdict(phase) for phase in phases]
        if self.schedule.final_resolution != resolution:
            raise ValueError(
                f"schedule ends at {self.schedule.final_resolution} px; resolution is {resolution}"
            )
        if not 0.0 <= ema_decay < 1.0:
            raise ValueError(f"ema_decay must be in [0, 1); got {ema_decay}")
        if max_images is not None and max_images < 1:
            raise ValueError(f"max_images must be >= 1 or None; got {max_images}")
        self.split_batches, self.channels_last, self.max_images = (
            split_batches,
            channels_last,
            max_images,
        )
        self.generator = ProgressiveGenerator(resolution, latent_size, None, fmap_base, fmap_max)
        self.discriminator = ProgressiveDiscriminator(
            resolution, None, fmap_base, fmap_max, mbstd_group_size=mbstd_group_size
        )
        self.generator_ema = copy.deepcopy(self.generator).requires_grad_(False)
        self.register_buffer("images_shown", torch.zeros((), dtype=torch.long))
        self.register_buffer("phase", torch.full((), -1, dtype=torch.long))
        self.noise = torch.Generator().manual_seed(seed)
        self.automatic_optimization = False
        self._sync_stage()
        if init_state is not None:
            load_compact_state(self, init_state)

    @property
    def images_shown_count(self) -> int:
        """Real images shown so far, read from a host-side mirror (no device synchronisation)."""
        return self._shown

    @property
    def stage(self) -> Stage:
        """The growth stage reached after :attr:`images_shown` real images."""
        return self.schedule.stage(self._shown)

    def _sync_stage(self) -> None:
        """Refresh the host-side counters from the buffers and set the generators' stage."""
        self._shown, self._phase = int(self.images_shown), int(self.phase)
        stage = self.stage
        for generator in (self.generator, self.generator_ema):
            generator.set_stage(stage.resolution, stage.alpha)

    def load_state_dict(self, state_dict: Any, strict: bool = True, assign: bool = False) -> Any:
        """Load weights and counters, then put the generators at the restored stage."""
        result = super().load_state_dict(state_dict, strict=strict, assign=assign)
        self._sync_stage()
        return result

    def _to_device(self, tensor: Tensor) -> Tensor:
        """Copy a host tensor to the module's device without blocking the host on CUDA."""
        if self.device.type == "cuda":
            return tensor.pin_memory().to(self.device, non_blocking=True)
        return tensor.to(self.device)

    def latents(self, count: int) -> Tensor:
        """``[count, latent_size]`` standard-normal latents from the module's random stream."""
        z = torch.randn(count, self.hparams["latent_size"], generator=self.noise)
        return self._to_device(z)

    def _step_noise(self, draw: Callable[[int], Tensor], count: int) -> Tensor:
        """This process's ``count`` rows of one draw of ``count * world_size`` from the stream.

        Under DDP every process draws the whole step's noise and keeps its own contiguous share,
        so the ranks' fakes differ while their streams stay equal (rank 0's checkpointed state
        resumes every rank), and one process draws what a one-process run with the same global
        batch draws.
        """
        trainer = self._trainer
        world, rank = (trainer.world_size, trainer.global_rank) if trainer else (1, 0)
        return self._to_device(draw(count * world)[rank * count : (rank + 1) * count])

    def on_fit_start(self) -> None:
        """Switch the networks to channels-last memory when asked to."""
        if self.channels_last:
            self.to(memory_format=torch.channels_last)

    @torch.no_grad()
    def sample(self, count: int, z: Tensor | None = None) -> Tensor:
        """Images ``[count, 3, r, r]`` from the EMA generator at the current stage."""
        z = self.latents(count) if z is None else z.to(self.device)
        images: Tensor = self.generator_ema(z)
        return images

    def configure_optimizers(self) -> list[torch.optim.Optimizer]:
        """Adam for the generator, then Adam for the critic."""
        hp = self.hparams
        adam = partial(torch.optim.Adam, lr=hp["lr"], betas=tuple(hp["betas"]), eps=hp["eps"])
        return [adam(self.generator.parameters()), adam(self.discriminator.parameters())]

    def training_step(self, batch: dict[str, Tensor], batch_idx: int) -> None:
        """One critic step and one generator step per phase batch of the loader batch."""
        images = batch["image"]  # [B, 3, R, R]
        total, start = images.shape[0], 0
        if self.max_images is not None and self._shown >= self.max_images:
            self.trainer.should_stop = True  # resumed after the budget was spent
            return
        while start < total:
            stage = self.stage
            size = min(stage.batch_size or total, total)
            if start + size > total:
                break  # a remainder smaller than the phase's batch
            self._gan_step(images[start : start + size], stage)
            start += size
            if self.max_images is not None and self._shown >= self.max_images:
                self.trainer.should_stop = True
                break
            if not self.split_batches:
                break

    def _gan_step(self, images: Tensor, stage: Stage) -> None:
        """One critic step with gradient penalty, one generator step, the EMA and the counters."""
        if stage.phase != self._phase:
            self._enter_phase(stage)
        opt_g, opt_d = self._optimizers()
        real = fade_real_images(images, stage.resolution, stage.alpha)  # [N, 3, r, r]
        if self.channels_last:
            real = real.contiguous(memory_format=torch.channels_last)
        count = real.shape[0]
        render = partial(self.generator, resolution=stage.resolution, alpha=stage.alpha)
        critic = partial(self.discriminator, alpha=stage.alpha)

        self.toggle_optimizer(opt_d)
        latent_size = self.hparams["latent_size"]

        def latents(n: int) -> Tensor:
            return torch.randn(n, latent_size, generator=self.noise)

        with torch.no_grad():
            fake = render(self._step_noise(latents, count))  # [N, 3, r, r]
        real_scores, fake_scores = critic(real), critic(fake)
        mix = self._step_noise(lambda n: torch.rand(n, generator=self.noise), count)  # [N]
        penalty = gradient_penalty(critic, real, fake, mix, self.hparams["gp_target"])
        d_loss = critic_loss(
            real_scores, fake_scores, penalty, self.hparams["gp_weight"], self.hparams["drift"]
        )
        opt_d.zero_grad(set_to_none=True)
        self.manual_backward(d_loss)
        opt_d.step()
        self.untoggle_optimizer(opt_d)

        self.toggle_optimizer(opt_g)
        g_loss = generator_loss(critic(render(self._step_noise(latents, count))))
        opt_g.zero_grad(set_to_none=True)
        self.manual_backward(g_loss)
        opt_g.step()
        self.untoggle_optimizer(opt_g)

        self._update_ema()
        shown = count * (self._trainer.world_size if self._trainer else 1)  # by every process
        self.images_shown += shown
        self._shown += shown
        after = self.stage
        for generator in (self.generator, self.generator_ema):
            generator.set_stage(after.resolution, after.alpha)
        # Python numbers would each become a blocking host-to-device copy inside self.log.
        progress = self._to_device(torch.tensor([stage.resolution, stage.alpha, self._shown / 1e3]))
        self.log_dict(
            {
                "train/d_loss": d_loss.detach(),
                "train/g_loss": g_loss.detach(),
                "train/gradient_penalty": penalty.detach(),
                "train/wasserstein": (real_scores.mean() - fake_scores.mean()).detach(),
                "progress/resolution": progress[0],
                "progress/alpha": progress[1],
                "progress/kimg": progress[2],
            },
            prog_bar=False,
        )
        self.log("d_loss", d_loss.detach(), prog_bar=True, logger=False)

    def _optimizers(self) -> list[LightningOptimizer]:
        optimizers = self.optimizers()
        assert isinstance(optimizers, list), "configure_optimizers returns two optimizers"
        return optimizers

    def _enter_phase(self, stage: Stage) -> None:
        """Start a new resolution: fresh Adam moments for both networks (Karras, appendix A.1)."""
        for optimizer in self._optimizers():
            optimizer.optimizer.state.clear()
        self.phase.fill_(stage.phase)
        self._phase = stage.phase

    @torch.no_grad()
    def _update_ema(self) -> None:
        decay = self.hparams["ema_decay"]
        averaged: list[Tensor] = list(self.generator_ema.parameters())
        current: list[Tensor] = list(self.generator.parameters())
        torch._foreach_lerp_(averaged, current, 1.0 - decay)

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Keep the latent stream's position, so a resumed run draws the same latents."""
        checkpoint[_RNG_KEY] = self.noise.get_state()

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Restore the latent stream's position."""
        if _RNG_KEY in checkpoint:
            self.noise.set_state(checkpoint[_RNG_KEY])
