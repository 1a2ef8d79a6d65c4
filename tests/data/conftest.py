"""Scenes rendered once per test session and shared by the rule checks."""

import pytest
import torch

from ganlens.data.scene_world import RenderedScene, render_scene

RULE_SCENES = 1500  # scenes whose pixels are checked against the layout rules


@pytest.fixture(scope="session")
def scenes64() -> list[RenderedScene]:
    return [render_scene(seed=3, index=i, resolution=64) for i in range(RULE_SCENES)]


@pytest.fixture(scope="session")
def labels64(scenes64) -> torch.Tensor:
    return torch.stack([s.labels for s in scenes64])  # [N, 3, 64, 64]
