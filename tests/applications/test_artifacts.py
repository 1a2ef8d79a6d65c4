"""Planted artifact unit: ranked first by its top samples' quality, and ablating it repairs."""

from __future__ import annotations

import pytest
import torch

from ganlens.applications.artifacts import artifact_scores
from ganlens.applications.loading import real_scene_images
from ganlens.applications.planted import PlantedArtifactGenerator
from ganlens.applications.quality import quality_measure
from ganlens.applications.repair import repair_curve

ARTIFACT = 3


def planted_latents(count: int, units: int, seed: int = 0) -> torch.Tensor:
    z = torch.randn(count, 1 + units, generator=torch.Generator().manual_seed(seed))
    z[:, 0] = torch.arange(count, dtype=torch.float32)  # scene i: clean scenes 0..count-1
    return z


@pytest.fixture(scope="module")
def generator() -> PlantedArtifactGenerator:
    return PlantedArtifactGenerator(units=5, artifact_unit=ARTIFACT)


@pytest.mark.parametrize("metric", ["fsd", "swd"])
def test_planted_artifact_unit_is_ranked_first(generator, metric):
    z = planted_latents(64, 5)
    real = real_scene_images(64, 32, seed=7)
    floor = real_scene_images(12, 32, seed=7, start=64)
    scores = artifact_scores(
        generator, "layer1", z, real, quality_measure(metric), top_k=12, floor_images=floor
    )
    assert scores.ranking[0] == ARTIFACT
    others = [float(scores.scores[u]) for u in range(5) if u != ARTIFACT]
    margin = 1.5 if metric == "fsd" else 1.1  # SWD of 12 images has a high noise floor
    assert float(scores.scores[ARTIFACT]) > margin * max(others)
    assert float(scores.scores[ARTIFACT]) > scores.random_score
    assert scores.floor is not None and scores.floor < float(scores.scores[ARTIFACT])
    assert scores.top_samples.shape == (5, 12)
    # the artifact unit's top samples are exactly the 12 latents with the highest level
    expected = set(torch.argsort(z[:, 1 + ARTIFACT], descending=True)[:12].tolist())
    assert set(scores.top_samples[ARTIFACT].tolist()) == expected


def test_ablating_the_planted_unit_repairs_and_random_units_do_not(generator):
    z = planted_latents(32, 5, seed=1)
    real = real_scene_images(32, 32, seed=7)
    floor = real_scene_images(32, 32, seed=7, start=32)
    ranking = [ARTIFACT, 0, 1, 2, 4]
    curve = repair_curve(
        generator,
        "layer1",
        ranking,
        z,
        real,
        [quality_measure("fsd")],
        max_units=2,
        floor_images=floor,
        control=True,
        seed=0,
    )
    fsd = curve.values["fsd"]
    assert fsd[1] < 0.5 * fsd[0]  # the planted unit removed: clean scenes
    assert fsd[2] == pytest.approx(fsd[1], rel=1e-6)  # unit 0 has no effect on images
    assert curve.change("fsd") < 0
    assert curve.units == [ARTIFACT, 0]
    assert curve.control["fsd"][0] == fsd[0]
    # the control removes the planted unit only once its random order reaches it
    position = curve.control_units.index(ARTIFACT) if ARTIFACT in curve.control_units else 99
    for n, value in enumerate(curve.control["fsd"]):
        if n <= position:
            assert value == pytest.approx(fsd[0], rel=1e-6)


def test_ablated_images_are_the_clean_scenes(generator):
    from ganlens.applications.artifacts import generate

    z = planted_latents(4, 5)
    [(_, images, _)] = list(generate(generator, z, "layer1", ablate=[ARTIFACT]))
    clean = real_scene_images(4, 32, seed=0)
    assert torch.allclose(images, clean, atol=1e-6)


def test_bad_arguments_are_named(generator):
    z = planted_latents(8, 5)
    real = real_scene_images(8, 32)
    with pytest.raises(ValueError, match=r"top_k must lie in 2\.\.8"):
        artifact_scores(generator, "layer1", z, real, quality_measure("swd"), top_k=9)
    with pytest.raises(ValueError, match=r"max_units must lie in 0\.\.2"):
        repair_curve(generator, "layer1", [0, 1], z, real, [quality_measure("swd")], max_units=3)
    with pytest.raises(ValueError, match="N = 8"):
        repair_curve(generator, "layer1", [0], z, real[:4], [quality_measure("swd")])
    with pytest.raises(ValueError, match="unknown layer 'layer9'"):
        artifact_scores(generator, "layer9", z, real, quality_measure("swd"), top_k=2)
