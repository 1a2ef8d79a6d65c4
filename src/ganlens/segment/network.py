"""A compact U-Net with one softmax head per label layer (object, part, material).

The architecture follows Ronneberger et al., "U-Net: Convolutional Networks for Biomedical Image
Segmentation" (MICCAI 2015, arXiv:1505.04597): an encoder of 3x3 conv blocks with 2x2 max-pooling,
a decoder that upsamples bilinearly (``align_corners=False``) and concatenates the encoder's
features at the same scale, and a 1x1 classifier. It is fully convolutional: any input size works
(sides that are not a multiple of ``2 ** (levels - 1)`` are padded by edge replication on the
bottom and right and cropped back, so no pixel moves).

The classifier emits the concatenated logits of several heads; :func:`split_heads` cuts them apart.
For the scene world the heads are object (8 concepts), part (none + 7) and material (none + 2),
so each layer of the ground truth is predicted by its own softmax.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["SceneSegmenterNet", "split_heads"]


def _conv_block(in_channels: int, out_channels: int) -> nn.Sequential:
    """Two 3x3 conv + batch-norm + ReLU layers."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
        nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


def split_heads(logits: Tensor, head_sizes: Sequence[int]) -> list[Tensor]:
    """Cut concatenated head logits ``[N, sum(head_sizes), H, W]`` into one tensor per head.

    Args:
        logits: ``[N, C, H, W]`` with ``C == sum(head_sizes)``.
        head_sizes: Classes per head, in channel order.

    Returns:
        One ``[N, head_sizes[k], H, W]`` view per head.

    Raises:
        ValueError: If the channel count does not match ``sum(head_sizes)``.

    Example:
        >>> parts = split_heads(torch.zeros(2, 5, 4, 4), (3, 2))
        >>> [tuple(p.shape) for p in parts]
        [(2, 3, 4, 4), (2, 2, 4, 4)]
    """
    if logits.ndim != 4 or logits.shape[1] != sum(head_sizes):
        raise ValueError(
            f"logits must be [N, {sum(head_sizes)}, H, W] for heads {tuple(head_sizes)}; "
            f"got {tuple(logits.shape)}"
        )
    return list(torch.split(logits, list(head_sizes), dim=1))


class SceneSegmenterNet(nn.Module):
    """Compact U-Net emitting concatenated per-layer logits.

    Args:
        widths: Channels at each scale, finest first; ``len(widths)`` scales, each half the
            previous side.
        head_sizes: Classes of each softmax head, in output-channel order.
        in_channels: Image channels.

    Raises:
        ValueError: If ``widths`` or ``head_sizes`` is empty or holds non-positive values.

    Example:
        >>> _ = torch.manual_seed(0)
        >>> net = SceneSegmenterNet(widths=(4, 8), head_sizes=(3, 2))
        >>> net(torch.rand(2, 3, 10, 12) * 2 - 1).shape
        torch.Size([2, 5, 10, 12])
    """

    def __init__(
        self,
        widths: Sequence[int] = (16, 32, 64, 96),
        head_sizes: Sequence[int] = (8, 8, 3),
        in_channels: int = 3,
    ) -> None:
        super().__init__()
        if not widths or min(widths) < 1 or not head_sizes or min(head_sizes) < 1:
            raise ValueError(
                f"widths and head_sizes must be non-empty and positive; got widths={widths}, "
                f"head_sizes={head_sizes}"
            )
        self.widths, self.head_sizes = tuple(widths), tuple(head_sizes)
        self.encoders = nn.ModuleList()
        previous = in_channels
        for width in self.widths:
            self.encoders.append(_conv_block(previous, width))
            previous = width
        self.decoders = nn.ModuleList(
            _conv_block(self.widths[i + 1] + self.widths[i], self.widths[i])
            for i in reversed(range(len(self.widths) - 1))
        )
        self.classifier = nn.Conv2d(self.widths[0], sum(self.head_sizes), 1)

    @property
    def multiple(self) -> int:
        """Input sides are padded up to a multiple of this (``2 ** (scales - 1)``)."""
        return int(2 ** (len(self.widths) - 1))

    def forward(self, images: Tensor) -> Tensor:
        """Logits of all heads.

        Args:
            images: ``[N, C_in, H, W]`` float images (any ``H, W``).

        Returns:
            ``[N, sum(head_sizes), H, W]`` logits, pixel-aligned with ``images``.
        """
        height, width = images.shape[-2:]
        pad_h, pad_w = -height % self.multiple, -width % self.multiple
        x = F.pad(images, (0, pad_w, 0, pad_h), mode="replicate") if pad_h or pad_w else images
        skips: list[Tensor] = []
        for level, encoder in enumerate(self.encoders):
            if level > 0:
                x = F.max_pool2d(x, 2)  # [N, C, H / 2**level, W / 2**level]
            x = encoder(x)
            skips.append(x)
        for decoder, skip in zip(self.decoders, reversed(skips[:-1]), strict=True):
            x = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)
            x = decoder(torch.cat([x, skip], dim=1))  # [N, C_level, h, w]
        logits: Tensor = self.classifier(x)  # [N, sum(head_sizes), H + pad_h, W + pad_w]
        return logits[..., :height, :width]
