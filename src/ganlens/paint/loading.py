"""The one place the painting server reaches into the rest of ganlens for models and rankings.

Loading generators and segmenters, reading ``dissect.json`` and dissecting on the fly all go
through these functions, so the server does not depend on where those live.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from ganlens.dissect.record import fold_ace, read_dissection
from ganlens.dissect.runner import dissect
from ganlens.dissect.units import make_latents
from ganlens.sources import load_generator, load_segmenter, weights_fingerprint

__all__ = [
    "fingerprint",
    "open_dissection",
    "open_generator",
    "open_segmenter",
    "probe_latents",
    "quick_rankings",
]


def fingerprint(generator: nn.Module) -> str:
    """The SHA-256 of a generator's weights, as ``dissect.json`` records it under ``model``.

    Example:
        >>> len(fingerprint(nn.Linear(1, 1)))
        64
    """
    return weights_fingerprint(generator)


def open_generator(source: str | None, device: str | torch.device = "cpu") -> nn.Module:
    """The generator named by ``source`` (None: the shipped scene model), in eval mode.

    Example:
        >>> open_generator(None).resolution
        32
    """
    return load_generator(source, device)


def open_segmenter(source: str | None, device: str | torch.device = "cpu") -> Any:
    """The segmenter named by ``source`` (None: the shipped scene segmenter).

    Example:
        >>> open_segmenter(None).vocabulary.names[:3]
        ('-', 'sky', 'cloud')
    """
    return load_segmenter(source or "scene", device)


def open_dissection(path: str | Path) -> dict[str, Any]:
    """A ``dissect.json`` (a folder means its ``dissect.json``) with the folder's ACE folded in.

    Raises:
        FileNotFoundError: If there is no ``dissect.json`` there.
        ValueError: If it is not a ganlens ``dissect.json`` or an ACE file is unreadable.

    Example:
        >>> open_dissection("/nonexistent")
        Traceback (most recent call last):
        ...
        FileNotFoundError: no dissect.json at /nonexistent/dissect.json ...
    """
    folder = Path(path) if Path(path).is_dir() else Path(path).parent
    return fold_ace(read_dissection(path), folder).to_dict()


def probe_latents(latent_size: int, samples: int, seed: int) -> Tensor:
    """The probe latents ``[samples, latent_size]`` a dissection with this seed drew.

    Example:
        >>> probe_latents(4, 3, 0).shape
        torch.Size([3, 4])
    """
    return make_latents(latent_size, samples, seed, False)[0]


def quick_rankings(
    generator: nn.Module, layer: str, segmenter: Any, latents: Tensor, batch_size: int = 32
) -> list[dict[str, Any]]:
    """IoU rankings of one layer's units from a quick quantile-mode dissection on ``latents``.

    Returns:
        The layer's ``rankings`` as ``dissect.json`` stores them: one dict per concept any unit
        overlaps, with ``name``, ``concept``, ``metric`` ("iou") and ``score`` (``-IoU``, one
        per unit, lower is better).

    Example:
        >>> from ganlens.dissect.planted import PlantedSceneGenerator, SceneLabelSegmenter
        >>> g = PlantedSceneGenerator(["sky", "grass"], resolution=32)
        >>> ranks = quick_rankings(g, "layer1", SceneLabelSegmenter(range(16)),
        ...                        torch.arange(16.0)[:, None])
        >>> [r["name"] for r in ranks][:2]
        ['sky-iou', 'cloud-iou']
    """
    result = dissect(generator, layer, segmenter, latents, batch_size=batch_size)
    entry = result[layer].to_dict(result.concept_names, result.categories())
    rankings: list[dict[str, Any]] = entry["rankings"]
    return rankings
