"""Tests for ganlens.functional.top_activations: brute force, batching invariance, ties."""

from __future__ import annotations

import pytest
import torch

from ganlens.functional.top_activations import (
    _top_activations_update,
    empty_top_table,
    merge_top_tables,
    top_activations,
)


def brute_force(scores: torch.Tensor, k: int) -> tuple[list[list[float]], list[list[int]]]:
    """Per unit, sort (score, index) pairs plainly: score descending, index ascending."""
    values, indices = [], []
    for u in range(scores.shape[1]):
        pairs = sorted(((-float(s), i) for i, s in enumerate(scores[:, u].tolist())))[:k]
        values.append([-s for s, _ in pairs])
        indices.append([i for _, i in pairs])
    return values, indices


@pytest.mark.parametrize("reduction", ["max", "mean"])
def test_matches_brute_force(reduction: str) -> None:
    features = torch.randn(30, 5, 3, 3, generator=torch.Generator().manual_seed(0))
    features[7] = features[3]  # exact ties: the smaller index comes first
    scores = features.flatten(2).amax(2) if reduction == "max" else features.flatten(2).mean(2)
    values, indices = top_activations(features, k=6, reduction=reduction)
    expected_values, expected_indices = brute_force(scores.double(), 6)
    assert indices.tolist() == expected_indices
    torch.testing.assert_close(values, torch.tensor(expected_values, dtype=torch.float64))


def test_independent_of_batching_and_order() -> None:
    generator = torch.Generator().manual_seed(1)
    features = torch.randn(40, 3, 2, 2, generator=generator).round()  # many ties
    indices = torch.arange(100, 140)
    one = _top_activations_update(empty_top_table(5, 3), features, indices)
    permutation = torch.randperm(40, generator=generator)
    table = empty_top_table(5, 3)
    for chunk in permutation.split(7):
        table = _top_activations_update(table, features[chunk], indices[chunk])
    assert torch.equal(one, table)
    halves = [
        _top_activations_update(empty_top_table(5, 3), features[part], indices[part])
        for part in (permutation[:13], permutation[13:])
    ]
    assert torch.equal(merge_top_tables(torch.stack(halves)), one)


def test_empty_slots_when_fewer_samples_than_k() -> None:
    values, indices = top_activations(
        torch.ones(2, 1, 1, 1), k=4, sample_indices=torch.tensor([5, 9])
    )
    assert indices.tolist() == [[5, 9, -1, -1]]
    assert values[0, 2:].tolist() == [float("-inf")] * 2


def test_bad_inputs_raise() -> None:
    with pytest.raises(ValueError, match=r"sample_indices must have shape \[N=3\]"):
        top_activations(torch.ones(3, 2, 1, 1), k=2, sample_indices=torch.arange(4))
    with pytest.raises(ValueError, match="k must be"):
        top_activations(torch.ones(3, 2, 1, 1), k=0)
    with pytest.raises(ValueError, match="reduction"):
        top_activations(torch.ones(3, 2, 1, 1), k=1, reduction="median")
