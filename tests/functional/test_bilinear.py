"""Tests for ganlens.functional.bilinear: the formula, its pointwise forms and the sampling."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from ganlens.functional.bilinear import (
    bilinear_at,
    bilinear_at_maps,
    bilinear_taps,
    bilinear_upsample,
    sample_positions,
)


@pytest.mark.parametrize(
    ("h", "w", "out_h", "out_w"), [(4, 4, 32, 32), (8, 5, 128, 17), (3, 7, 7, 3)]
)
def test_upsample_matches_interpolate_to_rounding(h: int, w: int, out_h: int, out_w: int) -> None:
    features = torch.randn(3, 4, h, w, generator=torch.Generator().manual_seed(h * w))
    got = bilinear_upsample(features, (out_h, out_w))
    expected = F.interpolate(features, size=(out_h, out_w), mode="bilinear", align_corners=False)
    torch.testing.assert_close(got, expected, atol=4 * 2**-24 * features.abs().max().item(), rtol=0)


def test_pointwise_forms_are_bit_identical_to_the_full_upsampling() -> None:
    generator = torch.Generator().manual_seed(1)
    features = torch.randn(3, 5, 6, 4, generator=generator).relu()
    up = bilinear_upsample(features, (19, 13))  # [3, 5, 19, 13]
    y = torch.randint(0, 19, (3, 50), generator=generator)
    x = torch.randint(0, 13, (3, 50), generator=generator)
    shared = bilinear_at(features, y, x, (19, 13))  # [3, 5, 50]
    assert torch.equal(
        shared,
        up[
            torch.arange(3).view(3, 1, 1),
            torch.arange(5).view(1, 5, 1),
            y.unsqueeze(1),
            x.unsqueeze(1),
        ],
    )
    maps = torch.randint(0, 15, (200,), generator=generator)
    ym, xm = (
        torch.randint(0, 19, (200,), generator=generator),
        torch.randint(0, 13, (200,), generator=generator),
    )
    assert torch.equal(
        bilinear_at_maps(features, maps, ym, xm, (19, 13)), up.view(15, 19, 13)[maps, ym, xm]
    )


def test_taps_weights_sum_to_one_and_clamp_at_edges() -> None:
    taps = bilinear_taps(8, 128)
    torch.testing.assert_close(taps.weight_low + taps.weight_high, torch.ones(128))
    assert int(taps.low.min()) == 0 and int(taps.high.max()) == 7
    with pytest.raises(ValueError, match="size_in=0"):
        bilinear_taps(0, 4)


def test_sample_positions_are_stratified_and_uniform() -> None:
    positions = sample_positions(torch.arange(4000), 64, 16)  # [4000, 16]
    assert bool(((positions // 4) == torch.arange(16)).all())  # one per stratum of 4 pixels
    counts = torch.bincount(positions.view(-1), minlength=64).double()  # expected 1000 each
    assert float((counts / 1000 - 1).abs().max()) < 0.12
    uneven = sample_positions(torch.arange(3000), 10, 3, seed=1)  # strata of 3.33
    counts = torch.bincount(uneven.view(-1), minlength=10).double()  # expected 900 each
    assert float((counts / 900 - 1).abs().max()) < 0.15
    with pytest.raises(ValueError, match="samples must lie in"):
        sample_positions(torch.arange(1), 10, 11)
