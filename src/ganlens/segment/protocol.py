"""The :class:`Segmenter` protocol: what dissection and ACE need from a semantic segmenter.

GAN Dissection (Bau et al., ICLR 2019, arXiv:1811.10597, section 3.1) compares unit featuremaps with
the concept masks a segmenter assigns to generated images, and its causal analysis (section 3.2)
backpropagates through the segmenter's soft class map s_c. A segmenter therefore offers

* hard label layers ``segment(images, resolution) -> int64 [N, K, S, S]`` indexing its
  :class:`~ganlens.data.vocabulary.Vocabulary` (0 = no label), one layer per entry of
  ``layer_names`` (a pixel carries at most one label per layer), and
* soft probabilities ``class_probability(images, concept, resolution) -> float [N, S, S]`` that are
  differentiable with respect to ``images``.

**Resizing rule** (pixel centres aligned, as in the paper's section 3.1 upsampling). Both
implementations compute at the images' own resolution and resize to the requested ``S`` with
:func:`resize_maps`: bilinear interpolation with ``align_corners=False``, so output pixel centres
map onto input pixel centres
(``x_in = (x_out + 0.5) * H / S - 0.5``) and masks never shift. Label maps are the argmax of the
*resized logits* (not nearest-neighbour resizing of labels); probabilities are the softmax at the
native resolution, resized the same way (a convex combination, so they stay in [0, 1]).

This module also holds the input checks both implementations share (:func:`check_images`,
:func:`check_resolution`).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import torch
import torch.nn.functional as F
from torch import Tensor

from ganlens.data.vocabulary import Vocabulary

__all__ = [
    "RANGE_MARGIN",
    "Segmenter",
    "check_images",
    "check_resolution",
    "output_size",
    "resize_maps",
]

RANGE_MARGIN = 0.25
"""Tolerated overshoot of image values beyond [-1, 1] (generators without a final tanh overshoot a
little); values further out are taken as a wrong range such as [0, 255] and rejected."""


@runtime_checkable
class Segmenter(Protocol):
    """A semantic segmenter that dissection and ACE can query.

    Images are float ``[N, 3, H, W]`` in [-1, 1] on any device; implementations compute on the
    images' device and follow the resizing rule of this module.

    Example:
        >>> from ganlens.segment import Segmenter, load_scene_segmenter
        >>> isinstance(load_scene_segmenter(), Segmenter)
        True
    """

    @property
    def vocabulary(self) -> Vocabulary:
        """Concepts the label layers index (0 = no label)."""
        ...

    @property
    def layer_names(self) -> tuple[str, ...]:
        """Names of the ``K`` label layers, e.g. ``("object", "part", "material")``."""
        ...

    def segment(self, images: Tensor, resolution: int | None = None) -> Tensor:
        """Hard label layers ``int64 [N, K, S, S]`` (``S = resolution``, default ``H x W``)."""
        ...

    def class_probability(
        self, images: Tensor, concept: str | int, resolution: int | None = None
    ) -> Tensor:
        """Soft probability of ``concept``, ``float [N, S, S]``, differentiable in ``images``."""
        ...


def check_images(images: object, name: str = "images") -> Tensor:
    """Validate a batch of images in [-1, 1] and return it.

    Args:
        images: Candidate ``[N, 3, H, W]`` floating tensor with values in [-1, 1] (up to
            :data:`RANGE_MARGIN` of overshoot is tolerated).
        name: Argument name used in error messages.

    Returns:
        ``images`` unchanged.

    Raises:
        ValueError: If it is not a floating tensor of shape ``[N, 3, H, W]`` with ``N, H, W >= 1``,
            holds non-finite values, or lies outside [-1, 1] by more than the margin; the message
            gives the expected and the actual value.

    Example:
        >>> check_images(torch.zeros(2, 3, 8, 8)).shape
        torch.Size([2, 3, 8, 8])
        >>> check_images(torch.full((1, 3, 4, 4), 255.0))
        Traceback (most recent call last):
        ...
        ValueError: images must hold values in [-1, 1]; got min 255, max 255 ...
    """
    if not isinstance(images, Tensor):
        raise ValueError(f"{name} must be a torch.Tensor [N, 3, H, W]; got {type(images).__name__}")
    if not images.is_floating_point():
        raise ValueError(
            f"{name} must be a floating tensor in [-1, 1]; got dtype {images.dtype} "
            "(convert uint8 images with ganlens.images.from_uint8: images.float() / 127.5 - 1)"
        )
    if images.ndim != 4 or images.shape[1] != 3 or images.numel() == 0:
        raise ValueError(f"{name} must have shape [N, 3, H, W]; got {tuple(images.shape)}")
    low, high = torch.aminmax(images.detach())
    if not (torch.isfinite(low) and torch.isfinite(high)):
        raise ValueError(f"{name} must be finite; got min {low.item():g}, max {high.item():g}")
    if low < -1.0 - RANGE_MARGIN or high > 1.0 + RANGE_MARGIN:
        raise ValueError(
            f"{name} must hold values in [-1, 1]; got min {low.item():g}, max {high.item():g} "
            "(for [0, 255] images use x / 127.5 - 1, for [0, 1] images use 2 * x - 1)"
        )
    return images


def check_resolution(resolution: object) -> int | None:
    """Validate a requested output side ``S`` (``None`` keeps the image size).

    Args:
        resolution: Positive int or ``None``.

    Returns:
        ``resolution`` unchanged.

    Raises:
        ValueError: If it is neither ``None`` nor a positive int.

    Example:
        >>> check_resolution(32), check_resolution(None)
        (32, None)
    """
    if resolution is None:
        return None
    if isinstance(resolution, bool) or not isinstance(resolution, int) or resolution < 1:
        raise ValueError(f"resolution must be a positive int or None; got {resolution!r}")
    return resolution


def output_size(images: Tensor, resolution: int | None) -> tuple[int, int]:
    """Output ``(S, S)``, or the images' own ``(H, W)`` when ``resolution`` is None.

    Args:
        images: ``[N, 3, H, W]`` images.
        resolution: Requested side ``S`` or ``None``.

    Returns:
        The output height and width.

    Example:
        >>> output_size(torch.zeros(1, 3, 6, 8), None), output_size(torch.zeros(1, 3, 6, 8), 4)
        ((6, 8), (4, 4))
    """
    if resolution is None:
        return int(images.shape[-2]), int(images.shape[-1])
    return resolution, resolution


def resize_maps(maps: Tensor, size: tuple[int, int]) -> Tensor:
    """Resize ``[N, C, H, W]`` logits or probabilities to ``size`` with centres aligned.

    Bilinear with ``align_corners=False``: output pixel centre ``(i + 0.5) / S`` lands on the same
    relative position of the input, so nothing shifts. A no-op when the size already matches.

    Args:
        maps: ``[N, C, H, W]`` floating maps.
        size: Target ``(S_h, S_w)``.

    Returns:
        ``[N, C, S_h, S_w]`` maps (differentiable).

    Example:
        >>> maps = torch.arange(4.0).view(1, 1, 1, 4)
        >>> resize_maps(maps, (1, 2))  # centres 0.5 and 2.5 of the input
        tensor([[[[0.5000, 2.5000]]]])
    """
    if tuple(maps.shape[-2:]) == tuple(size):
        return maps
    return F.interpolate(maps, size=size, mode="bilinear", align_corners=False)
