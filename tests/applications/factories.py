"""Planted "checkpoints" and their segmenter, importable as ``factories:NAME`` in tests."""

from __future__ import annotations

import torch
from torch import Tensor

from ganlens.dissect.planted import PlantedSceneGenerator, SceneLabelSegmenter

PLANTED_A = ["sky", "grass", "door"]
PLANTED_B = ["sky", "water", "door"]
SCENES = 64


class GaussianPlanted(PlantedSceneGenerator):
    """:class:`PlantedSceneGenerator` that takes Gaussian latents: scene floor(|z_0| 1e4) % 64."""

    latent_size = 1

    def forward(self, z: Tensor) -> Tensor:
        """Images of the scenes the latents pick."""
        index = (z[:, :1].abs() * 10_000).floor() % SCENES
        return super().forward(index.to(torch.float32))


def checkpoint_a() -> GaussianPlanted:
    """A planted "checkpoint": units 0..2 detect sky, grass, door."""
    return GaussianPlanted(PLANTED_A)


def checkpoint_b() -> GaussianPlanted:
    """The same run later: unit 1 now detects water instead of grass."""
    return GaussianPlanted(PLANTED_B)


def segmenter() -> SceneLabelSegmenter:
    """Ground-truth labels of the scenes 0..SCENES-1."""
    return SceneLabelSegmenter(range(SCENES))
