"""The scene world: procedural outdoor scenes with exact per-pixel labels (the offline default).

Each scene is a deterministic function of ``(seed, index)``: its layout comes from one random
stream and its per-pixel sensor noise from another, so the same scene renders at any resolution
with the same geometry. Labels are ``[3, H, W]`` layers (object, part, material) indexing
:data:`SCENE_VOCABULARY`; 0 means "no label".

Run ``python -m ganlens.data.scenes --out grid.png`` (or ``ganlens-scenes``) to render a grid of
scenes with their label overlays and a legend (see :mod:`ganlens.data.scenes`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from ganlens.data.scene_church import sample_church_layout
from ganlens.data.scene_layout import SceneLayout, sample_layout
from ganlens.data.scene_render import render_layout
from ganlens.data.vocabulary import LAYER_NAMES, SCENE_VOCABULARY
from ganlens.images import from_uint8

__all__ = [
    "FRAMINGS",
    "LAYER_NAMES",
    "SCENE_VOCABULARY",
    "RenderedScene",
    "SceneWorld",
    "render_scene",
]

MIN_RESOLUTION, MAX_RESOLUTION = 16, 1024
FRAMINGS = ("default", "church")  # wide landscapes; one large building (see scene_church)


@dataclass
class RenderedScene:
    """One rendered scene.

    Attributes:
        image: ``uint8 [3, H, W]`` RGB image.
        labels: ``int64 [3, H, W]`` object, part and material layers (0 = no label).
        layout: The resolution-free geometry the scene was drawn from.
    """

    image: torch.Tensor
    labels: torch.Tensor
    layout: SceneLayout


def _check_resolution(resolution: int) -> None:
    if not isinstance(resolution, int) or not MIN_RESOLUTION <= resolution <= MAX_RESOLUTION:
        raise ValueError(
            f"resolution must be an int in [{MIN_RESOLUTION}, {MAX_RESOLUTION}] "
            f"(32 to 256 is the tested range); got {resolution!r}"
        )


def check_framing(framing: str) -> None:
    """Raise ``ValueError`` unless ``framing`` is one of :data:`FRAMINGS`.

    Example:
        >>> check_framing("church")
    """
    if framing not in FRAMINGS:
        raise ValueError(f"framing must be one of {', '.join(FRAMINGS)}; got {framing!r}")


def render_scene(
    seed: int, index: int, resolution: int = 64, framing: str = "default"
) -> RenderedScene:
    """Render scene ``index`` of the world ``seed``.

    Args:
        seed: World seed; different seeds give independent worlds.
        index: Scene number within the world (any non-negative int).
        resolution: Side length in pixels, 16 to 1024 (32 to 256 tested).
        framing: ``"default"`` (wide landscapes) or ``"church"`` (one building filling 30-40%
            of the frame, trees at its sides, sky above; :mod:`ganlens.data.scene_church`).

    Returns:
        The :class:`RenderedScene`; identical for identical arguments.

    Raises:
        ValueError: If ``resolution``, ``index`` or ``framing`` is out of range.

    Example:
        >>> scene = render_scene(seed=0, index=7, resolution=32)
        >>> scene.image.shape, scene.image.dtype, scene.labels.shape
        (torch.Size([3, 32, 32]), torch.uint8, torch.Size([3, 32, 32]))
        >>> torch.equal(scene.labels, render_scene(0, 7, 32).labels)
        True
    """
    _check_resolution(resolution)
    check_framing(framing)
    if index < 0 or seed < 0:
        raise ValueError(f"seed and index must be non-negative; got seed={seed}, index={index}")
    sample = sample_church_layout if framing == "church" else sample_layout
    layout = sample(np.random.default_rng([seed, index, 0]))
    image, labels = render_layout(layout, resolution, np.random.default_rng([seed, index, 1]))
    return RenderedScene(
        image=torch.from_numpy(image).permute(2, 0, 1).contiguous(),
        labels=torch.from_numpy(labels).long(),
        layout=layout,
    )


class SceneWorld:
    """An indexable, endless collection of scenes at a fixed resolution.

    Args:
        resolution: Side length in pixels (16 to 1024; 32 to 256 tested).
        seed: World seed.
        framing: ``"default"`` or ``"church"`` (see :func:`render_scene`).

    Example:
        >>> world = SceneWorld(resolution=32, seed=0)
        >>> images, labels = world.batch(range(4))
        >>> images.shape, labels.shape
        (torch.Size([4, 3, 32, 32]), torch.Size([4, 3, 32, 32]))
        >>> bool(images.min() >= -1 and images.max() <= 1)
        True
    """

    vocabulary = SCENE_VOCABULARY
    layer_names = LAYER_NAMES

    def __init__(self, resolution: int = 64, seed: int = 0, framing: str = "default") -> None:
        _check_resolution(resolution)
        check_framing(framing)
        self.resolution = resolution
        self.seed = seed
        self.framing = framing

    def __getitem__(self, index: int) -> RenderedScene:
        """Render scene ``index``."""
        return render_scene(self.seed, index, self.resolution, self.framing)

    def batch(self, indices: Sequence[int] | range) -> tuple[torch.Tensor, torch.Tensor]:
        """Render several scenes as a batch.

        Returns:
            ``(images, labels)``: float ``[N, 3, H, W]`` in [-1, 1] and int64 ``[N, 3, H, W]``.
        """
        scenes = [self[i] for i in indices]
        images = from_uint8(torch.stack([s.image for s in scenes]))  # [N, 3, H, W]
        return images, torch.stack([s.labels for s in scenes])
