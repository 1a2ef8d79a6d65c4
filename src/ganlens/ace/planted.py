"""Planted causes: a toy generator whose concept is painted by known units, and decoys that are not.

GAN Dissection (Bau et al., ICLR 2019, arXiv:1811.10597, section 3.2) separates units that merely
correlate with a concept (high IoU) from units that cause it (high ACE). This toy makes both kinds
with exact ground truth (a "planted ground truth" test fixture):

* a latent ``z ~ N(0, I)`` gives a field ``m = Phi(z_0)`` on an ``g x g`` grid (``Phi`` the normal
  CDF, so every cell of m is Uniform(0, 1), independently);
* ``layer1`` outputs ``U = decoys + causal + noise`` units: **decoy** units copy m exactly;
  **causal** unit i is ``m + jitter * z_{1+i}``; **noise** units are independent uniform fields;
* a fixed decoder reads only the causal units: ``d = sum_i w_i r_i`` with ``w_i = 1 / causal``,
  paints concept probability ``p = sigmoid(sharpness * (d - level))`` into image channel 0 as
  ``2 p - 1`` (each cell a ``scale x scale`` block), and m into channel 1 as decoration.

:class:`PlantedConceptSegmenter` reads channel 0 back: ``class_probability = (x_0 + 1) / 2``
and the hard label is c where that exceeds 1/2, i.e. exactly where ``d > level``. So after any
intervention the hard presence of c in a cell is ``[d' > level]`` with d' computed from the edited
causal units, and the soft presence is ``sigmoid(sharpness * (d' - level))``: ACE is known in
closed form. With ``jitter = 0`` and ``level = 1/2`` the unedited concept covers half the cells,
the insertion constant of each causal unit is ``E[m | m > 1/2] = 3/4``, ablating all causal units
removes every concept pixel and inserting them paints every cell. Decoys have the highest IoU
(the concept mask is a function of m and the jitter's mean) but no effect at all.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ganlens.data.vocabulary import Vocabulary
from ganlens.segment.protocol import check_images, check_resolution, output_size, resize_maps

__all__ = ["PlantedCausalGenerator", "PlantedConceptSegmenter"]


class PlantedCausalGenerator(nn.Module):
    """Toy generator with planted causal, decoy and noise units at ``layer1``.

    Args:
        causal: Number of causal units (they feed the decoder).
        decoys: Number of decoy units (exact copies of the field m; no effect).
        noise: Number of independent noise units.
        grid: Feature grid side ``g``.
        scale: Pixels per cell side; images are ``g * scale`` square.
        level: Decoder threshold on ``d``.
        sharpness: Slope of the decoder's sigmoid.
        jitter: Per-unit noise added to the causal units.

    Attributes:
        latent_size: ``D = g * g * (1 + causal + noise)``.
        decoy_units: Unit ids of the decoys (first).
        causal_units: Unit ids of the causal units (after the decoys).
        noise_units: Unit ids of the noise units (last).

    Raises:
        ValueError: If a count, size or setting is out of range.

    Example:
        >>> g = PlantedCausalGenerator(causal=2, decoys=1, noise=1, grid=4, scale=2)
        >>> images = g(torch.randn(3, g.latent_size))
        >>> images.shape, g.causal_units, g.decoy_units, g.noise_units
        (torch.Size([3, 3, 8, 8]), [1, 2], [0], [3])
    """

    def __init__(
        self,
        causal: int = 3,
        decoys: int = 3,
        noise: int = 2,
        grid: int = 8,
        scale: int = 4,
        level: float = 0.5,
        sharpness: float = 12.0,
        jitter: float = 0.0,
    ) -> None:
        super().__init__()
        if causal < 1 or decoys < 0 or noise < 0 or grid < 1 or scale < 1:
            raise ValueError(
                "causal, grid and scale must be >= 1 and decoys, noise >= 0; got "
                f"causal={causal}, decoys={decoys}, noise={noise}, grid={grid}, scale={scale}"
            )
        if sharpness <= 0 or jitter < 0:
            raise ValueError(f"sharpness must be > 0 and jitter >= 0; got {sharpness}, {jitter}")
        self.grid, self.scale, self.level = grid, scale, level
        self.sharpness, self.jitter = sharpness, jitter
        self.decoy_units = list(range(decoys))
        self.causal_units = list(range(decoys, decoys + causal))
        self.noise_units = list(range(decoys + causal, decoys + causal + noise))
        self.num_units = decoys + causal + noise
        self.latent_size = grid * grid * (1 + causal + noise)
        self.resolution = grid * scale
        self.layer1 = nn.Identity()
        self.weight = nn.Parameter(torch.full((causal,), 1.0 / causal))  # the decoder's w

    def features(self, z: Tensor) -> Tensor:
        """The planted featuremaps ``[N, U, g, g]`` of latents ``z`` ``[N, D]``."""
        if z.ndim != 2 or z.shape[1] != self.latent_size:
            raise ValueError(f"z must be [N, {self.latent_size}]; got {list(z.shape)}")
        fields = z.view(z.shape[0], -1, self.grid, self.grid)  # [N, 1 + C + noise, g, g]
        causal = len(self.causal_units)
        m = torch.special.ndtr(fields[:, :1])  # [N, 1, g, g], Uniform(0, 1) per cell
        decoys = m.expand(-1, len(self.decoy_units), -1, -1)
        planted = m + self.jitter * fields[:, 1 : 1 + causal]  # [N, C, g, g]
        noise = torch.special.ndtr(fields[:, 1 + causal :])
        return torch.cat([decoys, planted, noise], dim=1)  # [N, U, g, g]

    def decode(self, features: Tensor) -> Tensor:
        """The concept field ``d = sum_i w_i r_i`` over causal units, ``[N, g, g]``."""
        causal = features[:, self.causal_units]  # [N, C, g, g]
        return (causal * self.weight.view(1, -1, 1, 1)).sum(dim=1)

    def forward(self, z: Tensor) -> Tensor:
        """Images ``[N, 3, g * scale, g * scale]`` in [-1, 1] for latents ``[N, D]``."""
        unedited = self.features(z)  # [N, U, g, g]
        r = self.layer1(unedited)  # hooks on layer1 edit it
        probability = torch.sigmoid(self.sharpness * (self.decode(r) - self.level))  # [N, g, g]
        m = torch.special.ndtr(z.view(z.shape[0], -1, self.grid, self.grid)[:, 0])  # [N, g, g]
        decoration = 2 * m - 1
        channels = torch.stack([2 * probability - 1, decoration, torch.zeros_like(m)], dim=1)
        return channels.repeat_interleave(self.scale, 2).repeat_interleave(self.scale, 3)


class PlantedConceptSegmenter:
    """Ground-truth segmenter of :class:`PlantedCausalGenerator` images (one concept).

    ``class_probability`` is ``(x_0 + 1) / 2`` (image channel 0, differentiable) and ``segment``
    labels a pixel with the concept where that exceeds 1/2. Resizing follows
    :mod:`ganlens.segment.protocol` (bilinear, ``align_corners=False``).

    Args:
        concept: The concept's name.

    Example:
        >>> segmenter = PlantedConceptSegmenter("tree")
        >>> images = torch.zeros(1, 3, 2, 2)
        >>> images[0, 0, 0, 0] = 0.5
        >>> segmenter.segment(images)[0, 0].tolist(), segmenter.vocabulary.names
        ([[1, 0], [0, 0]], ('-', 'tree'))
    """

    layer_names: tuple[str, ...] = ("object",)

    def __init__(self, concept: str = "tree") -> None:
        self._vocabulary = Vocabulary([(concept, "object")])

    @property
    def vocabulary(self) -> Vocabulary:
        """One concept at label 1."""
        return self._vocabulary

    def class_probability(
        self, images: Tensor, concept: str | int, resolution: int | None = None
    ) -> Tensor:
        """Probability of the concept, ``float [N, S, S]`` (zeros for label 0)."""
        check_images(images)
        label = self._vocabulary.index(concept) if isinstance(concept, str) else concept
        if label not in (0, 1):
            raise ValueError(f"unknown concept {concept!r}; this segmenter knows label 1 only")
        probability = ((images[:, :1] + 1) / 2).clamp(0, 1) * float(label)  # [N, 1, H, W]
        return resize_maps(probability, output_size(images, check_resolution(resolution)))[:, 0]

    def segment(self, images: Tensor, resolution: int | None = None) -> Tensor:
        """Labels ``int64 [N, 1, S, S]``: 1 where the concept's probability exceeds 1/2."""
        with torch.no_grad():
            return (self.class_probability(images, 1, resolution) > 0.5).long().unsqueeze(1)
