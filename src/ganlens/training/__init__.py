"""Training GANs with Lightning: the Progressive GAN module, its losses and growth schedule."""

from ganlens.training.compact import (
    CompactStateExport,
    export_compact_state,
    load_compact_state,
)
from ganlens.training.losses import critic_loss, generator_loss, gradient_penalty
from ganlens.training.proggan import ProgressiveGAN
from ganlens.training.schedule import GrowthPhase, GrowthSchedule, Stage, fade_real_images

__all__ = [
    "CompactStateExport",
    "GrowthPhase",
    "GrowthSchedule",
    "ProgressiveGAN",
    "Stage",
    "critic_loss",
    "export_compact_state",
    "fade_real_images",
    "generator_loss",
    "gradient_penalty",
    "load_compact_state",
]
