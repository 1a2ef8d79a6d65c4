"""Held-out scenes (world seed 12345; the shipped segmenter was trained on seed 0)."""

import pytest
import torch

from ganlens.data.scene_world import SceneWorld

HELD_OUT_SEED = 12345


@pytest.fixture(scope="session")
def held_out64() -> tuple[torch.Tensor, torch.Tensor]:
    return SceneWorld(resolution=64, seed=HELD_OUT_SEED).batch(range(64))  # [64, 3, 64, 64] x2
