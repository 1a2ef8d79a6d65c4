"""Planted toys for the applications: an artifact unit, and a door unit that needs a wall.

GAN Dissection (Bau et al., ICLR 2019, sections 4.3-4.4) finds units that cause artifacts and shows
that inserting units works only in the right context. These toys make both answers known:

* :class:`PlantedArtifactGenerator` renders clean scene-world images (optionally blurred, so that
  even its ordinary samples look unreal); one ``layer1`` unit (a per-sample level in [0, 1]) adds
  that much seeded noise to the image, the others have no effect. Its top-activating samples are
  the noisiest, and ablating it returns the noise-free scenes.
* :class:`PlantedContextGenerator` renders scenes as *label images* (channel 0 the object label,
  channel 1 the part label); ``layer1`` unit 0 is the scene's door mask and the decoder paints
  door wherever that unit exceeds 1/2 **and** the scene has wall. :class:`LabelImageSegmenter`
  reads the labels back exactly, so inserting unit 0 adds door on wall cells and nothing on sky.
"""

from __future__ import annotations

from functools import lru_cache

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganlens.data.scene_world import SCENE_VOCABULARY, RenderedScene, render_scene
from ganlens.data.vocabulary import Vocabulary
from ganlens.images import from_uint8

__all__ = ["LabelImageSegmenter", "PlantedArtifactGenerator", "PlantedContextGenerator"]

_LABEL_SCALE = 32.0  # label value v is stored as the pixel value 2 v / 32 - 1
_WALL, _DOOR = SCENE_VOCABULARY.index("wall"), SCENE_VOCABULARY.index("door")


@lru_cache(maxsize=4096)
def _scene(seed: int, index: int, resolution: int) -> RenderedScene:
    return render_scene(seed, index, resolution)


def _indices(z: Tensor) -> list[int]:
    """Scene of each latent: an integral ``z[:, 0]`` >= 0 is the index, else ``floor(|v| 1e4)``."""
    values = z[:, 0].tolist()
    return [int(v) if v >= 0 and v == int(v) else int(abs(v) * 10_000) for v in values]


class PlantedArtifactGenerator(nn.Module):
    """Scene ``z[:, 0]`` plus noise scaled by one planted artifact unit.

    An integral ``z[:, 0] >= 0`` is the scene index; any other value v picks scene
    ``floor(|v| * 10^4)``, so Gaussian latents give varied scenes.

    ``layer1`` outputs ``[N, U, g, g]``: unit u is the constant map ``Phi(z[:, 1 + u])`` (a level
    in (0, 1) per sample, ``Phi`` the normal CDF). The image is the clean scene plus
    ``strength * r_artifact * noise`` (seeded Gaussian noise per scene, white, so it is strongest
    in the finest Laplacian band), clamped to [-1, 1]; no other unit reaches the image. With
    ``blur > 1`` the clean scene is first average-pooled over ``blur x blur`` blocks and upsampled
    back to R bilinearly, so that even samples without noise lack the real images' fine detail,
    as an undertrained GAN's do.

    Args:
        units: U.
        artifact_unit: The planted artifact unit.
        strength: Noise amplitude at level 1.
        seed: Scene-world seed.
        resolution: Image side R.
        grid: Feature grid side g.
        blur: Side of the averaging blocks applied to the clean scenes (1: sharp); divides R.

    Raises:
        ValueError: If ``artifact_unit`` is not a unit, or ``blur`` does not divide R.

    Example:
        >>> g = PlantedArtifactGenerator(units=3, artifact_unit=1)
        >>> z = torch.tensor([[0.0, 0.0, -9.0, 0.0]])  # scene 0, artifact level ~0
        >>> clean = from_uint8(render_scene(0, 0, 32).image)
        >>> bool((g(z)[0] - clean).abs().max() < 1e-3), g.latent_size
        (True, 4)
        >>> blurry = PlantedArtifactGenerator(units=3, artifact_unit=1, blur=4)(z)[0]  # [3, 32, 32]
        >>> bool(blurry.diff(dim=-1).abs().mean() < 0.5 * clean.diff(dim=-1).abs().mean())
        True
    """

    def __init__(
        self,
        units: int = 4,
        artifact_unit: int = 2,
        strength: float = 0.6,
        seed: int = 0,
        resolution: int = 32,
        grid: int = 8,
        blur: int = 1,
    ) -> None:
        super().__init__()
        if not 0 <= artifact_unit < units:
            raise ValueError(f"artifact_unit must lie in 0..{units - 1}; got {artifact_unit}")
        if blur < 1 or resolution % blur:
            raise ValueError(f"blur must be >= 1 and divide resolution {resolution}; got {blur}")
        self.units, self.artifact_unit, self.strength = units, artifact_unit, strength
        self.seed, self.resolution, self.grid, self.blur = seed, resolution, grid, blur
        self.latent_size = 1 + units
        self.layer1 = nn.Identity()

    def forward(self, z: Tensor) -> Tensor:
        """Images float ``[N, 3, R, R]`` in [-1, 1] for latents ``[N, 1 + U]``."""
        levels = torch.special.ndtr(z[:, 1 : 1 + self.units])  # [N, U]
        maps = levels[:, :, None, None].expand(-1, -1, self.grid, self.grid)  # [N, U, g, g]
        r = self.layer1(maps)
        images, noise = [], []
        for index in _indices(z):
            images.append(from_uint8(_scene(self.seed, index, self.resolution).image))
            seeded = torch.Generator().manual_seed(1_000_003 * self.seed + index)
            noise.append(torch.randn(3, self.resolution, self.resolution, generator=seeded))
        clean = torch.stack(images).to(z.device)  # [N, 3, R, R]
        if self.blur > 1:
            coarse = F.avg_pool2d(clean, self.blur)  # [N, 3, R / blur, R / blur]
            clean = F.interpolate(coarse, self.resolution, mode="bilinear", align_corners=False)
        level = F.interpolate(r[:, self.artifact_unit : self.artifact_unit + 1], self.resolution)
        edited = clean + self.strength * level * torch.stack(noise).to(z.device)
        return edited.clamp(-1.0, 1.0)  # [N, 3, R, R]


class PlantedContextGenerator(nn.Module):
    """Label images of scenes ``z[:, 0]`` whose door is painted by ``layer1`` unit 0.

    Scenes are picked from ``z[:, 0]`` as in :class:`PlantedArtifactGenerator`.

    ``layer1`` is ``[N, 2, g, g]``: unit 0 the scene's door mask (any label layer), max-pooled to
    the grid; unit 1 zeros. The decoder upsamples unit 0 (nearest) and sets the part label to door
    where it exceeds 1/2 and the scene's part label is wall (existing doors stay door); the object
    label is the scene's. Pixel values encode labels (see :class:`LabelImageSegmenter`).

    Args:
        seed: Scene-world seed.
        resolution: Image side R.
        grid: Feature grid side g (divides R).

    Example:
        >>> g = PlantedContextGenerator()
        >>> labels = LabelImageSegmenter().segment(g(torch.tensor([[3.0]])))
        >>> torch.equal(labels[0], render_scene(0, 3, 32).labels[:2])
        True
    """

    def __init__(self, seed: int = 0, resolution: int = 32, grid: int = 8) -> None:
        super().__init__()
        if resolution % grid:
            raise ValueError(f"grid must divide resolution {resolution}; got {grid}")
        self.seed, self.resolution, self.grid = seed, resolution, grid
        self.latent_size = 1
        self.layer1 = nn.Identity()

    def forward(self, z: Tensor) -> Tensor:
        """Label images float ``[N, 3, R, R]`` in [-1, 1] for latents ``[N, D]``."""
        labels = torch.stack(
            [_scene(self.seed, i, self.resolution).labels for i in _indices(z)]
        ).to(z.device)  # [N, 3, R, R]
        door = (labels == _DOOR).any(dim=1, keepdim=True).float()  # [N, 1, R, R]
        door_unit = F.adaptive_max_pool2d(door, self.grid)  # [N, 1, g, g]
        r = self.layer1(torch.cat([door_unit, torch.zeros_like(door_unit)], dim=1))
        field = F.interpolate(r[:, :1], size=self.resolution, mode="nearest")[:, 0]  # [N, R, R]
        part = labels[:, 1].clone()
        part[(field > 0.5) & (part == _WALL)] = _DOOR
        values = torch.stack([labels[:, 0], part, torch.zeros_like(part)], dim=1).float()
        return values * (2.0 / _LABEL_SCALE) - 1.0


class LabelImageSegmenter:
    """Reads the label images of :class:`PlantedContextGenerator`: object and part layers.

    Example:
        >>> LabelImageSegmenter().layer_names, len(LabelImageSegmenter().vocabulary)
        (('object', 'part'), 18)
    """

    layer_names: tuple[str, ...] = ("object", "part")

    @property
    def vocabulary(self) -> Vocabulary:
        """The scene world's vocabulary."""
        return SCENE_VOCABULARY

    def segment(self, images: Tensor, resolution: int | None = None) -> Tensor:
        """Labels ``int64 [N, 2, S, S]`` (nearest resize to ``resolution``)."""
        labels = ((images[:, :2] + 1.0) * (_LABEL_SCALE / 2.0)).round().long()  # [N, 2, H, W]
        if resolution is not None and resolution != images.shape[-1]:
            labels = F.interpolate(labels.float(), size=resolution, mode="nearest").long()
        return labels.clamp(0, len(SCENE_VOCABULARY) - 1)
