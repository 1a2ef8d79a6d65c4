"""Planted-ground-truth fixtures: a toy generator with known concept units and its segmenter."""

from __future__ import annotations

import pytest
import torch

from ganlens.dissect.planted import PlantedSceneGenerator, SceneLabelSegmenter

# Concepts whose masks no other concept nearly contains or nearly equals (a planted "tree" unit
# is honestly best matched by "foliage", which covers most of each tree, so it is not used).
PLANTED = ("sky", "cloud", "mountain", "water", "grass", "road", "roof", "door", "dome", "trunk")
NUM_PROBE, NUM_HELD_OUT = 48, 48


@pytest.fixture(scope="session")
def planted_generator() -> PlantedSceneGenerator:
    return PlantedSceneGenerator(PLANTED, seed=0, resolution=32, feature_size=8, num_noise=3)


@pytest.fixture(scope="session")
def scene_segmenter() -> SceneLabelSegmenter:
    return SceneLabelSegmenter(range(NUM_PROBE + NUM_HELD_OUT), seed=0, resolution=32)


@pytest.fixture(scope="session")
def latent_sets() -> tuple[torch.Tensor, torch.Tensor]:
    """(probe, held-out) latents [48, 2]: the first entry is the scene index."""
    probe = torch.stack([torch.arange(NUM_PROBE).float(), torch.zeros(NUM_PROBE)], dim=1)
    held_out = probe + torch.tensor([float(NUM_PROBE), 0.0])
    return probe, held_out
