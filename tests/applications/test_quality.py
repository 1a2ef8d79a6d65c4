"""Fréchet distance parity with torchmetrics, and the measures' contracts."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torchmetrics.image.fid import FrechetInceptionDistance

from ganlens.applications.quality import frechet_distance, quality_measure
from ganlens.functional import sliced_wasserstein_distance


class Flatten(nn.Module):
    """A deterministic feature extractor: 6 pooled statistics per image."""

    num_features = 6

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        mean = images.mean(dim=(2, 3))
        spread = images.std(dim=(2, 3))
        return torch.cat([mean, spread], dim=1)


def test_frechet_distance_matches_torchmetrics():
    generator = torch.Generator().manual_seed(0)
    real = torch.rand(64, 3, 8, 8, generator=generator) * 2 - 1
    fake = (torch.rand(48, 3, 8, 8, generator=generator) * 1.5 - 0.5).clamp(-1, 1)
    metric = FrechetInceptionDistance(Flatten())
    metric.update(real, real=True)
    metric.update(fake, real=False)
    features = Flatten()
    ours = frechet_distance(features(real), features(fake))
    assert ours == pytest.approx(float(metric.compute()), rel=1e-4)


def centred_frechet_distance(real: torch.Tensor, fake: torch.Tensor) -> float:
    """The hand-written float64 formula ``frechet_distance`` had before torchmetrics computed it."""
    stats = []
    for features in (real, fake):
        x = features.double()
        centred = x - x.mean(dim=0)
        stats.append((x.mean(dim=0), centred.T @ centred / (x.shape[0] - 1)))
    (mu_r, s_r), (mu_f, s_f) = stats
    root_trace = torch.linalg.eigvals(s_r @ s_f).sqrt().real.sum()
    return float((mu_r - mu_f).square().sum() + s_r.trace() + s_f.trace() - 2 * root_trace)


@pytest.mark.parametrize(
    ("n", "m", "width", "shift"),
    [(500, 300, 3, 0.0), (500, 300, 3, 3.0), (256, 64, 208, 0.1), (64, 64, 208, 0.0),
     (1000, 20, 208, 3.0), (2000, 2000, 64, 0.1)],
)  # fmt: skip
def test_frechet_distance_on_torchmetrics_agrees_with_the_centred_formula(n, m, width, shift):
    # Positive, offset features like pooled encoder activations, and sets smaller than the width
    # (singular covariances, as a unit's top-k set in the artifact scores).
    generator = torch.Generator().manual_seed(n + m + width)
    real = torch.randn(n, width, generator=generator).abs() * 2 + 5
    fake = torch.randn(m, width, generator=generator).abs() * 2 + 5 + shift
    assert frechet_distance(real, fake) == pytest.approx(
        centred_frechet_distance(real, fake), rel=1e-6
    )


def test_fsd_of_a_set_with_itself_is_zero_and_grows_with_noise():
    measure = quality_measure("fsd")
    images = torch.rand(32, 3, 32, 32, generator=torch.Generator().manual_seed(1)) * 2 - 1
    described = measure.describe(images)
    assert described.shape == (32, 208)
    assert measure.distance(described, described) == pytest.approx(0.0, abs=1e-6)
    noisy = measure.describe((images + 0.5 * torch.randn_like(images)).clamp(-1, 1))
    assert measure.distance(described, noisy) > 0.01


def test_swd_normalises_by_the_real_set_unless_asked_for_karras():
    generator = torch.Generator().manual_seed(2)
    real = torch.rand(6, 3, 16, 16, generator=generator) * 2 - 1
    fake = (real * 0.5 + 0.3 * torch.randn(6, 3, 16, 16, generator=generator)).clamp(-1, 1)
    default = quality_measure("swd", seed=3)
    karras = quality_measure("swd", seed=3, swd_normalize="per_set")
    described = default.describe(real), default.describe(fake)
    reference = sliced_wasserstein_distance(real, fake, seed=3, normalize="reference").mean
    per_set = sliced_wasserstein_distance(real, fake, seed=3).mean
    assert default.distance(*described) == pytest.approx(float(reference), rel=1e-6)
    assert karras.distance(*described) == pytest.approx(float(per_set), rel=1e-6)
    assert float(reference) != pytest.approx(float(per_set), rel=0.05)


def test_measure_errors_name_the_argument(tmp_path):
    with pytest.raises(ValueError, match="quality must be one of"):
        quality_measure("kid")
    with pytest.raises(ValueError, match="inception_weights, an existing file"):
        quality_measure("fid", inception_weights=str(tmp_path / "missing.pth"))
    with pytest.raises(ValueError, match="swd_normalize must be one of"):
        quality_measure("swd", swd_normalize="karras")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"need >= 2 samples"):
        frechet_distance(torch.zeros(1, 3), torch.zeros(4, 3))
