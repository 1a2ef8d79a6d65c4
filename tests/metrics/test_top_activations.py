"""Tests for ganlens.metrics.TopActivations: functional parity and merge."""

from __future__ import annotations

import pytest
import torch

from ganlens.functional.top_activations import top_activations
from ganlens.metrics.top_activations import TopActivations


def test_streaming_and_merge_equal_functional() -> None:
    generator = torch.Generator().manual_seed(0)
    features = torch.randn(50, 4, 3, 3, generator=generator).round(decimals=1)  # ties
    one, first, second = (TopActivations(num_units=4, k=7) for _ in range(3))
    for start in range(0, 50, 6):
        chunk, indices = features[start : start + 6], torch.arange(start, min(start + 6, 50))
        one.update(chunk, indices)
        (first if start % 12 else second).update(chunk, indices)
    expected_scores, expected_indices = top_activations(features, k=7)
    scores, indices = one.compute()
    assert torch.equal(indices, expected_indices) and torch.equal(scores, expected_scores)
    first.merge_state(second)
    assert first.table.shape == (7, 4, 2)
    merged_scores, merged_indices = first.compute()
    assert torch.equal(merged_indices, expected_indices)
    assert torch.equal(merged_scores, expected_scores)


def test_one_unit_and_k_one_keep_their_shape() -> None:
    metric = TopActivations(num_units=1, k=1)
    metric.update(torch.ones(2, 1, 2, 2), torch.tensor([3, 4]))
    result = metric.compute()
    assert result.indices.shape == (1, 1) and result.indices.tolist() == [[3]]


def test_state_size_and_errors() -> None:
    assert TopActivations(num_units=512, k=10).state_size_bytes() == 512 * 10 * 16
    with pytest.raises(ValueError, match="num_units and k"):
        TopActivations(num_units=3, k=0)
    with pytest.raises(ValueError, match="reduction"):
        TopActivations(num_units=3, reduction="sum")
