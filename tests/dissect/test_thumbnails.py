"""Unit pictures: the region rule, and one render per distinct sample giving the same pictures."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from ganlens.dissect import SceneLabelSegmenter, dissect
from ganlens.dissect.planted import PlantedSceneGenerator
from ganlens.dissect.thumbnails import DIMMED, top_sample_overlays, unit_overlays
from ganlens.hooks import trace


@pytest.fixture(scope="module")
def planted():
    generator = PlantedSceneGenerator(["sky", "grass", "building"], resolution=32)
    z = torch.arange(12.0).view(-1, 1)
    result = dissect(generator, "layer1", SceneLabelSegmenter(range(12)), z, batch_size=5)
    return generator, z, result["layer1"]


def test_pixels_are_bright_exactly_inside_the_thresholded_upsampled_map(planted):
    generator, z, _ = planted
    pictures = unit_overlays(generator, "layer1", z[:2], [0, 1], [0.5, 0.5])
    with trace(generator, "layer1") as features:
        images = (generator(z[:2]).clamp(-1, 1) + 1) / 2  # [2, 3, 32, 32]
    maps = features["layer1"][[0, 1], [0, 1]][:, None]  # [2, 1, h, w]
    region = F.interpolate(maps, size=(32, 32), mode="bilinear", align_corners=False)[:, 0] > 0.5
    expected = images * torch.where(region, 1.0, DIMMED)[:, None]
    assert region.any() and (~region).any()
    assert torch.equal(pictures, (expected * 255).round().to(torch.uint8))


def test_top_sample_overlays_match_one_picture_per_pair(planted):
    generator, z, layer = planted
    units = [0, 1, 2, 4]
    fast = top_sample_overlays(generator, layer, z, units, count=3, batch_size=4)
    for unit in units:
        record = layer.units[unit]
        samples = list(record.top_samples[:3])
        slow = unit_overlays(generator, "layer1", z[samples], [unit] * len(samples),
                             [record.threshold] * len(samples))  # fmt: skip
        assert torch.equal(fast[unit], slow), unit


def test_bad_arguments_raise(planted):
    generator, z, _ = planted
    with pytest.raises(ValueError, match="one entry per latent"):
        unit_overlays(generator, "layer1", z[:2], [0], [0.5, 0.5])
    with pytest.raises(ValueError, match="unit indices must lie in"):
        unit_overlays(generator, "layer1", z[:1], [99], [0.5])
