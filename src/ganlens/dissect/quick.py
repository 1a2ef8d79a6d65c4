"""A dissection drawn the way ``ganlens units`` draws it, for commands that need IoU rankings.

GAN Dissection (Bau et al., ICLR 2019, section 3.1). ``samples`` means the same here as
everywhere on the command line: N probe latents, plus N held-out latents that choose the
thresholds in ``iqr`` mode, drawn by :func:`~ganlens.dissect.stages.make_latents` from ``seed``.
So ``ganlens compare --samples 256`` dissects exactly what ``ganlens units --samples 256`` does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from torch import nn

from ganlens.dissect.result import DissectionResult
from ganlens.dissect.runner import dissect
from ganlens.dissect.stages import make_latents

__all__ = ["quick_dissection"]


def quick_dissection(
    generator: nn.Module,
    layers: str | Sequence[str],
    segmenter: Any,
    samples: int,
    *,
    seed: int = 0,
    threshold_mode: str = "iqr",
    latent_size: int | None = None,
    batch_size: int = 64,
    progress: bool = False,
    distributed: bool = False,
) -> DissectionResult:
    """Dissect ``layers`` on ``samples`` probe latents (and as many held out in iqr mode).

    Args:
        generator: Maps ``[N, D]`` latents to images.
        layers: One layer name or several.
        segmenter: Labels images (``vocabulary``, ``segment``).
        samples: Probe samples N.
        seed: Seed of the latent draw.
        threshold_mode: ``"iqr"`` or ``"quantile"``.
        latent_size: D, when the generator has no ``latent_size`` attribute.
        batch_size: Samples per forward pass.
        progress: Show progress bars.
        distributed: Split the samples over the initialised ``torch.distributed`` group (every
            process calls this and gets the whole result).

    Returns:
        The :class:`~ganlens.dissect.DissectionResult`.

    Raises:
        ValueError: If the latent size is unknown, or on a bad mode or layer.

    Example:
        >>> from ganlens.sources import load_generator, load_segmenter
        >>> result = quick_dissection(load_generator("scene"), "layer4", load_segmenter("scene"), 8)
        >>> result.settings.num_probe, result.settings.threshold_mode, len(result["layer4"].units)
        (8, 'iqr', 128)
    """
    size = latent_size if latent_size is not None else getattr(generator, "latent_size", None)
    if not isinstance(size, int) or size < 1:
        raise ValueError(
            f"--latent-size is needed: {type(generator).__name__} has no positive integer "
            f"latent_size attribute; got {size!r}"
        )
    probe, held_out = make_latents(size, samples, seed, threshold_mode == "iqr")
    return dissect(
        generator, layers, segmenter, probe, held_out, batch_size=batch_size,
        threshold_mode=threshold_mode, progress=progress, distributed=distributed,
    )  # fmt: skip
