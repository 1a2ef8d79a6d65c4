"""Unit activation levels (ganlens.metrics.unit_level): the one 99th-percentile level."""

import pytest
import torch
from torch import nn

from ganlens.ace.insertion import InsertionAccumulator, insertion_statistics
from ganlens.ace.planted import PlantedCausalGenerator, PlantedConceptSegmenter
from ganlens.hooks import trace
from ganlens.metrics.unit_level import UNIT_LEVEL, UnitLevel, unit_levels
from ganlens.metrics.unit_quantile import UnitQuantile


def former_paint_levels(generator: nn.Module, layer: str, latents: torch.Tensor) -> torch.Tensor:
    """The loop ``PaintModel.levels`` had before it called unit_levels."""
    metric = None
    for start in range(0, latents.shape[0], 32):
        with torch.no_grad(), trace(generator, layer) as features:
            generator(latents[start : start + 32])
        if metric is None:
            metric = UnitQuantile(features[layer].shape[1], 1.0 - 0.99, sync_on_compute=False)
        metric.update(features[layer].cpu())
    assert metric is not None
    return metric.compute().reshape(-1).float()


def planted() -> tuple[PlantedCausalGenerator, torch.Tensor]:
    generator = PlantedCausalGenerator(grid=8, scale=1)
    z = torch.randn(100, generator.latent_size, generator=torch.Generator().manual_seed(3))
    return generator, z


def test_unit_levels_equal_the_former_paint_levels_exactly():
    generator, z = planted()
    levels = unit_levels(generator, "layer1", z)
    assert levels.dtype == torch.float32 and levels.shape == (8,)
    assert torch.equal(levels, former_paint_levels(generator, "layer1", z))


def test_ace_quantile_statistic_is_the_same_level():
    generator, z = planted()
    stats = insertion_statistics(generator, "layer1", PlantedConceptSegmenter(), "tree", z)
    assert stats.level == UNIT_LEVEL == 0.99
    assert torch.equal(stats.quantile, unit_levels(generator, "layer1", z, batch_size=7))


def test_levels_match_the_exact_percentile_of_all_cells():
    features = torch.randn(64, 3, 8, 8, generator=torch.Generator().manual_seed(0)) * 2 + 1
    levels = UnitLevel(0.9)
    for batch in features.split(10):
        levels.update(batch)
    exact = features.transpose(0, 1).reshape(3, -1).quantile(0.9, dim=1)
    torch.testing.assert_close(levels.compute(), exact, rtol=0.01, atol=0.0)


def test_bad_arguments_are_refused():
    for level in (0.0, 1.0, 1.5):
        with pytest.raises(ValueError, match=r"level must lie in \(0, 1\)"):
            UnitLevel(level)
        with pytest.raises(ValueError, match=r"level must lie in \(0, 1\)"):
            InsertionAccumulator(level)
    with pytest.raises(ValueError, match="no featuremaps have been added"):
        UnitLevel().compute()
    with pytest.raises(ValueError, match=r"features must be \[N, U, h, w\]"):
        UnitLevel().update(torch.zeros(2, 3))
    generator, z = planted()
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        unit_levels(generator, "layer1", z, batch_size=0)
    with pytest.raises(ValueError, match="no featuremaps have been added"):
        unit_levels(generator, "layer1", z[:0])
    flat = nn.Sequential(nn.Flatten())
    with pytest.raises(ValueError, match=r"layer '0' must output \[N, U, h, w\]; got \[2, 12\]"):
        unit_levels(flat, "0", torch.zeros(2, 3, 2, 2))
