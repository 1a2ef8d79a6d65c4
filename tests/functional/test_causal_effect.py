"""Causal-effect math against brute-force loops."""

from __future__ import annotations

import pytest
import torch

from ganlens.ace.planted import PlantedConceptSegmenter
from ganlens.functional.causal_effect import (
    average_causal_effect,
    cell_windows,
    concept_presence,
    insertion_constant,
    pool_to_grid,
)


def test_average_causal_effect_matches_a_loop_over_images() -> None:
    generator = torch.Generator().manual_seed(0)
    inserted = torch.rand(2, 6, 3, 4, generator=generator)
    ablated = torch.rand(2, 6, 3, 4, generator=generator)
    mask = torch.rand(6, 3, 4, generator=generator) * (
        torch.rand(6, 3, 4, generator=generator) > 0.5
    )
    mask[2] = 0  # an image without any cell of P is skipped
    result = average_causal_effect(inserted, ablated, mask)
    means = {"inserted": [], "ablated": []}
    for n in range(6):
        if mask[n].sum() == 0:
            continue
        for key, maps in (("inserted", inserted), ("ablated", ablated)):
            means[key].append([(maps[v, n] * mask[n]).sum() / mask[n].sum() for v in range(2)])
    expected = {key: torch.tensor(values).mean(dim=0) for key, values in means.items()}
    torch.testing.assert_close(result["inserted"], expected["inserted"])
    torch.testing.assert_close(result["ablated"], expected["ablated"])
    torch.testing.assert_close(result["ace"], expected["inserted"] - expected["ablated"])


def test_whole_map_is_the_plain_mean_and_shape_errors_are_clear() -> None:
    inserted, ablated = torch.rand(1, 3, 2, 2), torch.rand(1, 3, 2, 2)
    result = average_causal_effect(inserted, ablated)
    torch.testing.assert_close(result["ace"], (inserted - ablated).mean().view(1))
    with pytest.raises(ValueError, match=r"mask must be \[N, h, w\]"):
        average_causal_effect(inserted, ablated, torch.ones(3, 3, 3))
    with pytest.raises(ValueError, match="inserted and ablated"):
        average_causal_effect(inserted, ablated[:, :2])


def test_pool_to_grid_averages_each_cells_pixels() -> None:
    maps = torch.rand(2, 8, 12)
    pooled = pool_to_grid(maps, (2, 3))
    torch.testing.assert_close(pooled, maps.view(2, 2, 4, 3, 4).mean(dim=(2, 4)))


def test_cell_windows_clip_at_the_border_and_reject_bad_cells() -> None:
    windows = cell_windows(torch.tensor([[0, 0], [2, 3]]), (4, 5), radius=1)
    assert windows.shape == (2, 4, 5)
    assert windows[0].sum() == 4 and windows[1].sum() == 9
    assert windows[1, 1:4, 2:5].all()
    with pytest.raises(ValueError, match="inside the 4x5 grid"):
        cell_windows(torch.tensor([[4, 0]]), (4, 5))
    with pytest.raises(ValueError, match="radius"):
        cell_windows(torch.tensor([[0, 0]]), (4, 5), radius=-1)


def test_insertion_constant_is_the_coverage_weighted_mean() -> None:
    generator = torch.Generator().manual_seed(1)
    features = torch.randn(5, 3, 4, 4, generator=generator)
    coverage = torch.rand(5, 4, 4, generator=generator)
    expected = torch.stack([(features[:, u] * coverage).sum() / coverage.sum() for u in range(3)])
    torch.testing.assert_close(insertion_constant(features, coverage), expected)


def test_concept_presence_hard_and_soft_on_a_known_image() -> None:
    images = -torch.ones(1, 3, 4, 4)
    images[0, 0, :2, :] = 0.5  # probability 0.75 in the top half
    presence = concept_presence(PlantedConceptSegmenter(), images, "tree", (2, 2))
    torch.testing.assert_close(presence[0, 0], torch.tensor([[1.0, 1.0], [0.0, 0.0]]))
    torch.testing.assert_close(presence[1, 0], torch.tensor([[0.75, 0.75], [0.0, 0.0]]))
    with pytest.raises(ValueError, match="not in the segmenter's vocabulary: tree"):
        concept_presence(PlantedConceptSegmenter(), images, "door", (2, 2))
    with pytest.raises(ValueError, match="variants"):
        concept_presence(PlantedConceptSegmenter(), images, "tree", (2, 2), variants=("fuzzy",))
