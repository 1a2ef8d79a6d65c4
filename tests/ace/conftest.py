"""Planted-cause fixtures: the causal toy generator, its segmenter and fixed latents."""

from __future__ import annotations

import pytest
import torch

from ganlens.ace.planted import PlantedCausalGenerator, PlantedConceptSegmenter


@pytest.fixture
def segmenter() -> PlantedConceptSegmenter:
    return PlantedConceptSegmenter("tree")


@pytest.fixture
def exact_generator() -> PlantedCausalGenerator:
    """No jitter: every ACE has a closed form (see ganlens.ace.planted)."""
    return PlantedCausalGenerator(causal=3, decoys=3, noise=2, grid=8, scale=2, jitter=0.0)


@pytest.fixture
def jittered_generator() -> PlantedCausalGenerator:
    """Jittered causal units: the decoys have the highest IoU."""
    return PlantedCausalGenerator(causal=3, decoys=3, noise=2, grid=8, scale=2, jitter=0.1)


def latents(count: int, size: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(count, size, generator=torch.Generator().manual_seed(seed))
