"""The Progressive GAN discriminator (Karras et al., ICLR 2018, arXiv:1710.10196, table 2).

It mirrors :class:`~ganlens.models.generator.ProgressiveGenerator`: an image at resolution r enters
through ``from_rgb_{r}x{r}`` (1x1 conv + LeakyReLU), each resolution r >= 8 has ``block_{r}x{r}``
(3x3 conv ``C_r -> C_r``, 3x3 conv ``C_r -> C_{r/2}``, each with LeakyReLU(0.2), then 2x2 average
pooling), and ``head`` at 4x4 appends the minibatch standard deviation, applies a 3x3 conv, a dense
layer ``4*4*C_4 -> C_4`` and a dense layer ``C_4 -> 1`` with gain 1 and no activation (a WGAN
critic score). All convs and dense layers use the equalised learning rate; there is no pixel norm.

During a transition to resolution r the features entering the r/2 level are
``lerp(fromRGB_{r/2}(avgpool2(x)), block_r(fromRGB_r(x)), alpha)``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganlens.models.architecture import resolution_log2, resolve_channels
from ganlens.models.layers import EqualizedConv2d, EqualizedLinear, MinibatchStdDev

__all__ = ["DiscriminatorBlock", "DiscriminatorHead", "FromRGB", "ProgressiveDiscriminator"]


class FromRGB(nn.Module):
    """From-RGB block: 1x1 equalised conv with bias, then LeakyReLU(0.2).

    Args:
        image_channels: Input image channels.
        out_channels: Feature channels C.

    Example:
        >>> _ = torch.manual_seed(0)
        >>> FromRGB(3, 8)(torch.randn(2, 3, 4, 4)).shape
        torch.Size([2, 8, 4, 4])
    """

    def __init__(self, image_channels: int, out_channels: int) -> None:
        """Build the module; the class docstring describes the arguments."""
        super().__init__()
        self.conv = EqualizedConv2d(image_channels, out_channels, 1)

    def forward(self, x: Tensor) -> Tensor:
        """Map an image ``[N, image_channels, H, W]`` to features ``[N, C, H, W]``."""
        return F.leaky_relu(self.conv(x), 0.2)


class DiscriminatorBlock(nn.Module):
    """Two 3x3 equalised convs with LeakyReLU(0.2), then 2x2 average pooling.

    Args:
        in_channels: Input (and intermediate) channels.
        out_channels: Output channels.

    Example:
        >>> _ = torch.manual_seed(0)
        >>> DiscriminatorBlock(4, 8)(torch.randn(2, 4, 8, 8)).shape
        torch.Size([2, 8, 4, 4])
    """

    def __init__(self, in_channels: int, out_channels: int) -> None:
        """Build the module; the class docstring describes the arguments."""
        super().__init__()
        self.conv0 = EqualizedConv2d(in_channels, in_channels, 3, padding=1)
        self.conv1 = EqualizedConv2d(in_channels, out_channels, 3, padding=1)

    def forward(self, x: Tensor) -> Tensor:
        """Map ``[N, in, H, W]`` to ``[N, out, H/2, W/2]``."""
        x = F.leaky_relu(self.conv0(x), 0.2)
        x = F.leaky_relu(self.conv1(x), 0.2)
        return F.avg_pool2d(x, 2)


class DiscriminatorHead(nn.Module):
    """The 4x4 head: minibatch stddev, 3x3 conv, dense ``16*C -> C``, dense ``C -> 1``.

    Args:
        channels: Feature channels C at 4x4.
        mbstd_group_size: Group size of :class:`~ganlens.models.layers.MinibatchStdDev`.

    Example:
        >>> _ = torch.manual_seed(0)
        >>> DiscriminatorHead(8)(torch.randn(4, 8, 4, 4)).shape
        torch.Size([4, 1])
    """

    def __init__(self, channels: int, mbstd_group_size: int = 4) -> None:
        """Build the module; the class docstring describes the arguments."""
        super().__init__()
        self.mbstd = MinibatchStdDev(mbstd_group_size)
        self.conv = EqualizedConv2d(channels + 1, channels, 3, padding=1)
        self.dense0 = EqualizedLinear(channels * 4 * 4, channels)
        self.dense1 = EqualizedLinear(channels, 1, gain=1.0)

    def forward(self, x: Tensor) -> Tensor:
        """Map features ``[N, C, 4, 4]`` to scores ``[N, 1]``."""
        x = F.leaky_relu(self.conv(self.mbstd(x)), 0.2)  # [N, C, 4, 4]
        x = F.leaky_relu(self.dense0(x.flatten(1)), 0.2)  # [N, C]
        out: Tensor = self.dense1(x)
        return out


class ProgressiveDiscriminator(nn.Module):
    """Progressive GAN discriminator (critic) that scores images at any resolution 4..R.

    Args:
        resolution: Maximum resolution R, a power of two in 16..1024.
        channels: Channels per resolution 4, 8, ..., R (``log2(R) - 1`` entries); by default
            the generator's schedule :func:`~ganlens.models.architecture.progressive_channels`.
        fmap_base: Channel schedule numerator (ignored when ``channels`` is given).
        fmap_max: Channel cap (ignored when ``channels`` is given).
        image_channels: Channels of the input images.
        mbstd_group_size: Largest minibatch-stddev group (see
            :class:`~ganlens.models.layers.MinibatchStdDev`).

    Raises:
        ValueError: On an unsupported resolution, a channel list of the wrong length or with
            non-positive entries, or non-positive sizes.

    Example:
        >>> _ = torch.manual_seed(0)
        >>> d = ProgressiveDiscriminator(resolution=16, fmap_base=64, fmap_max=16)
        >>> d(torch.randn(2, 3, 16, 16)).shape
        torch.Size([2, 1])
        >>> d(torch.randn(2, 3, 8, 8), alpha=0.5).shape
        torch.Size([2, 1])
    """

    def __init__(
        self,
        resolution: int = 256,
        channels: Sequence[int] | None = None,
        fmap_base: int = 8192,
        fmap_max: int = 512,
        image_channels: int = 3,
        mbstd_group_size: int = 4,
    ) -> None:
        """Build the module; the class docstring describes the arguments."""
        super().__init__()
        log2 = resolution_log2(resolution)
        channels = resolve_channels(resolution, channels, fmap_base, fmap_max)
        if image_channels < 1:
            raise ValueError(f"image_channels must be >= 1, got {image_channels}")
        self.resolution = resolution
        self.channels: tuple[int, ...] = channels
        self.image_channels = image_channels
        self.resolutions: tuple[int, ...] = tuple(2**k for k in range(2, log2 + 1))
        for level in reversed(range(len(channels))):
            r = self.resolutions[level]
            self.add_module(f"from_rgb_{r}x{r}", FromRGB(image_channels, channels[level]))
            if level > 0:
                block = DiscriminatorBlock(channels[level], channels[level - 1])
                self.add_module(f"block_{r}x{r}", block)
        self.head = DiscriminatorHead(channels[0], mbstd_group_size)

    def forward(self, images: Tensor, alpha: float = 1.0) -> Tensor:
        """Score images.

        Args:
            images: ``[N, image_channels, r, r]`` with r one of :attr:`resolutions`.
            alpha: Fade-in weight of resolution r in [0, 1] (ignored at 4x4). At 1 only the newest
                path runs; at 0 the result equals scoring ``avg_pool2d(images, 2)`` at r/2.

        Returns:
            Critic scores ``[N, 1]`` (linear, unbounded).

        Raises:
            ValueError: On images of the wrong shape or an alpha outside [0, 1].
        """
        if images.dim() != 4 or images.shape[1] != self.image_channels:
            raise ValueError(
                f"images must have shape [N, {self.image_channels}, r, r], got {list(images.shape)}"
            )
        r = images.shape[-1]
        if images.shape[-2] != r or r not in self.resolutions:
            raise ValueError(
                f"images must be square with r in {list(self.resolutions)}, "
                f"got {list(images.shape)}"
            )
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"alpha must be in [0, 1], got {alpha}")
        x = self.get_submodule(f"from_rgb_{r}x{r}")(images)  # [N, C_r, r, r]
        if r > 4:
            x = self.get_submodule(f"block_{r}x{r}")(x)  # [N, C_{r/2}, r/2, r/2]
            if alpha < 1.0:
                half = r // 2
                old = self.get_submodule(f"from_rgb_{half}x{half}")(F.avg_pool2d(images, 2))
                x = torch.lerp(old, x, alpha)
            for level in reversed(range(1, self.resolutions.index(r))):
                s = self.resolutions[level]
                x = self.get_submodule(f"block_{s}x{s}")(x)
        out: Tensor = self.head(x)
        return out
