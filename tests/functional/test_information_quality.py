"""Tests for ganlens.functional.information_quality: the IQR formula and the guarded search."""

from __future__ import annotations

import math

import pytest
import torch

from ganlens.functional.information_quality import (
    information_quality_ratio,
    iqr_threshold_search,
    iqr_top_fractions,
)
from ganlens.functional.unit_concept_iou import UnitConceptCounts


def plain_iqr(n11: int, n10: int, n01: int, n00: int) -> float:
    n = n11 + n10 + n01 + n00
    cells = [n11 / n, n10 / n, n01 / n, n00 / n]
    pa, ps = (n11 + n10) / n, (n11 + n01) / n

    def entropy(ps_: list[float]) -> float:
        return -sum(p * math.log(p) for p in ps_ if p > 0)

    joint = entropy(cells)
    mutual = entropy([pa, 1 - pa]) + entropy([ps, 1 - ps]) - joint
    return mutual / joint if joint > 0 else 0.0


def test_iqr_matches_plain_formula() -> None:
    generator = torch.Generator().manual_seed(0)
    tables = torch.randint(0, 50, (200, 4), generator=generator)
    tables[:10, 1:3] = 0  # perfect agreement
    tables[10:20, 0] = 0  # no intersection
    n11, n10, n01, _ = tables.unbind(1)
    n = tables.sum(1)
    got = information_quality_ratio(n11, n11 + n10, n11 + n01, n)
    expected = torch.tensor([plain_iqr(*row) for row in tables.tolist()], dtype=torch.float64)
    torch.testing.assert_close(got, expected, atol=1e-12, rtol=1e-9)


def test_iqr_limits() -> None:
    # A perfect detector, an independent one, and degenerate tables with H(A, S) = 0.
    perfect = information_quality_ratio(torch.tensor(30), torch.tensor(30), torch.tensor(30), 100)
    independent = information_quality_ratio(
        torch.tensor(25), torch.tensor(50), torch.tensor(50), 100
    )
    empty = information_quality_ratio(torch.tensor(0), torch.tensor(0), torch.tensor(0), 100)
    full = information_quality_ratio(torch.tensor(100), torch.tensor(100), torch.tensor(100), 100)
    assert float(perfect) == pytest.approx(1.0)
    assert float(independent) == pytest.approx(0.0, abs=1e-12)
    assert float(empty) == 0.0 and float(full) == 0.0


def test_top_fractions() -> None:
    fractions = iqr_top_fractions()
    assert fractions.shape == (100,)
    assert float(fractions[0]) == pytest.approx(1e-3) and float(fractions[-1]) == 1.0
    ratios = fractions[1:] / fractions[:-1]
    torch.testing.assert_close(ratios, torch.full_like(ratios, 10 ** (3 / 99)))
    with pytest.raises(ValueError, match="num_levels"):
        iqr_top_fractions(1)


def random_counts(units: int, levels: int, concepts: int, seed: int) -> UnitConceptCounts:
    generator = torch.Generator().manual_seed(seed)
    pixels = 10_000
    concept = torch.randint(0, 3000, (concepts,), generator=generator)
    concept[1] = 5  # covers 0.05 %: skipped
    activation = torch.randint(1, 3000, (units, levels), generator=generator)
    share = torch.rand(units, levels, concepts, generator=generator)
    limit = torch.minimum(activation.unsqueeze(-1), concept.view(1, 1, -1))
    intersection = (share * limit).long()
    return UnitConceptCounts(
        intersection, activation, torch.zeros(units, levels, 0), concept, torch.tensor(pixels)
    )


def plain_search(
    counts: UnitConceptCounts, thresholds: torch.Tensor, fractions: torch.Tensor
) -> list[tuple[int, int, float]]:
    """The IQR threshold search (paper section 3.1) as loops: (level, concept, iqr) per unit."""
    units, levels, concepts = counts.intersection.shape
    n = int(counts.pixels)
    found = []
    for u in range(units):
        best = (-1, -1, -1.0)
        for b in range(levels):
            if float(fractions[b]) >= 1.0 or float(thresholds[u, b]) <= 0:
                continue
            for c in range(1, concepts):
                s, a = int(counts.concept[c]), int(counts.activation[u, b])
                i = int(counts.intersection[u, b, c])
                if s / n < 1e-3 or (i + (n - a - s + i)) / n <= 0.8:
                    continue
                value = plain_iqr(i, a - i, s - i, n - a - s + i)
                if value > best[2]:
                    best = (b, c, value)
        found.append(best)
    return found


def test_search_matches_plain_loops() -> None:
    counts = random_counts(units=6, levels=7, concepts=5, seed=1)
    fractions = iqr_top_fractions(7)
    thresholds = torch.randn(6, 7, generator=torch.Generator().manual_seed(2))
    thresholds[0] = -1.0  # a unit with no positive threshold: no candidate
    found = iqr_threshold_search(counts, thresholds, fractions)
    expected = plain_search(counts, thresholds, fractions)
    for u, (level, concept, value) in enumerate(expected):
        if level < 0:
            assert not bool(found.valid[u])
            assert int(found.level[u]) == 0 and int(found.concept[u]) == 0
            assert float(found.iqr[u]) == 0.0
            continue
        assert bool(found.valid[u])
        assert (int(found.level[u]), int(found.concept[u])) == (level, concept)
        assert float(found.iqr[u]) == pytest.approx(value, rel=1e-9)
        assert float(found.threshold[u]) == pytest.approx(float(thresholds[u, level]))
    assert not bool(found.valid[0])
    assert bool(found.valid[1:].any())


def test_each_guard_removes_an_otherwise_best_candidate() -> None:
    # One unit, two levels (top 1 % and 50 %), concepts 1 and 2, n = 10000 pixels.
    def search(
        concept: list[int], activation: list[int], inter: list[list[int]], t: list[float]
    ) -> tuple[int, int, bool]:
        counts = UnitConceptCounts(
            torch.tensor([inter]),
            torch.tensor([activation]),
            torch.zeros(1, 2, 0),
            torch.tensor([0, *concept]),
            torch.tensor(10_000),
        )
        found = iqr_threshold_search(counts, torch.tensor([t]), torch.tensor([0.01, 0.5]))
        return int(found.level[0]), int(found.concept[0]), bool(found.valid[0])

    # Concept 1 matches perfectly at level 0 (IQR 1); concept 2 partly at level 1 (IQR 0.45).
    inter = [[0, 100, 0], [0, 100, 5000]]
    assert search([100, 5000], [100, 6000], inter, [0.5, 0.1]) == (0, 1, True)
    # Coverage below 0.1 %: concept 1 with 5 pixels is skipped although it matches perfectly.
    rare = [[0, 5, 0], [0, 5, 5000]]
    assert search([5, 5000], [5, 6000], rare, [0.5, 0.1]) == (1, 2, True)
    # Threshold <= 0 at level 0: skipped.
    assert search([100, 5000], [100, 6000], inter, [0.0, 0.1]) == (1, 2, True)
    # Agreement p11 + p00 <= 0.8: concept 2 at level 1 (IQR 0.27 at agreement exactly 0.8) loses
    # to concept 1 at level 0 (IQR 0.19); with agreement 0.81 it wins.
    weak = [[0, 50, 0], [0, 50, 5000]]
    assert search([100, 5000], [100, 7000], weak, [0.5, 0.1]) == (0, 1, True)
    assert search([100, 5000], [100, 6900], weak, [0.5, 0.1]) == (1, 2, True)
    # The 100 % level is skipped; with nothing left, the unit falls back to level 0.
    counts = UnitConceptCounts(
        torch.tensor([[[0, 100]]]),
        torch.tensor([[10_000]]),
        torch.zeros(1, 1, 0),
        torch.tensor([0, 100]),
        torch.tensor(10_000),
    )
    found = iqr_threshold_search(counts, torch.tensor([[0.5]]), torch.tensor([1.0]))
    assert not bool(found.valid[0]) and int(found.concept[0]) == 0


def test_search_rejects_bad_shapes() -> None:
    counts = random_counts(units=2, levels=3, concepts=4, seed=0)
    with pytest.raises(ValueError, match=r"thresholds must have shape \[2, 3\]"):
        iqr_threshold_search(counts, torch.zeros(2, 4), iqr_top_fractions(3))
