"""Tests for ganlens.functional.unit_concept_iou against a brute-force reference written plainly.

The reference loops over units, levels and concepts and builds every mask with ``==`` and ``|``
(no histograms, no suffix sums, no sorting), so it shares no logic with the implementation.
"""

from __future__ import annotations

import importlib

import pytest
import torch
import torch.nn.functional as F

from ganlens.functional.bilinear import bilinear_upsample
from ganlens.functional.dissection import upsample_featuremaps
from ganlens.functional.unit_concept_iou import (
    _unit_concept_iou_update,
    sort_thresholds,
    unit_concept_counts,
    unit_concept_iou,
)
from ganlens.functional.unit_concept_kernels import _above_by_products, _active_pixels

NUM_CONCEPTS = 9
CATEGORIES = torch.tensor([-1, 0, 0, 0, 1, 1, 2, 2, 2])  # label -> category (0 has none)


def random_case(n: int, units: int, levels: int, seed: int) -> tuple[torch.Tensor, ...]:
    """Featuremaps [n, U, 4, 4], segmentation [n, 3, 12, 12] and thresholds [U, B] (unsorted)."""
    generator = torch.Generator().manual_seed(seed)
    features = torch.randn(n, units, 4, 4, generator=generator)
    # Layer 0: labels 1-3 everywhere; layer 1: labels 4-5 or none; layer 2: 6-8 or none, and
    # sometimes a copy of layer 0 (a repeated label must count once).
    layer0 = torch.randint(1, 4, (n, 12, 12), generator=generator)
    layer1 = torch.randint(3, 6, (n, 12, 12), generator=generator)
    layer1[layer1 == 3] = 0
    layer2 = torch.randint(5, 9, (n, 12, 12), generator=generator)
    layer2[layer2 == 5] = 0
    copy = torch.rand(n, 12, 12, generator=generator) < 0.2
    layer2[copy] = layer0[copy]
    layer1[: n // 3] = 0  # some images hold no category-1 concept
    segmentation = torch.stack([layer0, layer1, layer2], dim=1)
    thresholds = torch.randn(units, levels, generator=generator) * 0.8
    return features, segmentation, thresholds


def reference(
    features: torch.Tensor, segmentation: torch.Tensor, thresholds: torch.Tensor, mode: str
) -> tuple[torch.Tensor, torch.Tensor]:
    """Plain loops: intersection [U, B, C] and IoU [U, B, C] in float64."""
    up = F.interpolate(features, size=segmentation.shape[-2:], mode="bilinear", align_corners=False)
    units, levels = thresholds.shape
    intersection = torch.zeros(units, levels, NUM_CONCEPTS, dtype=torch.long)
    iou = torch.zeros(units, levels, NUM_CONCEPTS, dtype=torch.float64)
    for c in range(1, NUM_CONCEPTS):
        concept_mask = (segmentation == c).any(dim=1)  # [n, S, S]
        same_category = CATEGORIES.eq(CATEGORIES[c])
        has_category = torch.zeros(segmentation.shape[0], dtype=torch.bool)
        for label in torch.nonzero(same_category).flatten().tolist():
            has_category |= (segmentation == label).flatten(1).any(dim=1)
        for u in range(units):
            for b in range(levels):
                active = up[:, u] > thresholds[u, b]  # [n, S, S]
                if mode == "category":
                    active = active & has_category.view(-1, 1, 1)
                inter = int((active & concept_mask).sum())
                union = int((active | concept_mask).sum())
                intersection[u, b, c] = inter
                iou[u, b, c] = inter / union if union else 0.0
    return intersection, iou


@pytest.mark.parametrize("mode", ["unrestricted", "category"])
@pytest.mark.parametrize("levels", [1, 5])
def test_iou_equals_brute_force(mode: str, levels: int) -> None:
    features, segmentation, thresholds = random_case(n=7, units=3, levels=levels, seed=levels)
    expected_intersection, expected = reference(features, segmentation, thresholds, mode)
    iou = unit_concept_iou(
        features, segmentation, thresholds, NUM_CONCEPTS, CATEGORIES, mode=mode
    )  # [U, B, C]
    assert iou.shape == (3, levels, NUM_CONCEPTS)
    torch.testing.assert_close(iou.double(), expected, atol=1e-6, rtol=0)
    sorted_t, order = sort_thresholds(thresholds)
    histograms = _unit_concept_iou_update(
        features, segmentation, sorted_t, NUM_CONCEPTS, CATEGORIES
    )
    counts = unit_concept_counts(histograms, order)
    assert torch.equal(counts.intersection, expected_intersection)
    up = F.interpolate(features, size=12, mode="bilinear", align_corners=False)
    active = (up.unsqueeze(2) > thresholds.view(1, 3, levels, 1, 1)).sum(dim=(0, 3, 4))  # [U, B]
    assert torch.equal(counts.activation, active)
    assert int(counts.pixels) == 7 * 12 * 12


def test_one_threshold_per_unit_gives_unit_by_concept_table() -> None:
    features, segmentation, thresholds = random_case(n=4, units=3, levels=1, seed=9)
    table = unit_concept_iou(features, segmentation, thresholds[:, 0], NUM_CONCEPTS)  # [U, C]
    _, expected = reference(features, segmentation, thresholds, "unrestricted")
    assert table.shape == (3, NUM_CONCEPTS)
    torch.testing.assert_close(table.double(), expected[:, 0], atol=1e-6, rtol=0)
    assert bool((table[:, 0] == 0).all())


def test_histograms_add_over_batches_and_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    features, segmentation, thresholds = random_case(n=9, units=3, levels=4, seed=2)
    sorted_t, _ = sort_thresholds(thresholds)
    whole = _unit_concept_iou_update(features, segmentation, sorted_t, NUM_CONCEPTS, CATEGORIES)
    parts = [
        _unit_concept_iou_update(f, s, sorted_t, NUM_CONCEPTS, CATEGORIES)
        for f, s in zip(features.split(4), segmentation.split(4), strict=True)
    ]
    # the package exports a function of the same name, so fetch the module itself
    module = importlib.import_module("ganlens.functional.unit_concept_iou")
    monkeypatch.setattr(module, "_CHUNK_ELEMENTS", 100)  # one image per chunk
    chunked = _unit_concept_iou_update(features, segmentation, sorted_t, NUM_CONCEPTS, CATEGORIES)
    for index, state in enumerate(whole):
        assert torch.equal(state, sum(part[index] for part in parts))
        assert torch.equal(state, chunked[index])


def test_repeated_label_in_one_pixel_counts_once() -> None:
    segmentation = torch.tensor([[[[2, 0]], [[2, 2]]]])  # [1, K=2, 1, 2]
    features = torch.ones(1, 1, 1, 2)
    sorted_t, order = sort_thresholds(torch.tensor([0.5]))
    histograms = _unit_concept_iou_update(features, segmentation, sorted_t, 3)
    counts = unit_concept_counts(histograms, order)
    assert counts.concept.tolist() == [0, 0, 2]
    assert counts.intersection[0, 0].tolist() == [0, 0, 2]


def test_ties_with_the_threshold_are_not_active() -> None:
    features = torch.tensor([[[[0.5, 0.6]]]])  # [1, 1, 1, 2]
    segmentation = torch.tensor([[[[1, 1]]]])
    iou = unit_concept_iou(features, segmentation, torch.tensor([[0.5, 0.5, 0.4]]), 2)
    assert iou[0, :, 1].tolist() == [0.5, 0.5, 1.0]


def test_bad_inputs_raise() -> None:
    features, segmentation, thresholds = random_case(n=2, units=3, levels=2, seed=0)
    with pytest.raises(ValueError, match=r"thresholds must have shape \[3\] or \[3, B\]"):
        unit_concept_iou(features, segmentation, torch.zeros(4), NUM_CONCEPTS)
    with pytest.raises(ValueError, match=r"segmentation must have shape \[N=2, K, S, S\]"):
        unit_concept_iou(features, segmentation[:1], thresholds, NUM_CONCEPTS)
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 5\)"):
        unit_concept_iou(features, segmentation, thresholds, 5)
    with pytest.raises(ValueError, match="integer"):
        unit_concept_iou(features, segmentation.float(), thresholds, NUM_CONCEPTS)
    with pytest.raises(ValueError, match="mode"):
        unit_concept_iou(features, segmentation, thresholds, NUM_CONCEPTS, mode="other")
    with pytest.raises(ValueError, match="concept_categories"):
        unit_concept_iou(features, segmentation, thresholds, NUM_CONCEPTS, mode="category")


@pytest.mark.parametrize("kind", ["gaussian", "rectified", "tied"])
def test_one_threshold_counts_equal_every_pixel_brute_force(kind: str) -> None:
    # The single-threshold path upsamples only blocks whose 4 neighbours can exceed t; compare
    # with every pixel of the same bilinear formula, including thresholds equal to pixel values,
    # below every pixel and above every pixel.
    generator = torch.Generator().manual_seed(5)
    features = torch.randn(6, 5, 4, 6, generator=generator)
    if kind != "gaussian":
        features = features.relu()
    size = (16, 21)
    up = bilinear_upsample(features, size)  # [6, 5, 16, 21]
    flat = up.transpose(0, 1).reshape(5, -1)  # [U, n * P]
    # "tied": a value some pixels take exactly
    thresholds = flat[:, 17].clone() if kind == "tied" else flat.quantile(0.97, dim=1)
    thresholds[3], thresholds[4] = flat[3].min() - 1.0, flat[4].max()
    segmentation = torch.randint(0, NUM_CONCEPTS, (6, 2, *size), generator=generator)
    sorted_t, order = sort_thresholds(thresholds)
    counts = unit_concept_counts(
        _unit_concept_iou_update(features, segmentation, sorted_t, NUM_CONCEPTS, CATEGORIES), order
    )
    active = up > thresholds.view(1, 5, 1, 1)  # [n, U, S, S]
    assert torch.equal(counts.activation[:, 0], active.sum(dim=(0, 2, 3)))
    for c in range(1, NUM_CONCEPTS):
        mask = (segmentation == c).any(dim=1).unsqueeze(1)  # [n, 1, S, S]
        assert torch.equal(counts.intersection[:, 0, c], (active & mask).sum(dim=(0, 2, 3)))
    assert int(counts.activation[4, 0]) == 0 and int(counts.activation[3, 0]) == 6 * 16 * 21


@pytest.mark.parametrize("levels", [1, 4])
def test_featuremaps_already_at_the_segmentation_size(levels: int) -> None:
    features, segmentation, thresholds = random_case(n=5, units=3, levels=levels, seed=12)
    features = F.interpolate(features, size=12, mode="bilinear", align_corners=False)  # no resize
    expected_intersection, expected = reference(features, segmentation, thresholds, "unrestricted")
    sorted_t, order = sort_thresholds(thresholds)
    histograms = _unit_concept_iou_update(features, segmentation, sorted_t, NUM_CONCEPTS)
    assert torch.equal(unit_concept_counts(histograms, order).intersection, expected_intersection)
    iou = unit_concept_iou(features, segmentation, thresholds, NUM_CONCEPTS)  # [U, B, C]
    torch.testing.assert_close(iou.double(), expected, atol=1e-6, rtol=0)


@pytest.mark.parametrize("levels", [1, 5])
def test_sampled_counts_are_the_exact_counts_of_the_sampled_pixels(levels: int) -> None:
    from ganlens.functional.bilinear import sample_positions

    features, segmentation, thresholds = random_case(n=7, units=3, levels=levels, seed=3)
    sorted_t, _ = sort_thresholds(thresholds)
    ids = torch.arange(10, 17)
    sampled = _unit_concept_iou_update(features, segmentation, sorted_t, NUM_CONCEPTS, CATEGORIES,
                                       pixels_per_image=40, image_ids=ids, seed=5)  # fmt: skip
    where = sample_positions(ids, 12 * 12, 40, seed=5)  # [n, m]
    up = bilinear_upsample(features, (12, 12)).flatten(2)  # [n, U, P]
    up = up.gather(2, where.unsqueeze(1).expand(-1, 3, -1))  # [n, U, m]
    labels = segmentation.flatten(2).gather(2, where.unsqueeze(1).expand(-1, 3, -1))  # [n, K, m]
    # the same pixels as images of 1 x m, already at the segmentation size: counted exhaustively
    expected = _unit_concept_iou_update(
        up.unsqueeze(2), labels.unsqueeze(2), sorted_t, NUM_CONCEPTS, CATEGORIES
    )
    for got, want in zip(sampled, expected, strict=True):
        assert torch.equal(got, want)
    assert int(sampled.pixels) == 7 * 40
    every = _unit_concept_iou_update(features, segmentation, sorted_t, NUM_CONCEPTS, CATEGORIES,
                                     pixels_per_image=144, image_ids=ids)  # fmt: skip
    exhaustive = _unit_concept_iou_update(
        features, segmentation, sorted_t, NUM_CONCEPTS, CATEGORIES
    )
    assert all(torch.equal(a, b) for a, b in zip(every, exhaustive, strict=True))
    with pytest.raises(ValueError, match="pixels_per_image needs image_ids"):
        _unit_concept_iou_update(features, segmentation, sorted_t, NUM_CONCEPTS,
                                 pixels_per_image=40)  # fmt: skip


def test_whole_map_products_find_the_pixels_of_the_formula_also_within_rounding() -> None:
    # A bug once lost pixels whose product value lay within one rounding of threshold + margin
    # (two tests on two differently rounded sums); it showed 2 pixels in 33.5 M, so this case
    # is as large as the one that found it.
    features = torch.randn(64, 128, 4, 4, generator=torch.Generator().manual_seed(0)).relu()
    exact = bilinear_upsample(features, (64, 64)).view(64, 128, -1)  # [n, U, P]
    products = upsample_featuremaps(features, 64)  # thresholds that products values hit
    thresholds = products.transpose(0, 1).reshape(128, -1).quantile(0.8, dim=1)  # [U]
    truth = (exact > thresholds.view(1, 128, 1)).view(-1).nonzero().view(-1)
    found = _above_by_products(features, thresholds, (64, 64))
    assert torch.equal(found.sort().values, truth)
    assert torch.equal(_active_pixels(features, thresholds, (64, 64)).sort().values, truth)
