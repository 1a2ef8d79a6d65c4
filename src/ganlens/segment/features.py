"""The feature network of the Fréchet segmenter distance (FSD), ganlens' offline stand-in for FID.

FID (Heusel et al., "GANs Trained by a Two Time-Scale Update Rule Converge to a Local Nash
Equilibrium", NeurIPS 2017, arXiv:1706.08500) is the Fréchet distance between Gaussians fitted to
Inception-v3 pool features of real and generated images:
``||mu_r - mu_g||^2 + Tr(S_r + S_g - 2 (S_r S_g)^(1/2))``. Where the Inception weights cannot be
had, ganlens computes the same distance, with torchmetrics' ``FrechetInceptionDistance``, in the
feature space of the shipped scene segmenter (:func:`ganlens.segment.load_scene_segmenter`) and
calls it FSD: it is a different number, comparable only with other FSDs.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganlens.segment.network import SceneSegmenterNet
from ganlens.segment.scene_segmenter import load_scene_segmenter

__all__ = ["SEGMENTER_INPUT_SIZE", "SegmenterFeatures"]

SEGMENTER_INPUT_SIZE = 64
"""Side images are resized to before the segmenter sees them, whatever the training stage."""


class SegmenterFeatures(nn.Module):
    """Globally average-pooled encoder features of the scene segmenter, at every scale.

    Images are resized to ``input_size`` (bilinear, ``align_corners=False``, antialiased when
    shrinking), run through the segmenter's U-Net encoder (its decoder and heads are unused), and
    each scale's output is averaged over space; the concatenation (``sum(widths)`` features, 208
    for the shipped ``(16, 32, 64, 96)`` network) is the descriptor. The module never leaves eval
    mode and has no trainable parameters.

    Args:
        network: A :class:`~ganlens.segment.network.SceneSegmenterNet`; default: the shipped one.
        input_size: Side the images are resized to.

    Raises:
        ValueError: if ``input_size`` is not a positive multiple of the network's ``multiple``.

    Example:
        >>> _ = torch.manual_seed(0)
        >>> features = SegmenterFeatures(SceneSegmenterNet(widths=(4, 8)), input_size=16)
        >>> features(torch.rand(3, 3, 32, 32) * 2 - 1).shape, features.num_features
        (torch.Size([3, 12]), 12)
    """

    def __init__(
        self, network: SceneSegmenterNet | None = None, input_size: int = SEGMENTER_INPUT_SIZE
    ) -> None:
        super().__init__()
        if network is None:
            segmenter_network = load_scene_segmenter().network
            assert isinstance(segmenter_network, SceneSegmenterNet), "the shipped network"
            network = segmenter_network
        if input_size < 1 or input_size % network.multiple:
            raise ValueError(
                f"input_size must be a positive multiple of {network.multiple}, got {input_size}"
            )
        self.encoders = network.encoders
        self.input_size = input_size
        self.num_features = sum(network.widths)
        self.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True) -> SegmenterFeatures:
        """Stay in eval mode (batch-norm statistics are frozen)."""
        return super().train(False)

    @torch.no_grad()
    def forward(self, images: Tensor) -> Tensor:
        """Descriptors of a batch.

        Args:
            images: ``[N, 3, H, W]`` float in [-1, 1].

        Returns:
            ``[N, num_features]`` float32.
        """
        if images.ndim != 4 or images.shape[1] != 3:
            raise ValueError(f"images must have shape [N, 3, H, W], got {list(images.shape)}")
        size = (self.input_size, self.input_size)
        shrink = max(images.shape[-2:]) > self.input_size
        x = F.interpolate(
            images.float(), size=size, mode="bilinear", align_corners=False, antialias=shrink
        )
        pooled = []
        for level, encoder in enumerate(self.encoders):
            if level > 0:
                x = F.max_pool2d(x, 2)  # [N, C, s / 2**level, s / 2**level]
            x = encoder(x)
            pooled.append(x.mean(dim=(2, 3)))  # [N, C_level]
        return torch.cat(pooled, dim=1)  # [N, sum(widths)]
