"""Image quality of sample sets for the artifact application: FSD, FID or SWD.

GAN Dissection (Bau et al., ICLR 2019, section 4.3) scores units by the FID of their
top-activating images. Scoring U units from one set of N samples needs each image described once
and many subsets compared, so a :class:`QualityMeasure` splits the work: ``describe`` turns images
into per-image descriptors (feature vectors for the Fréchet distances, uint8 images for SWD) and
``distance`` compares two descriptor sets. Measures:

* ``fsd``: Fréchet distance (Heusel et al. 2017) of the shipped scene segmenter's pooled encoder
  features (ganlens' offline stand-in for FID; not comparable with FID numbers);
* ``fid``: the same distance on torchmetrics' Inception-v3 2048-d features (local weights only);
* ``swd``: sliced Wasserstein distance, x1e3, mean over Laplacian levels (Karras et al. 2018,
  appendix D); both sets must have the same size. Unlike Karras (and the training monitor's
  SWD), both sets' patches are normalised by the *real* set's per-channel mean and std
  (``normalize="reference"`` of :func:`~ganlens.functional.sliced_wasserstein_distance`):
  Karras' per-set normalisation rescales a set that is noisy throughout to the real set's spread,
  so the top samples of a unit that adds high-frequency noise can score better than k random
  samples and the unit ranks last instead of first. These values are therefore not comparable
  with Karras' SWD or ``quality/swd``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor, nn

from ganlens.applications.loading import segmenter_features
from ganlens.functional.sliced_wasserstein import (
    SWD_NORMALIZATIONS,
    Normalization,
    sliced_wasserstein_distance,
)
from ganlens.images import to_uint8

__all__ = ["QualityMeasure", "frechet_distance", "quality_measure"]

QUALITY_MEASURES = ("fsd", "swd", "fid")  # Fréchet segmenter distance, SWD, FID


class _GivenFeatures(nn.Module):
    """The identity as torchmetrics' "feature extractor": the inputs are the features already."""

    def __init__(self, num_features: int) -> None:
        super().__init__()
        self.num_features = num_features  # read by FrechetInceptionDistance instead of a probe

    def forward(self, features: Tensor) -> Tensor:
        return features


def frechet_distance(real: Tensor, fake: Tensor) -> float:
    """``||mu_r - mu_f||^2 + Tr(S_r + S_f - 2 (S_r S_f)^(1/2))`` of two feature sets, in float64.

    The Fréchet distance of Heusel et al. 2017 (eq. 6 of arXiv:1706.08500) between Gaussians fitted
    to the two sets, computed by torchmetrics' ``FrechetInceptionDistance`` fed the features
    directly: the one implementation ganlens uses, also behind the training monitor's
    ``quality/fid`` and ``quality/fsd``. Covariances are unbiased (divide by N - 1) and the trace
    of the matrix square root is the sum of the square roots of the eigenvalues of ``S_r S_f``.

    Args:
        real: ``[N, F]`` features, N >= 2.
        fake: ``[M, F]`` features, M >= 2.

    Returns:
        The distance (a float >= 0 up to rounding).

    Raises:
        ValueError: On a wrong shape or fewer than two rows.

    Example:
        >>> _ = torch.manual_seed(0)
        >>> a = torch.randn(500, 3)
        >>> round(frechet_distance(a, a), 6), frechet_distance(a, a + 2.0) > 11.9
        (0.0, True)
    """
    if real.ndim != 2 or fake.ndim != 2 or real.shape[1] != fake.shape[1]:
        raise ValueError(
            f"features must be [N, F] and [M, F]; got {list(real.shape)} and {list(fake.shape)}"
        )
    if real.shape[0] < 2 or fake.shape[0] < 2:
        raise ValueError(f"need >= 2 samples per set; got {real.shape[0]} and {fake.shape[0]}")
    from torchmetrics.image.fid import FrechetInceptionDistance

    # a local distance: never synced, also inside a process group (ranks measure other sets)
    metric = FrechetInceptionDistance(_GivenFeatures(real.shape[1]), sync_on_compute=False)
    metric = metric.to(real.device)
    metric.update(real.double(), real=True)
    metric.update(fake.double().to(real.device), real=False)
    return float(metric.compute())


@dataclass
class QualityMeasure:
    """How to describe images and compare two described sets (lower is better).

    Attributes:
        name: ``"fsd"``, ``"fid"`` or ``"swd"``.
        describe: float ``[n, 3, H, W]`` images in [-1, 1] to per-image descriptors ``[n, ...]``.
        distance: ``(real descriptors, fake descriptors)`` to the distance.
        equal_sizes: Whether ``distance`` needs sets of equal size (SWD).

    Example:
        >>> measure = quality_measure("swd")
        >>> images = torch.rand(4, 3, 16, 16) * 2 - 1
        >>> measure.describe(images).dtype, measure.distance(measure.describe(images),
        ...                                                  measure.describe(images)) >= 0
        (torch.uint8, True)
    """

    name: str
    describe: Callable[[Tensor], Tensor]
    distance: Callable[[Tensor, Tensor], float]
    equal_sizes: bool


def _to_uint8(images: Tensor) -> Tensor:
    return to_uint8(images).cpu()  # [n, 3, H, W]


def _feature_describer(network: nn.Module, uint8: bool) -> Callable[[Tensor], Tensor]:
    def describe(images: Tensor) -> Tensor:
        device = next(iter(network.parameters()), torch.zeros(0)).device
        with torch.no_grad():
            batch = images.clamp(-1, 1).to(device)
            inputs = _to_uint8(batch).to(device) if uint8 else batch
            features: Tensor = network(inputs)
            return features.double().cpu()  # [n, F]

    return describe


def _inception(weights: str, device: str | torch.device) -> nn.Module:
    from torchmetrics.image.fid import FrechetInceptionDistance

    metric = FrechetInceptionDistance(
        feature=2048, feature_extractor_weights_path=weights, antialias=False
    )
    network: nn.Module = metric.inception
    return network.to(device).eval()


def quality_measure(
    name: str,
    *,
    device: str | torch.device = "cpu",
    inception_weights: str | None = None,
    seed: int = 0,
    swd_normalize: Normalization = "reference",
) -> QualityMeasure:
    """Build the measure called ``name`` (see the module docstring).

    Args:
        name: ``"fsd"``, ``"swd"`` or ``"fid"``.
        device: Where the feature network runs.
        inception_weights: torch-fidelity's Inception-v3 weights file (``"fid"`` only).
        seed: Seed of SWD's patches and directions.
        swd_normalize: How SWD standardises the patches (``"swd"`` only): ``"reference"`` (both
            sets by the real set's per-channel statistics, the default here) or ``"per_set"``
            (Karras et al. 2018, appendix D, as the training monitor computes it).

    Returns:
        The :class:`QualityMeasure`.

    Raises:
        ValueError: On an unknown name or ``swd_normalize``, or ``"fid"`` without an existing
            weights file.

    Example:
        >>> quality_measure("fsd").equal_sizes, quality_measure("swd").equal_sizes
        (False, True)
        >>> _ = torch.manual_seed(0)
        >>> coarse = torch.rand(4, 3, 4, 4) * 2 - 1
        >>> real = torch.nn.functional.interpolate(coarse, size=16, mode="bilinear")
        >>> noisy = (real + torch.randn(4, 3, 16, 16)).clamp(-1, 1)
        >>> per_set = quality_measure("swd", swd_normalize="per_set")
        >>> reference = quality_measure("swd")
        >>> described = reference.describe(real), reference.describe(noisy)
        >>> reference.distance(*described) > per_set.distance(*described)
        True
    """
    if name not in QUALITY_MEASURES:
        raise ValueError(f"quality must be one of {QUALITY_MEASURES}; got {name!r}")
    if swd_normalize not in SWD_NORMALIZATIONS:
        raise ValueError(
            f"swd_normalize must be one of {SWD_NORMALIZATIONS}; got {swd_normalize!r}"
        )
    if name == "swd":

        def swd(real: Tensor, fake: Tensor) -> float:
            result = sliced_wasserstein_distance(real, fake, seed=seed, normalize=swd_normalize)
            return float(result.mean)

        return QualityMeasure(name, _to_uint8, swd, True)
    if name == "fid":
        if inception_weights is None or not Path(inception_weights).is_file():
            raise ValueError(
                "quality 'fid' needs inception_weights, an existing file; got "
                f"{inception_weights!r}"
            )
        describe = _feature_describer(_inception(inception_weights, device), uint8=True)
        return QualityMeasure(name, describe, frechet_distance, False)
    describe = _feature_describer(segmenter_features(device), uint8=False)
    return QualityMeasure(name, describe, frechet_distance, False)
