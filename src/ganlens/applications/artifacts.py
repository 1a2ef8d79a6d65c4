"""Artifact units: score each unit by the image quality of its top-activating samples.

GAN Dissection (Bau et al., ICLR 2019, arXiv:1811.10597, section 4.3, Fig. 9-10) finds units that
cause visual artifacts by the FID of the images that most activate each unit, against real images:
a unit whose top images look least real is an artifact candidate. :func:`artifact_scores`
generates N samples once, ranks them per unit with :class:`~ganlens.metrics.TopActivations`
(a sample's score is its featuremap's maximum), describes every image once
(:mod:`ganlens.applications.quality`) and scores each unit's top k. Two references come with the
scores: the same measure for k samples chosen at random (a typical unit) and for k real images
that were not in the real set (the measure's floor at that k).

Cheaper than the paper: k top samples out of N (the paper used 10,000 per unit), and FSD in place
of FID offline. Fréchet distances from few samples are biased upwards (more so for k below the
feature count), so scores are comparable between units at equal k, not with FIDs.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from ganlens.applications.quality import QualityMeasure
from ganlens.hooks import Intervention, intervene, module_device, trace
from ganlens.metrics.distributed import process_share, rank_and_world, summed_over_processes
from ganlens.metrics.top_activations import TopActivations

__all__ = ["ArtifactScores", "artifact_scores", "generate", "progress_bar"]


def progress_bar(items: Sequence[Any], description: str, enabled: bool) -> Iterable[Any]:
    """``items``, wrapped in a tqdm bar when enabled (tqdm is imported only then).

    Args:
        items: What to iterate.
        description: The bar's label.
        enabled: Whether to show the bar.

    Returns:
        An iterable over ``items``.

    Example:
        >>> list(progress_bar([1, 2], "x", False))
        [1, 2]
    """
    if not enabled:
        return items
    bar: Iterable[Any] = importlib.import_module("tqdm.auto").tqdm(
        items, desc=description, leave=False
    )
    return bar


def generate(
    generator: nn.Module,
    latents: Tensor,
    layer: str | None = None,
    *,
    ablate: Sequence[int] = (),
    batch_size: int = 64,
    description: str = "generate",
    progress: bool = False,
) -> Iterator[tuple[int, Tensor, Tensor | None]]:
    """Yield ``(start, images [n, 3, H, W] clamped to [-1, 1], featuremaps [n, U, h, w])``.

    Args:
        generator: Maps latents to images.
        latents: ``[N, ...]``.
        layer: Layer traced (and edited); None traces nothing (featuremaps None).
        ablate: Units of ``layer`` set to 0 everywhere while generating.
        batch_size: Samples per forward pass.
        description: Progress bar label.
        progress: Show a progress bar.

    Returns:
        An iterator of ``(start index, images, featuremaps or None)`` per batch.

    Example:
        >>> from ganlens.applications.planted import PlantedArtifactGenerator
        >>> g = PlantedArtifactGenerator()
        >>> z = torch.zeros(3, g.latent_size)
        >>> [(s, f.shape[1]) for s, _, f in generate(g, z, "layer1", batch_size=2)]
        [(0, 4), (2, 4)]
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1; got {batch_size}")
    if ablate and layer is None:
        raise ValueError("ablate needs a layer")
    edits = [Intervention(layer, units=list(ablate))] if ablate and layer is not None else []
    device = module_device(generator)
    for start in progress_bar(range(0, latents.shape[0], batch_size), description, progress):
        z = latents[start : start + batch_size].to(device)
        features: Tensor | None = None
        with torch.no_grad(), intervene(generator, *edits):
            if layer is None:
                images = generator(z).clamp(-1.0, 1.0)
            else:
                with trace(generator, layer) as traced:
                    images = generator(z).clamp(-1.0, 1.0)
                features = traced[layer]
        yield start, images, features  # outside the blocks: no hooks or no_grad leak to callers


def _in_place(mine: Tensor, share: range, count: int) -> Tensor:
    """Every process's rows: this one's ``[len(share), ...]`` put at their place among ``count``.

    Summed over the processes, each adding zeros elsewhere, so the sum is exact.

    Example:
        >>> _in_place(torch.ones(2, 3), range(0, 2), 2).shape  # alone: its rows
        torch.Size([2, 3])
    """
    if len(share) == count:
        return mine
    whole = torch.zeros(count, *mine.shape[1:], dtype=mine.dtype, device=mine.device)
    whole[share.start : share.stop] = mine
    return summed_over_processes(whole)


@dataclass(frozen=True)
class ArtifactScores:
    """Per-unit artifact scores (higher = the unit's top samples look less real).

    Attributes:
        layer: The layer.
        metric: The quality measure's name.
        scores: float64 ``[U]`` quality of each unit's top-k samples against the real images.
        ranking: Units, worst (highest score) first.
        top_samples: int64 ``[U, k]`` sample indices of each unit's top k, best first.
        random_score: The same measure for k samples drawn at random.
        floor: The same measure for k held-out real images (None without them).
        num_samples: N.

    Example:
        >>> s = ArtifactScores("layer1", "fsd", torch.tensor([1.0, 3.0]), [1, 0],
        ...                    torch.zeros(2, 1).long(), 2.0, None, 4)
        >>> s.to_dict()["units"][0]
        {'unit': 1, 'rank': 0, 'score': 3.0, 'top_samples': [0]}
    """

    layer: str
    metric: str
    scores: Tensor
    ranking: list[int]
    top_samples: Tensor
    random_score: float
    floor: float | None
    num_samples: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values; ``units`` in ranking order."""
        return {
            "layer": self.layer,
            "metric": self.metric,
            "num_samples": self.num_samples,
            "top_k": int(self.top_samples.shape[1]),
            "random_score": self.random_score,
            "floor": self.floor,
            "units": [
                {
                    "unit": unit,
                    "rank": rank,
                    "score": float(self.scores[unit]),
                    "top_samples": self.top_samples[unit].tolist(),
                }
                for rank, unit in enumerate(self.ranking)
            ],
        }


def artifact_scores(
    generator: nn.Module,
    layer: str,
    latents: Tensor,
    real_images: Tensor,
    measure: QualityMeasure,
    *,
    top_k: int = 64,
    floor_images: Tensor | None = None,
    seed: int = 0,
    batch_size: int = 64,
    progress: bool = False,
    distributed: bool = False,
) -> ArtifactScores:
    """Score every unit of ``layer`` by the quality of its ``top_k`` samples among ``latents``.

    Args:
        generator: Maps latents to images.
        layer: Dotted layer name (output ``[N, U, h, w]``).
        latents: ``[N, ...]`` latents, N >= top_k.
        real_images: float ``[M, 3, H, W]`` real images in [-1, 1] (SWD uses the first top_k).
        measure: A :class:`~ganlens.applications.quality.QualityMeasure`.
        top_k: Samples scored per unit (>= 2).
        floor_images: Optional ``[>= top_k, 3, H, W]`` real images outside ``real_images``; their
            first top_k give the floor.
        seed: Seed of the random reference subset.
        batch_size: Samples per forward pass.
        progress: Show progress bars.
        distributed: Each process of the initialised group generates and describes its
            contiguous share of ``latents`` and scores every world-size-th unit; the
            descriptors and scores are summed into place, so every process gets all of them.

    Returns:
        :class:`ArtifactScores`.

    Raises:
        ValueError: If ``top_k`` is below 2 or above N (or above M for SWD).

    Example:
        >>> from ganlens.applications.planted import PlantedArtifactGenerator
        >>> from ganlens.applications.loading import real_scene_images
        >>> from ganlens.applications.quality import quality_measure
        >>> g = PlantedArtifactGenerator(units=3, artifact_unit=1)
        >>> z = torch.randn(32, 4, generator=torch.Generator().manual_seed(0))
        >>> z[:, 0] = torch.arange(32)
        >>> real = real_scene_images(16, 32, start=100)
        >>> artifact_scores(g, "layer1", z, real, quality_measure("swd"), top_k=8).ranking[0]
        1
    """
    count = latents.shape[0]
    limit = min(count, real_images.shape[0]) if measure.equal_sizes else count
    if not 2 <= top_k <= limit:
        raise ValueError(f"top_k must lie in 2..{limit} (samples and real images); got {top_k}")
    top: TopActivations | None = None
    descriptors = []
    share = process_share(count, distributed)
    for start, images, features in generate(
        generator,
        latents[share.start : share.stop],
        layer,
        batch_size=batch_size,
        description="artifact scores",
        progress=progress,
    ):
        assert features is not None
        if features.ndim != 4:
            raise ValueError(f"layer {layer!r} must output [N, U, h, w]; got {features.shape}")
        if top is None:
            top = TopActivations(features.shape[1], top_k, sync_on_compute=distributed)
            top = top.to(features.device)
        first = share.start + start  # global sample ids
        top.update(features, torch.arange(first, first + features.shape[0]))
        descriptors.append(measure.describe(images))
    assert top is not None
    fake = _in_place(torch.cat(descriptors), share, count)  # [N, ...]
    real = measure.describe(real_images)
    real_set = real[:top_k] if measure.equal_sizes else real
    indices = top.compute().indices.cpu()  # [U, k]
    rank, world = rank_and_world(distributed)
    values = torch.zeros(indices.shape[0], dtype=torch.float64)
    for unit in progress_bar(range(rank, indices.shape[0], world), "score units", progress):
        values[unit] = measure.distance(real_set, fake[indices[unit]])
    values = summed_over_processes(values) if distributed else values
    scores = values.tolist()
    chosen = torch.randperm(count, generator=torch.Generator().manual_seed(seed))[:top_k]
    floor = None
    if floor_images is not None:
        floor = measure.distance(real_set, measure.describe(floor_images[:top_k]))
    ranking = sorted(range(len(scores)), key=lambda u: (-scores[u], u))
    return ArtifactScores(
        layer,
        measure.name,
        values,
        ranking,
        indices,
        measure.distance(real_set, fake[chosen]),
        floor,
        count,
    )
