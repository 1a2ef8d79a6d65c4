"""Progressive growing schedules (Karras et al., ICLR 2018, section 3 and appendix A.1).

A schedule is a list of phases, one per resolution. Each phase first fades its new block in over
``fade_images`` real images (alpha rises linearly from 0 to 1), then stabilises for
``stabilise_images``; the last phase goes on for as long as training does. Everything is driven by
the count of real images shown to the discriminator, never by ``trainer.global_step`` (which a
GAN's two optimisers advance twice per batch).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor


@dataclass(frozen=True)
class GrowthPhase:
    """One resolution of a growth schedule.

    Args:
        resolution: Image side of this phase (a power of two).
        fade_images: Real images over which the new block fades in (0 for the first phase).
        stabilise_images: Real images trained at full alpha before the next phase.
        batch_size: Images per step in this phase; ``None`` uses the whole loader batch.
    """

    resolution: int
    fade_images: int = 0
    stabilise_images: int = 0
    batch_size: int | None = None


@dataclass(frozen=True)
class Stage:
    """Where training stands: phase number, resolution, fade-in alpha and batch size."""

    phase: int
    resolution: int
    alpha: float
    batch_size: int | None


class GrowthSchedule:
    """A validated sequence of :class:`GrowthPhase` records.

    Args:
        phases: Phases in order of doubling resolution.

    Raises:
        ValueError: If resolutions do not double from phase to phase, are not powers of two, or
            an image count or batch size is negative or zero where it must not be.

    Example:
        >>> schedule = GrowthSchedule([GrowthPhase(4, 0, 100), GrowthPhase(8, 50, 100)])
        >>> schedule.stage(120)
        Stage(phase=1, resolution=8, alpha=0.4, batch_size=None)
        >>> schedule.stage(10_000).alpha, schedule.final_resolution
        (1.0, 8)
    """

    def __init__(self, phases: Sequence[GrowthPhase]) -> None:
        if not phases:
            raise ValueError("a growth schedule needs at least one phase")
        for i, phase in enumerate(phases):
            r = phase.resolution
            if r < 4 or r & (r - 1):
                raise ValueError(f"phase {i}: resolution must be a power of two >= 4; got {r}")
            if i and r != 2 * phases[i - 1].resolution:
                raise ValueError(
                    f"phase {i}: resolution {r} must double the previous {phases[i - 1].resolution}"
                )
            if phase.fade_images < 0 or phase.stabilise_images < 0:
                raise ValueError(f"phase {i}: image counts must be >= 0; got {phase}")
            if phase.batch_size is not None and phase.batch_size < 1:
                raise ValueError(f"phase {i}: batch_size must be >= 1; got {phase.batch_size}")
        self.phases = tuple(phases)

    @property
    def final_resolution(self) -> int:
        """Resolution of the last phase."""
        return self.phases[-1].resolution

    def stage(self, images_shown: int) -> Stage:
        """The stage after ``images_shown`` real images.

        The first phase has no fade (its alpha is always 1).
        """
        start = 0
        for i, phase in enumerate(self.phases):
            fade = phase.fade_images if i else 0
            end = start + fade + phase.stabilise_images
            if images_shown < end or i == len(self.phases) - 1:
                into = images_shown - start
                alpha = 1.0 if fade == 0 or into >= fade else into / fade
                return Stage(i, phase.resolution, alpha, phase.batch_size)
            start = end
        raise AssertionError("unreachable: the last phase always returns")

    def total_images(self) -> int:
        """Images until the last phase has faded in and stabilised once."""
        return sum(
            (p.fade_images if i else 0) + p.stabilise_images for i, p in enumerate(self.phases)
        )


def fade_real_images(images: Tensor, resolution: int, alpha: float) -> Tensor:
    """Real images as the critic sees them at ``resolution`` during a fade-in.

    Downsample by area averaging to ``resolution``; while ``alpha < 1`` blend with the 2x
    down-and-up (nearest) version, as the generator's output is blended (Karras, appendix A.1).

    Args:
        images: ``[N, C, R, R]`` with R a power-of-two multiple of ``resolution``.
        resolution: Target side r.
        alpha: Weight of the full-detail image in [0, 1].

    Returns:
        ``[N, C, r, r]``.

    Example:
        >>> x = torch.arange(256.0).reshape(1, 1, 16, 16)
        >>> fade_real_images(x, 8, 1.0)[0, 0, 0, :2].tolist()  # 2x2 means of x
        [8.5, 10.5]
        >>> fade_real_images(x, 8, 0.0)[0, 0, :2, :2].tolist()  # 4x4 means, repeated 2x2
        [[25.5, 25.5], [25.5, 25.5]]
    """
    side = images.shape[-1]
    if side % resolution or side < resolution:
        raise ValueError(f"images of side {side} cannot be reduced to {resolution}")
    x = F.avg_pool2d(images, side // resolution) if side != resolution else images  # [N, C, r, r]
    if alpha < 1.0 and resolution > 4:
        coarse = F.interpolate(F.avg_pool2d(x, 2), scale_factor=2.0, mode="nearest")
        x = torch.lerp(coarse, x, alpha)
    return x


def default_schedule(resolution: int) -> list[GrowthPhase]:
    """Karras' schedule: 800k images to fade and 800k to stabilise per resolution, batch 16.

    Example:
        >>> [p.resolution for p in default_schedule(16)]
        [4, 8, 16]
    """
    phases = [GrowthPhase(4, 0, 800_000, 16)]
    while phases[-1].resolution < resolution:
        phases.append(GrowthPhase(phases[-1].resolution * 2, 800_000, 800_000, 16))
    return phases
