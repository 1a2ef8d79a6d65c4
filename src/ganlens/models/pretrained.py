"""Generators shipped with ganlens, and the export that produced them.

Shipped generators are stored in gandissect's ProgGAN ``.pth`` layout (trunk blocks ``layerN``
and the final ``output_RxR`` only), so :func:`~ganlens.models.weights.load_proggan_generator`
reads them like any gandissect file. ``scene_proggan_64.pth`` (the default) is the EMA generator
of ``configs/scene_cpu_64.yaml``, card ``SCENE_MODEL_64.md`` beside it; ``scene_proggan_32.pth``
the earlier one of ``configs/scene_cpu_32.yaml``, card ``SCENE_MODEL.md``.
"""

from __future__ import annotations

import os
from importlib.resources import as_file, files
from pathlib import Path

import torch

from ganlens.models.generator import ProgressiveGenerator
from ganlens.models.weights import load_proggan_generator

SHIPPED_GENERATORS = {"scene64": "scene_proggan_64.pth", "scene32": "scene_proggan_32.pth"}
"""Name of each shipped scene generator (``--generator NAME``) and its file beside this module."""

DEFAULT_SCENE_GENERATOR = "scene64"
"""The one ``--generator scene`` (the default of every command) means."""

SHIPPED_FRAMINGS = {"scene64": "church", "scene32": "default"}
"""The scene-world framing each shipped generator was trained on (what its real images are)."""


def export_generator(checkpoint: str | os.PathLike[str], out: str | os.PathLike[str]) -> Path:
    """Write the EMA generator of a ``ProgressiveGAN`` checkpoint as a ``.pth`` file.

    Args:
        checkpoint: A Lightning checkpoint of ``ProgressiveGAN``.
        out: Destination ``.pth`` file (gandissect layout).

    Returns:
        The written path.
    """
    state = torch.load(checkpoint, map_location="cpu", weights_only=True)["state_dict"]
    prefix = "generator_ema."
    ema = {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}
    resolution = max(int(k.split("_")[1].split("x")[0]) for k in ema if k.startswith("output_"))
    final = f"output_{resolution}x{resolution}."
    weights = {k: v for k, v in ema.items() if not k.startswith("output_") or k.startswith(final)}
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(weights, path)
    return path


def load_scene_generator(
    device: str | torch.device | None = None, name: str = DEFAULT_SCENE_GENERATOR
) -> ProgressiveGenerator:
    """A shipped scene generator (no network needed), in eval mode.

    Args:
        device: Where to put it; CPU by default.
        name: Which one (:data:`SHIPPED_GENERATORS`); the default is
            :data:`DEFAULT_SCENE_GENERATOR`.

    Raises:
        ValueError: If ``name`` is not a shipped generator.

    Example:
        >>> g = load_scene_generator()
        >>> g.resolution, g.latent_size, g(torch.randn(2, g.latent_size)).shape
        (64, 128, torch.Size([2, 3, 64, 64]))
        >>> load_scene_generator(name="scene32").resolution
        32
    """
    if name not in SHIPPED_GENERATORS:
        raise ValueError(f"no shipped generator {name!r}; shipped: {', '.join(SHIPPED_GENERATORS)}")
    with as_file(files("ganlens.models") / "weights" / SHIPPED_GENERATORS[name]) as path:
        generator = load_proggan_generator(path)
    return generator.to(device or "cpu").eval()
