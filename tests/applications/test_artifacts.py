"""Planted artifact unit: ranked first by its top samples' quality, and ablating it repairs."""

from __future__ import annotations

import pytest
import torch

from ganlens.applications.artifacts import ArtifactScores, artifact_scores
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
    assert float(scores.scores[ARTIFACT]) > 1.5 * max(others)
    assert float(scores.scores[ARTIFACT]) > scores.random_score
    assert scores.floor is not None and scores.floor < float(scores.scores[ARTIFACT])
    assert scores.top_samples.shape == (5, 12)
    # the artifact unit's top samples are exactly the 12 latents with the highest level
    expected = set(torch.argsort(z[:, 1 + ARTIFACT], descending=True)[:12].tolist())
    assert set(scores.top_samples[ARTIFACT].tolist()) == expected


NOISE_UNIT, NOISE_UNITS, NOISE_TOP_K = 5, 12, 16


def noisy_top_latents(count: int, seed: int = 0) -> tuple[torch.Tensor, set[int]]:
    """Latents whose noise unit fires (level ~1) on exactly NOISE_TOP_K samples, ~0 elsewhere."""
    z = planted_latents(count, NOISE_UNITS, seed)
    z[:, 1 + NOISE_UNIT] = -9.0
    fired = torch.randperm(count, generator=torch.Generator().manual_seed(seed + 1))[:NOISE_TOP_K]
    z[fired, 1 + NOISE_UNIT] = 4.0
    return z, set(fired.tolist())


def noise_unit_scores(metric: str, **options) -> tuple[ArtifactScores, set[int]]:
    # Blurred scenes (2x2 blocks): even the ordinary samples lack the real images' fine detail,
    # as an undertrained GAN's do; the noise unit adds white noise to its 16 top samples only.
    generator = PlantedArtifactGenerator(units=NOISE_UNITS, artifact_unit=NOISE_UNIT, blur=2)
    z, fired = noisy_top_latents(64)
    real = real_scene_images(64, 32, seed=7)
    measure = quality_measure(metric, **options)
    return artifact_scores(generator, "layer1", z, real, measure, top_k=NOISE_TOP_K), fired


# Not "fid": offline, tests only have Inception-v3 with random weights (tests/callbacks/
# test_quality.py); on these images its Frechet distances are ~1e-13, rounding noise, and it
# takes over a minute on one CPU thread.
@pytest.mark.parametrize("metric", ["fsd", "swd"])
def test_a_unit_adding_noise_to_its_top_samples_ranks_first(metric):
    # Its top samples are the blurred scenes plus noise, every other unit's are blurred scenes:
    # whatever the blur costs, the noise unit's samples are the least real.
    scores, fired = noise_unit_scores(metric)
    assert set(scores.top_samples[NOISE_UNIT].tolist()) == fired
    assert scores.ranking[0] == NOISE_UNIT
    others = [float(scores.scores[u]) for u in range(NOISE_UNITS) if u != NOISE_UNIT]
    assert float(scores.scores[NOISE_UNIT]) > 1.5 * max(others)
    assert float(scores.scores[NOISE_UNIT]) > 1.5 * scores.random_score


def test_karras_per_set_swd_would_rank_the_noise_unit_below_random_samples():
    # Why the artifact SWD normalises by the real set's statistics: with Karras' per-set
    # normalisation the noisy set is rescaled to unit spread and looks closer to the real images
    # than k random (noise-free, blurred) samples.
    scores, _ = noise_unit_scores("swd", swd_normalize="per_set")
    assert scores.ranking[-1] == NOISE_UNIT
    assert float(scores.scores[NOISE_UNIT]) < scores.random_score


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
