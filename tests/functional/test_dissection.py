"""Tests for ganlens.functional.dissection: upsampling geometry, categories, layer summary."""

from __future__ import annotations

import pytest
import torch

from ganlens.data import SCENE_VOCABULARY
from ganlens.data.vocabulary import Vocabulary
from ganlens.functional.bilinear import bilinear_at
from ganlens.functional.dissection import (
    MATMUL_UPSAMPLING_MAX,
    check_featuremaps,
    check_segmentation,
    concept_category_index,
    layer_summary,
    upsample_featuremaps,
    upsampled_at,
)


def bilinear_reference(values: torch.Tensor, out_h: int, out_w: int) -> torch.Tensor:
    """align_corners=False written out: output centre i maps to (i + 0.5) * h / S - 0.5."""
    h, w = values.shape

    def weights(out: int, size: int) -> list[tuple[int, int, float]]:
        rows = []
        for i in range(out):
            x = max((i + 0.5) * size / out - 0.5, 0.0)
            low = min(int(x), size - 1)
            high = min(low + 1, size - 1)
            rows.append((low, high, x - low))
        return rows

    out = torch.zeros(out_h, out_w, dtype=torch.float64)
    for i, (r0, r1, fr) in enumerate(weights(out_h, h)):
        for j, (c0, c1, fc) in enumerate(weights(out_w, w)):
            top = (1 - fc) * values[r0, c0] + fc * values[r0, c1]
            bottom = (1 - fc) * values[r1, c0] + fc * values[r1, c1]
            out[i, j] = (1 - fr) * top + fr * bottom
    return out


@pytest.mark.parametrize(
    ("h", "w", "out_h", "out_w"), [(3, 3, 12, 12), (4, 2, 7, 5), (8, 8, 32, 32)]
)
def test_upsampling_is_centre_aligned_bilinear(h: int, w: int, out_h: int, out_w: int) -> None:
    values = torch.randn(h, w, generator=torch.Generator().manual_seed(h * w), dtype=torch.float64)
    got = upsample_featuremaps(values.float().view(1, 1, h, w), (out_h, out_w))[0, 0]
    torch.testing.assert_close(
        got.double(), bilinear_reference(values, out_h, out_w), atol=1e-5, rtol=0
    )


def test_upsampling_does_not_shift_masks() -> None:
    # A symmetric featuremap stays symmetric: the original code's shift would break this.
    r = torch.zeros(1, 1, 8, 8)
    r[..., 3:5, 3:5] = 1.0
    up = upsample_featuremaps(r, 128)[0, 0]
    torch.testing.assert_close(up, up.flip(0))
    torch.testing.assert_close(up, up.flip(1))
    assert upsample_featuremaps(r, 8).dtype == torch.float32


def test_concept_categories_of_scene_vocabulary() -> None:
    numbers, names = concept_category_index(SCENE_VOCABULARY)
    assert names == ("object", "part", "material")
    assert numbers[0] == -1
    for index in range(1, len(SCENE_VOCABULARY)):
        assert names[int(numbers[index])] == SCENE_VOCABULARY.category(index)


def test_layer_summary_counts() -> None:
    vocab = Vocabulary([("a", "object"), ("b", "part"), ("c", "object"), ("d", "material")])
    concept = torch.tensor([1, 3, 3, 2, 3, 4, 0, 1])
    interpretable = torch.tensor([True, True, True, True, True, False, False, False])
    summary = layer_summary(concept, interpretable, vocab)
    assert summary.num_units == 8 and summary.num_interpretable == 5
    assert summary.num_concepts == 3
    assert summary.category_counts == {"object": 4, "part": 1, "material": 0}
    assert list(summary.units_per_concept.items()) == [("c", 3), ("a", 1), ("b", 1)]
    with pytest.raises(ValueError, match=r"\[U\]"):
        layer_summary(concept, interpretable[:3], vocab)


def test_checks_name_expected_and_actual() -> None:
    with pytest.raises(ValueError, match=r"\[N, U=4, H, W\]; got \[2, 3, 5, 5\]"):
        check_featuremaps(torch.zeros(2, 3, 5, 5), num_units=4)
    with pytest.raises(ValueError, match="floating"):
        check_featuremaps(torch.zeros(2, 3, 5, 5, dtype=torch.long))
    with pytest.raises(ValueError, match=r"\[N=3, K, S, S\]; got \[2, 1, 4, 4\]"):
        check_segmentation(torch.zeros(2, 1, 4, 4, dtype=torch.long), 5, batch_size=3)
    with pytest.raises(ValueError, match=r"got values in \[-1, 0\]"):
        check_segmentation(-torch.eye(2, dtype=torch.long).view(1, 1, 2, 2), 5)


@pytest.mark.parametrize("side", [4, 32, 48])  # matrix products up to 32 px, pixelwise above
def test_upsampled_values_at_chosen_pixels_agree_with_the_formula(side: int) -> None:
    features = torch.randn(2, 3, side, side, generator=torch.Generator().manual_seed(side))
    size = (64, 64)
    positions = torch.randint(0, 64 * 64, (2, 50), generator=torch.Generator().manual_seed(1))
    exact = bilinear_at(features, positions // 64, positions % 64, size)  # [2, 3, 50]
    got = upsampled_at(features, positions, size)
    torch.testing.assert_close(got, exact, atol=1e-6, rtol=1e-6)
    if side > MATMUL_UPSAMPLING_MAX:  # evaluated at the pixels, by the formula itself
        assert torch.equal(got, exact)
    else:  # picked from the whole upsampled map
        whole = upsample_featuremaps(features, 64).flatten(2)
        assert torch.equal(got, whole.gather(2, positions.unsqueeze(1).expand(-1, 3, -1)))
