"""Planted ground truth for dissection: a toy generator whose units are known concept masks.

GAN Dissection (Bau et al., ICLR 2019, arXiv:1811.10597, section 3.1) labels a unit u with the
concept c of highest IoU(u, c) (eq. 1). Checking an implementation end to end
needs planted ground truth: here a "generator" maps a latent to a scene of the scene world
(:func:`ganlens.data.render_scene`), returns the scene's image, and exposes at its layer
``layer1`` featuremaps whose first units are the scene's concept masks, average-pooled to the
feature resolution, so the best concept of each planted unit is known. Noise units (seeded
Gaussian maps) and one dead unit (all zeros) follow as distractors. :class:`SceneLabelSegmenter`
is the matching ground-truth "segmenter": it recognises each scene image and renders its labels.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganlens.data.scene_world import LAYER_NAMES, SCENE_VOCABULARY, RenderedScene, render_scene
from ganlens.data.vocabulary import Vocabulary
from ganlens.images import from_uint8, to_uint8

__all__ = ["PlantedSceneGenerator", "SceneLabelSegmenter"]


@lru_cache(maxsize=4096)
def _scene(seed: int, index: int, resolution: int) -> RenderedScene:
    return render_scene(seed, index, resolution)


def _image(scene: RenderedScene) -> Tensor:
    return from_uint8(scene.image)  # [3, R, R] in [-1, 1]


def _image_key(image: Tensor) -> bytes:
    return bytes(to_uint8(image.detach().cpu()).numpy())


class PlantedSceneGenerator(nn.Module):
    """Toy generator: ``z[:, 0]`` (rounded) picks a scene; ``layer1`` holds planted units.

    Units of ``layer1`` (``[N, U, f, f]``, ``U = len(planted) + num_noise + 1``): unit ``i <
    len(planted)`` is the mask of concept ``planted[i]`` (a pixel is in it when any label layer
    carries the concept), average-pooled from the image resolution to ``f`` plus ``noise``
    times seeded Gaussian noise; then ``num_noise`` Gaussian noise units; the last unit is dead
    (all zeros). Noise is seeded per (seed, scene index), so outputs do not depend on batching.
    The output is the scene image, float ``[N, 3, R, R]`` in [-1, 1], on ``z``'s device.

    Args:
        planted: Concept names of the planted units, e.g. ``("sky", "grass")``.
        seed: Scene-world seed.
        resolution: Image resolution ``R``.
        feature_size: ``f``; must divide ``R``.
        num_noise: Gaussian noise units.
        noise: Standard deviation of the noise added to planted units.

    Raises:
        ValueError: On an unknown concept or a feature size that does not divide ``R``.

    Example:
        >>> from ganlens.hooks import trace
        >>> g = PlantedSceneGenerator(["sky", "grass"], resolution=32, feature_size=8)
        >>> with trace(g, "layer1") as features:
        ...     images = g(torch.tensor([[0.0], [1.0]]))
        >>> images.shape, features["layer1"].shape  # 2 planted + 2 noise + 1 dead unit
        (torch.Size([2, 3, 32, 32]), torch.Size([2, 5, 8, 8]))
    """

    def __init__(
        self,
        planted: Sequence[str],
        seed: int = 0,
        resolution: int = 32,
        feature_size: int = 16,
        num_noise: int = 2,
        noise: float = 0.02,
    ) -> None:
        super().__init__()
        self.concepts = [SCENE_VOCABULARY.index(name) for name in planted]
        if feature_size < 1 or resolution % feature_size:
            raise ValueError(
                f"feature_size must divide resolution {resolution}; got {feature_size}"
            )
        self.seed, self.resolution, self.feature_size = seed, resolution, feature_size
        self.num_noise, self.noise = num_noise, noise
        self.layer1 = nn.Identity()
        self.register_buffer("anchor", torch.zeros(0), persistent=False)  # carries the device

    @property
    def num_units(self) -> int:
        """``U`` of ``layer1``."""
        return len(self.concepts) + self.num_noise + 1

    def _features(self, scene: RenderedScene, index: int) -> Tensor:
        size = self.feature_size
        labels = scene.labels  # [3, R, R]
        masks = torch.stack([(labels == c).any(dim=0) for c in self.concepts]).float()
        pooled = F.adaptive_avg_pool2d(masks, size) if self.concepts else masks  # [P, f, f]
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + index)
        planted_noise = torch.randn(pooled.shape, generator=generator)
        noise_units = torch.randn(self.num_noise, size, size, generator=generator)
        dead = torch.zeros(1, size, size)
        return torch.cat([pooled + self.noise * planted_noise, noise_units, dead])  # [U, f, f]

    def forward(self, z: Tensor) -> Tensor:
        """Render scenes ``round(z[:, 0])``; ``layer1`` sees their planted featuremaps.

        Args:
            z: ``[N, D]`` latents (``D >= 1``) whose first entry is a non-negative scene index.

        Returns:
            float ``[N, 3, R, R]`` images in [-1, 1].
        """
        indices = [int(i) for i in z[:, 0].round().tolist()]
        scenes = [_scene(self.seed, i, self.resolution) for i in indices]
        features = torch.stack([self._features(s, i) for s, i in zip(scenes, indices, strict=True)])
        self.layer1(features.to(z.device))  # [N, U, f, f]
        return torch.stack([_image(s) for s in scenes]).to(z.device)  # [N, 3, R, R]


class SceneLabelSegmenter:
    """Ground-truth "segmenter" for scene-world images: finds each image's scene, renders labels.

    It recognises an image by its exact pixels among the scenes ``indices`` of world ``seed``
    at ``resolution`` (as produced by :class:`PlantedSceneGenerator`), and returns the scene's
    own label layers rendered at the requested resolution (the world is resolution-free).

    Args:
        indices: Scene indices it may be shown.
        seed: Scene-world seed.
        resolution: Resolution of the images it is shown.

    Example:
        >>> seg = SceneLabelSegmenter(range(4), resolution=32)
        >>> images = PlantedSceneGenerator(["sky"], resolution=32)(torch.tensor([[2.0]]))
        >>> labels = seg.segment(images, resolution=16)  # [1, 3, 16, 16]
        >>> torch.equal(labels[0], render_scene(0, 2, 16).labels)
        True
    """

    vocabulary: Vocabulary = SCENE_VOCABULARY
    layer_names: tuple[str, ...] = LAYER_NAMES

    def __init__(self, indices: Sequence[int] | range, seed: int = 0, resolution: int = 32) -> None:
        self.seed = seed
        self._index = {_image_key(_image(_scene(seed, i, resolution))): i for i in indices}

    def segment(self, images: Tensor, resolution: int | None = None) -> Tensor:
        """Label layers ``int64 [N, 3, S, S]`` of the scenes shown, on the images' device.

        Raises:
            ValueError: If an image is not one of the known scenes.
        """
        size = resolution or images.shape[-1]
        labels = []
        for image in images:
            index = self._index.get(_image_key(image))
            if index is None:
                raise ValueError("SceneLabelSegmenter was shown an image of no known scene")
            labels.append(_scene(self.seed, index, size).labels)
        return torch.stack(labels).to(images.device)
