"""Training GANs with Lightning: the Progressive GAN module, its losses and growth schedule."""

from ganlens.training.losses import critic_loss, generator_loss, gradient_penalty
from ganlens.training.proggan import ProgressiveGAN, fade_real_images
from ganlens.training.schedule import GrowthPhase, GrowthSchedule, Stage

__all__ = [
    "GrowthPhase",
    "GrowthSchedule",
    "ProgressiveGAN",
    "Stage",
    "critic_loss",
    "fade_real_images",
    "generator_loss",
    "gradient_penalty",
]
