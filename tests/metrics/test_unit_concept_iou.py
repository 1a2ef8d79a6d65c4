"""Tests for ganlens.metrics.UnitConceptIoU: functional parity over many batches, merge, search."""

from __future__ import annotations

import pytest
import torch

from ganlens.data import SCENE_VOCABULARY, SceneWorld
from ganlens.functional.dissection import concept_category_index
from ganlens.functional.information_quality import iqr_threshold_search, iqr_top_fractions
from ganlens.functional.unit_concept_iou import (
    _unit_concept_iou_update,
    sort_thresholds,
    unit_concept_counts,
    unit_concept_iou,
)
from ganlens.functional.unit_quantile import unit_quantile
from ganlens.metrics.unit_concept_iou import UnitConceptIoU

CATEGORIES, _ = concept_category_index(SCENE_VOCABULARY)
C = len(SCENE_VOCABULARY)
PLANTED = ("cloud", "water", "road", "door")


@pytest.fixture(scope="module")
def scenes() -> tuple[torch.Tensor, torch.Tensor]:
    """Scene labels [40, 3, 32, 32] and featuremaps [40, 6, 8, 8]: pooled masks plus noise."""
    _, labels = SceneWorld(resolution=32, seed=3).batch(range(40))
    concepts = [SCENE_VOCABULARY.index(n) for n in PLANTED]
    masks = torch.stack([(labels == c).any(dim=1) for c in concepts], dim=1).float()
    pooled = torch.nn.functional.avg_pool2d(masks, 4)  # [40, 4, 8, 8]
    generator = torch.Generator().manual_seed(0)
    noise = torch.randn(40, 2, 8, 8, generator=generator)
    features = torch.cat([pooled + 0.05 * torch.randn(pooled.shape, generator=generator), noise], 1)
    return features, labels


def fill(metric: UnitConceptIoU, features: torch.Tensor, labels: torch.Tensor, step: int) -> None:
    for start in range(0, features.shape[0], step):
        metric.update(features[start : start + step], labels[start : start + step])


@pytest.mark.parametrize("mode", ["unrestricted", "category"])
def test_streaming_equals_functional(scenes: tuple[torch.Tensor, torch.Tensor], mode: str) -> None:
    features, labels = scenes
    thresholds = unit_quantile(features, 0.01, resolution=32)  # [6]
    metric = UnitConceptIoU(SCENE_VOCABULARY, thresholds, iou_mode=mode)
    fill(metric, features, labels, step=3)  # 14 batches
    result = metric.compute()
    expected = unit_concept_iou(features, labels, thresholds, C, CATEGORIES, mode=mode)  # [U, C]
    assert torch.equal(result.iou_table, expected)
    best, concept = expected[:, 1:].max(dim=1)
    assert torch.equal(result.iou, best)
    assert torch.equal(result.concept, torch.where(best > 0, concept + 1, 0))
    assert torch.equal(result.threshold, thresholds)
    names = [SCENE_VOCABULARY.name(int(c)) for c in result.concept[:4]]
    assert names == list(PLANTED)
    assert result.interpretable[:4].all()
    assert result.summary.num_interpretable == int(result.interpretable.sum())


def test_merge_of_two_halves_equals_one_pass(scenes: tuple[torch.Tensor, torch.Tensor]) -> None:
    features, labels = scenes
    fractions = iqr_top_fractions(20)
    thresholds = unit_quantile(features, fractions, resolution=32)  # [6, 20]
    one, first, second = (UnitConceptIoU(SCENE_VOCABULARY, thresholds) for _ in range(3))
    fill(one, features, labels, step=5)
    fill(first, features[:17], labels[:17], step=5)
    fill(second, features[17:], labels[17:], step=4)
    first.merge_state(second)
    for name in ("level_concept", "level", "level_category", "concept", "pixels"):
        assert torch.equal(getattr(first, name), getattr(one, name))
    a, b = first.compute(), one.compute()
    for field in ("concept", "iou", "iqr", "threshold", "level", "interpretable", "iou_table"):
        assert torch.equal(getattr(a, field), getattr(b, field))


def test_iqr_search_and_held_out_levels(scenes: tuple[torch.Tensor, torch.Tensor]) -> None:
    features, labels = scenes
    fractions = iqr_top_fractions()
    thresholds = unit_quantile(features[:20], fractions, resolution=32)  # [6, 100]
    held_out = UnitConceptIoU(SCENE_VOCABULARY, thresholds, top_fractions=fractions, min_iqr=0.01)
    fill(held_out, features[:20], labels[:20], step=10)
    found = held_out.compute()
    sorted_t, order = sort_thresholds(thresholds)
    counts = unit_concept_counts(
        _unit_concept_iou_update(features[:20], labels[:20], sorted_t, C, CATEGORIES), order
    )
    search = iqr_threshold_search(counts, thresholds, fractions)
    assert found.search is not None
    assert torch.equal(found.level, search.level)
    assert torch.equal(found.threshold, search.threshold)
    assert torch.equal(found.search.concept[:4], found.concept[:4])  # planted: IQR and IoU agree
    assert found.interpretable[:4].all()
    # Probe metric: IoU at the held-out levels equals the functional at those thresholds.
    probe = UnitConceptIoU(SCENE_VOCABULARY, thresholds, min_iqr=0.01)
    fill(probe, features[20:], labels[20:], step=7)
    probe.select_levels(found.level)
    result = probe.compute()
    assert result.search is None
    expected = unit_concept_iou(features[20:], labels[20:], found.threshold, C)
    assert torch.equal(result.iou_table, expected)
    assert torch.equal(result.threshold, found.threshold)
    probe.select_levels(None)
    assert probe.compute().search is not None


def test_cutoffs_are_configurable(scenes: tuple[torch.Tensor, torch.Tensor]) -> None:
    features, labels = scenes
    thresholds = unit_quantile(features, 0.05, resolution=32)
    strict = UnitConceptIoU(SCENE_VOCABULARY, thresholds, min_iou=0.99)
    loose = UnitConceptIoU(SCENE_VOCABULARY, thresholds, min_iou=0.0, min_iqr=0.0)
    for metric in (strict, loose):
        fill(metric, features, labels, step=20)
    strict_result, loose_result = strict.compute(), loose.compute()
    assert strict_result.summary.num_interpretable == 0
    assert torch.equal(loose_result.interpretable, (loose_result.iou > 0) & (loose_result.iqr > 0))


def test_state_size_formula_and_errors() -> None:
    metric = UnitConceptIoU(SCENE_VOCABULARY, torch.zeros(7, 4))
    assert metric.state_size_bytes() == 8 * (7 * 5 * (C + 3 + 1) + C + 1)
    with pytest.raises(ValueError, match=r"\[N, U=7, H, W\]; got \[2, 6, 4, 4\]"):
        metric.update(torch.zeros(2, 6, 4, 4), torch.zeros(2, 3, 8, 8, dtype=torch.long))
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 18\)"):
        metric.update(torch.zeros(2, 7, 4, 4), torch.full((2, 3, 8, 8), 18))
    with pytest.raises(ValueError, match="levels must have shape"):
        metric.select_levels(torch.tensor([0, 1, 2, 3, 4, 5, 6]))
    with pytest.raises(ValueError, match="iou_mode"):
        UnitConceptIoU(SCENE_VOCABULARY, torch.zeros(3), iou_mode="images")
    with pytest.raises(ValueError, match=r"top_fractions must have shape \[B=4\]"):
        UnitConceptIoU(SCENE_VOCABULARY, torch.zeros(3, 4), top_fractions=[0.1, 1.0])
    with pytest.raises(ValueError, match="before any update"), pytest.warns(UserWarning):
        UnitConceptIoU(SCENE_VOCABULARY, torch.zeros(3)).compute()


def test_sampled_counts_depend_on_image_ids_not_on_batching_or_processes(
    scenes: tuple[torch.Tensor, torch.Tensor],
) -> None:
    """What a DDP sync relies on: each process's sampled counts of its share sum to the whole."""
    features, labels = scenes
    fractions = iqr_top_fractions(20)
    thresholds = unit_quantile(features, fractions, resolution=32)  # [6, 20]

    def sampled() -> UnitConceptIoU:
        return UnitConceptIoU(SCENE_VOCABULARY, thresholds, top_fractions=fractions,
                              pixels_per_image=256, seed=3)  # fmt: skip

    one, first, second = sampled(), sampled(), sampled()
    fill(one, features, labels, step=7)  # ids 0.. counted on
    ids = torch.arange(40)
    second.update(features[25:], labels[25:], ids[25:])  # another process, its share first
    first.update(features[:25], labels[:25], ids[:25])
    first.merge_state(second)
    for name in ("level_concept", "level", "level_category", "concept", "pixels"):
        assert torch.equal(getattr(first, name), getattr(one, name)), name
    assert int(one.pixels) == 40 * 256
    exact = UnitConceptIoU(SCENE_VOCABULARY, thresholds, top_fractions=fractions)
    fill(exact, features, labels, step=40)
    assert not torch.equal(exact.level_concept, one.level_concept * 4)  # a sample, not a copy
    found, truth = one.compute(), exact.compute()
    names = [SCENE_VOCABULARY.name(int(c)) for c in found.concept[:4]]
    assert names == [SCENE_VOCABULARY.name(int(c)) for c in truth.concept[:4]] == list(PLANTED)
