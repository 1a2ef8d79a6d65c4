"""End-to-end tests of ganlens.dissect.dissect on planted ground truth."""

from __future__ import annotations

import json
import re

import pytest
import torch
import torch.nn.functional as F

from ganlens.data import SCENE_VOCABULARY
from ganlens.dissect import DissectionResult, dissect
from ganlens.dissect.planted import PlantedSceneGenerator, SceneLabelSegmenter
from ganlens.hooks import trace

PLANTED = ("sky", "cloud", "mountain", "water", "grass", "road", "roof", "door", "dome", "trunk")
Latents = tuple[torch.Tensor, torch.Tensor]


@pytest.fixture(scope="module")
def dissections(
    planted_generator: PlantedSceneGenerator,
    scene_segmenter: SceneLabelSegmenter,
    latent_sets: Latents,
) -> dict[str, DissectionResult]:
    probe, held_out = latent_sets
    common = {"batch_size": 10, "resolution": 32}
    return {
        "quantile": dissect(planted_generator, "layer1", scene_segmenter, probe, **common),
        "iqr": dissect(
            planted_generator,
            ["layer1"],
            scene_segmenter,
            probe,
            held_out,
            threshold_mode="iqr",
            **common,
        ),
    }


def brute_force_iou(
    generator: PlantedSceneGenerator,
    segmenter: SceneLabelSegmenter,
    latents: torch.Tensor,
    thresholds: torch.Tensor,
) -> torch.Tensor:
    """IoU [U, C] of thresholded, upsampled featuremaps, mask by mask, over the whole set."""
    with trace(generator, "layer1") as features:
        images = generator(latents)
    up = F.interpolate(features["layer1"], size=32, mode="bilinear", align_corners=False)
    labels = segmenter.segment(images, 32)  # [N, 3, 32, 32]
    table = torch.zeros(up.shape[1], len(SCENE_VOCABULARY), dtype=torch.float64)
    for c in range(1, len(SCENE_VOCABULARY)):
        concept = (labels == c).any(dim=1)
        for u in range(up.shape[1]):
            active = up[:, u] > thresholds[u]
            union = int((active | concept).sum())
            table[u, c] = int((active & concept).sum()) / union if union else 0.0
    return table


@pytest.mark.parametrize("mode", ["quantile", "iqr"])
def test_every_planted_unit_is_recovered(
    dissections: dict[str, DissectionResult], mode: str
) -> None:
    layer = dissections[mode]["layer1"]
    assert [unit.concept for unit in layer.units[: len(PLANTED)]] == list(PLANTED)
    for unit in layer.units[: len(PLANTED)]:
        assert unit.category == SCENE_VOCABULARY.category(unit.concept)
        if mode == "iqr":  # thresholds fit each concept: high IoU, and both cut-offs cleared
            assert unit.interpretable and unit.iou > 0.1 and unit.iqr > 0.05
    noise = layer.units[len(PLANTED) :]
    assert not any(unit.interpretable for unit in noise)
    assert noise[-1].concept == "-" and noise[-1].iou == 0.0  # the dead unit
    planted_iou = min(u.iou for u in layer.units[: len(PLANTED)] if u.interpretable)
    assert max(u.iou for u in noise) < planted_iou


@pytest.mark.parametrize("mode", ["quantile", "iqr"])
def test_iou_equals_brute_force_on_the_same_thresholds(
    dissections: dict[str, DissectionResult],
    planted_generator: PlantedSceneGenerator,
    scene_segmenter: SceneLabelSegmenter,
    latent_sets: Latents,
    mode: str,
) -> None:
    layer = dissections[mode]["layer1"]
    thresholds = torch.tensor([unit.threshold for unit in layer.units])
    expected = brute_force_iou(planted_generator, scene_segmenter, latent_sets[0], thresholds)
    torch.testing.assert_close(layer.iou_table.double(), expected, atol=1e-6, rtol=0)
    best = torch.tensor([unit.iou for unit in layer.units], dtype=torch.float64)
    torch.testing.assert_close(best, expected.max(dim=1).values, atol=1e-6, rtol=0)


def test_quantile_thresholds_hit_the_top_fraction(
    dissections: dict[str, DissectionResult],
    planted_generator: PlantedSceneGenerator,
    latent_sets: Latents,
) -> None:
    layer = dissections["quantile"]["layer1"]
    with trace(planted_generator, "layer1") as features:
        planted_generator(latent_sets[0])
    up = F.interpolate(features["layer1"], size=32, mode="bilinear", align_corners=False)
    thresholds = torch.tensor([unit.threshold for unit in layer.units]).view(1, -1, 1, 1)
    realised = (up > thresholds).double().mean(dim=(0, 2, 3))[:-1]  # the dead unit has ties
    torch.testing.assert_close(realised, torch.full_like(realised, 0.01), rtol=0.05, atol=0)


def test_summary_and_top_samples(dissections: dict[str, DissectionResult]) -> None:
    result = dissections["iqr"]
    layer = result["layer1"]
    summary = layer.summary
    assert summary.num_units == len(PLANTED) + 4
    assert summary.num_interpretable == len(PLANTED) == summary.num_concepts
    assert summary.units_per_concept == dict.fromkeys(PLANTED, 1)
    assert sum(summary.category_counts.values()) == len(PLANTED)
    assert summary.category_counts["part"] == 4  # roof, door, dome, trunk
    assert next(u.unit for u in layer.interpretable_units()) in range(len(PLANTED))
    for unit in layer.units:
        assert len(unit.top_samples) == 10 and len(set(unit.top_samples)) == 10
        assert all(0 <= i < 48 for i in unit.top_samples)
    settings = result.settings
    assert (settings.num_probe, settings.num_threshold, settings.num_levels) == (48, 48, 100)
    assert settings.min_iqr == 0.01
    json.dumps(result.to_dict())  # plain values only


def test_category_mode_and_several_layers(
    scene_segmenter: SceneLabelSegmenter, latent_sets: Latents
) -> None:
    class TwoLayers(PlantedSceneGenerator):
        def __init__(self) -> None:
            super().__init__(["sky", "door"], feature_size=8, num_noise=1)
            self.layer2 = torch.nn.AvgPool2d(2)

        def forward(self, z: torch.Tensor) -> torch.Tensor:
            with trace(self, "layer1") as features:
                images = super().forward(z)
            self.layer2(features["layer1"])
            return images

    probe = latent_sets[0][:20]
    result = dissect(TwoLayers(), ["layer1", "layer2"], scene_segmenter, probe, iou_mode="category")
    assert list(result.layers) == ["layer1", "layer2"]
    assert result["layer2"].iou_table.shape == (4, len(SCENE_VOCABULARY))
    assert result["layer1"].units[1].concept == "door"
    assert result.settings.resolution == 32  # the image resolution (capped at 128)


def test_bad_arguments_raise(
    planted_generator: PlantedSceneGenerator,
    scene_segmenter: SceneLabelSegmenter,
    latent_sets: Latents,
) -> None:
    probe = latent_sets[0][:4]
    with pytest.raises(ValueError, match=r"unknown layer 'layer9'.*layer1"):
        dissect(planted_generator, "layer9", scene_segmenter, probe)
    with pytest.raises(ValueError, match="latents_threshold"):
        dissect(planted_generator, "layer1", scene_segmenter, probe, threshold_mode="iqr")
    with pytest.raises(ValueError, match="threshold_mode"):
        dissect(planted_generator, "layer1", scene_segmenter, probe, threshold_mode="top")
    with pytest.raises(ValueError, match="iou_mode"):
        dissect(planted_generator, "layer1", scene_segmenter, probe, iou_mode="all")
    with pytest.raises(ValueError, match="quantile"):
        dissect(planted_generator, "layer1", scene_segmenter, probe, quantile=0.0)
    with pytest.raises(ValueError, match="latents_probe"):
        dissect(planted_generator, "layer1", scene_segmenter, torch.zeros(0, 2))


def test_generators_that_overshoot_the_image_range_are_clamped_before_segmentation():
    """A ProgGAN has no output tanh; its samples leave [-1, 1] and the segmenter rejects them."""
    from ganlens.models import ProgressiveGenerator
    from ganlens.segment import load_scene_segmenter

    torch.manual_seed(0)
    generator = ProgressiveGenerator(resolution=32, latent_size=8, fmap_base=64, fmap_max=16)
    latents = torch.randn(16, 8)
    with torch.no_grad():
        assert generator(latents).abs().max() > 1.5  # the case that used to raise
    result = dissect(generator, ["layer2", "layer6"], load_scene_segmenter(), latents, batch_size=8)
    assert len(result["layer6"].units) == generator.channels[2]  # layer6: the 16 px block


def test_iqr_probe_counted_at_one_threshold_equals_selecting_from_all_levels(
    dissections: dict[str, DissectionResult],
    planted_generator: PlantedSceneGenerator,
    scene_segmenter: SceneLabelSegmenter,
    latent_sets: Latents,
) -> None:
    """Counting the probe at each unit's chosen threshold equals selecting from all B levels.

    Selecting from all levels, at the held-out search's level, is what the runner did before.
    """
    from ganlens.functional.information_quality import iqr_top_fractions
    from ganlens.metrics import UnitConceptIoU, UnitQuantile

    probe, held_out = latent_sets
    fractions = iqr_top_fractions(100)

    def features_and_labels(latents: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        with trace(planted_generator, "layer1") as features:
            images = planted_generator(latents)
        return features["layer1"], scene_segmenter.segment(images, 32)

    held_features, held_labels = features_and_labels(held_out)
    quantiles = UnitQuantile(held_features.shape[1], fractions, 32)
    quantiles.update(held_features)
    thresholds = quantiles.compute().view(held_features.shape[1], -1)  # [U, B]
    metrics = [
        UnitConceptIoU(SCENE_VOCABULARY, thresholds, top_fractions=fractions, min_iqr=0.01)
        for _ in range(2)
    ]
    metrics[0].update(held_features, held_labels)
    metrics[1].update(*features_and_labels(probe))
    metrics[1].select_levels(metrics[0].compute().level)
    expected = metrics[1].compute()

    layer = dissections["iqr"]["layer1"]
    torch.testing.assert_close(layer.iou_table, expected.iou_table.float(), atol=0, rtol=0)
    assert [u.threshold for u in layer.units] == expected.threshold.tolist()
    assert [u.iqr for u in layer.units] == pytest.approx(expected.iqr.tolist(), abs=1e-7)
    assert [u.interpretable for u in layer.units] == expected.interpretable.tolist()


class _TupleGenerator(torch.nn.Module):
    """Returns ``(images, extra)``, or has a layer returning a tuple, as some user networks do."""

    def __init__(self, tuple_images: bool) -> None:
        super().__init__()
        self.tuple_images = tuple_images
        self.layer1 = _TupleLayer(tuple_output=not tuple_images)

    def forward(self, z: torch.Tensor):
        features = self.layer1(z)
        features = features[0] if isinstance(features, tuple) else features
        images = torch.zeros(z.shape[0], 3, 16, 16) + features.mean()
        return (images, None) if self.tuple_images else images


class _TupleLayer(torch.nn.Module):
    def __init__(self, tuple_output: bool) -> None:
        super().__init__()
        self.tuple_output = tuple_output

    def forward(self, z: torch.Tensor):
        features = torch.zeros(z.shape[0], 4, 4, 4)
        return (features, z) if self.tuple_output else features


@pytest.mark.parametrize(
    ("tuple_images", "message"),
    [(True, "the generator must return an image tensor"),
     (False, "layer 'layer1' returns tuple; only tensors can be hooked")],
)  # fmt: skip
def test_tuples_from_the_generator_or_a_layer_are_one_clear_error(
    tuple_images: bool, message: str, scene_segmenter: SceneLabelSegmenter
) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        dissect(_TupleGenerator(tuple_images), "layer1", scene_segmenter, torch.zeros(4, 2))


class _RangeGenerator(torch.nn.Module):
    """The planted scenes mapped to another image range, as a user's generator might return."""

    def __init__(self, planted: PlantedSceneGenerator, scale: float) -> None:
        super().__init__()
        self.planted, self.scale = planted, scale

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return (self.planted(z) + 1) / 2 * self.scale  # [0, 1] or [0, 255]


@pytest.mark.parametrize(("scale", "named"), [(1.0, "[0, 1]"), (255.0, "[0, 255]")])
def test_images_in_another_range_fail_naming_it(
    planted_generator: PlantedSceneGenerator,
    scene_segmenter: SceneLabelSegmenter,
    latent_sets: Latents,
    scale: float,
    named: str,
) -> None:
    generator = _RangeGenerator(planted_generator, scale)
    with pytest.raises(ValueError, match=re.escape(f"look like {named}")):
        dissect(generator, "planted.layer1", scene_segmenter, latent_sets[0][:8])


def test_a_sampled_iqr_search_keeps_the_units_and_concepts_of_the_exhaustive_one(
    planted_generator: PlantedSceneGenerator,
    scene_segmenter: SceneLabelSegmenter,
    latent_sets: Latents,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import ganlens.dissect.runner as runner

    probe, held_out = latent_sets
    # 256 of the 1,024 pixels of each held-out image (pass 1 samples the same way in both runs,
    # so the candidate thresholds are the same and only the search's counts differ)
    monkeypatch.setattr(runner, "QUANTILE_SAMPLES", held_out.shape[0] * 256)
    common = {"batch_size": 16, "resolution": 32, "threshold_mode": "iqr"}
    runs = {
        exact: dissect(planted_generator, "layer1", scene_segmenter, probe, held_out,
                       exact=exact, **common)["layer1"]
        for exact in (True, False)
    }  # fmt: skip
    exhaustive, sampled = runs[True].units, runs[False].units
    assert [u.interpretable for u in sampled] == [u.interpretable for u in exhaustive]
    named = [(a.concept, b.concept) for a, b in zip(sampled, exhaustive, strict=True)
             if b.interpretable]  # fmt: skip
    assert len(named) >= len(PLANTED) and all(a == b for a, b in named)
    same = sum(a.threshold == b.threshold for a, b in zip(sampled, exhaustive, strict=True))
    assert same < len(sampled)  # the search did run on a sample: some units chose other levels
    # (how close the sampled choice comes to the exhaustive best at the default sample of 2^20
    # pixels per unit is measured in benchmarks/sampled_search.py; 256 pixels of 48 images here)
