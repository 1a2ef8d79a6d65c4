"""The Progressive GAN generator (Karras et al., ICLR 2018, arXiv:1710.10196, table 2).

Blocks are named like gandissect's converted ProgGAN generators, so that ``layer4`` means the same
featuremap here and in a ``.pth`` file: ``layer1`` maps the pixel-normalised latent ``z`` to 4x4
with a 4x4 conv (padding 3), ``layer2`` is a 3x3 conv, and every later resolution r has
``layer{2k-3}`` (nearest 2x upsample + 3x3 conv) and ``layer{2k-2}`` (3x3 conv), k = log2(r).
Each trunk block applies pixel norm to its input, an equalised-lr conv, a bias and LeakyReLU(0.2);
its output (what a forward hook on ``layerN`` sees) is the post-activation featuremap. The to-RGB
block ``output_{r}x{r}`` pixel-normalises its input (as Karras' generator normalises every conv
output, and as gandissect's ``OutputConvBlock`` does) and applies a 1x1 equalised conv with gain 1
and a bias, with no activation.

During a transition to resolution r the image is ``lerp(up2(toRGB_{r/2}(h_{r/2})), toRGB_r(h_r),
alpha)`` (section 3 and figure 2 of the paper), with nearest-neighbour upsampling ``up2``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganlens.models.architecture import resolution_log2, resolve_channels
from ganlens.models.layers import ChannelBias, EqualizedConv2d, PixelNorm

__all__ = ["GeneratorBlock", "ProgressiveGenerator", "ToRGB"]

RgbOutputs = Literal["all", "final"]


class GeneratorBlock(nn.Module):
    """One trunk conv: pixel norm, optional nearest 2x upsample, conv, bias, LeakyReLU(0.2).

    Args:
        in_channels: Input channels.
        out_channels: Output channels.
        kernel_size: Square kernel size.
        padding: Zero padding.
        upsample: Whether to double the resolution before the conv.

    Example:
        >>> _ = torch.manual_seed(0)
        >>> GeneratorBlock(4, 2, upsample=True)(torch.randn(1, 4, 4, 4)).shape
        torch.Size([1, 2, 8, 8])
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 3,
        padding: int = 1,
        upsample: bool = False,
    ) -> None:
        """Build the module; the class docstring describes the arguments."""
        super().__init__()
        self.upsample = upsample
        self.norm = PixelNorm()
        self.conv = EqualizedConv2d(in_channels, out_channels, kernel_size, padding, bias=False)
        self.wscale = ChannelBias(out_channels)

    def forward(self, x: Tensor) -> Tensor:
        """Map ``[N, in, H, W]`` to ``[N, out, H', W']`` (H' = 2H with upsampling)."""
        x = self.norm(x)
        if self.upsample:
            x = F.interpolate(x, scale_factor=2.0, mode="nearest")
        return F.leaky_relu(self.wscale(self.conv(x)), 0.2)


class ToRGB(nn.Module):
    """To-RGB block: pixel norm, 1x1 equalised conv with gain 1, bias; no activation.

    Args:
        in_channels: Feature channels C.
        image_channels: Output channels (3 for RGB).

    Example:
        >>> _ = torch.manual_seed(0)
        >>> ToRGB(8)(torch.randn(2, 8, 4, 4)).shape
        torch.Size([2, 3, 4, 4])
    """

    def __init__(self, in_channels: int, image_channels: int = 3) -> None:
        """Build the module; the class docstring describes the arguments."""
        super().__init__()
        self.norm = PixelNorm()
        self.conv = EqualizedConv2d(in_channels, image_channels, 1, gain=1.0, bias=False)
        self.wscale = ChannelBias(image_channels)

    def forward(self, x: Tensor) -> Tensor:
        """Map features ``[N, C, H, W]`` to an image ``[N, image_channels, H, W]``."""
        out: Tensor = self.wscale(self.conv(self.norm(x)))
        return out


class ProgressiveGenerator(nn.Module):
    """Progressive GAN generator with gandissect-compatible block names.

    Trunk blocks ``layer1 .. layer{2*log2(R)-2}``, to-RGB blocks ``output_{r}x{r}``. Calling it
    with only ``z`` renders at the current stage (by default RxR with alpha 1), so it behaves as an
    ordinary generator for hooks and dissection.

    Args:
        resolution: Maximum resolution R, a power of two in 16..1024.
        latent_size: Size Z of the latent vector.
        channels: Channels per resolution 4, 8, ..., R (``log2(R) - 1`` entries); by default
            :func:`~ganlens.models.architecture.progressive_channels` of
            ``fmap_base`` and ``fmap_max``.
        fmap_base: Channel schedule numerator (ignored when ``channels`` is given).
        fmap_max: Channel cap (ignored when ``channels`` is given).
        rgb_outputs: ``"all"`` holds a to-RGB block per resolution (for progressive training);
            ``"final"`` holds only ``output_RxR``, exactly the parameters of a gandissect file.
        image_channels: Channels of the output image.

    Raises:
        ValueError: On an unsupported resolution, a channel list of the wrong length or with
            non-positive entries, a non-positive size, or an unknown ``rgb_outputs``.

    Example:
        >>> _ = torch.manual_seed(0)
        >>> g = ProgressiveGenerator(resolution=16, latent_size=8, fmap_base=64, fmap_max=16)
        >>> g.channels, g.layer_names[-1]
        ((16, 16, 8), 'layer6')
        >>> z = torch.randn(2, 8)
        >>> g(z).shape
        torch.Size([2, 3, 16, 16])
        >>> g(z, resolution=8, alpha=0.5).shape
        torch.Size([2, 3, 8, 8])
    """

    def __init__(
        self,
        resolution: int = 256,
        latent_size: int = 512,
        channels: Sequence[int] | None = None,
        fmap_base: int = 8192,
        fmap_max: int = 512,
        rgb_outputs: RgbOutputs = "all",
        image_channels: int = 3,
    ) -> None:
        """Build the module; the class docstring describes the arguments."""
        super().__init__()
        log2 = resolution_log2(resolution)
        channels = resolve_channels(resolution, channels, fmap_base, fmap_max)
        if latent_size < 1 or image_channels < 1:
            raise ValueError(
                f"latent_size and image_channels must be >= 1, got {latent_size}, {image_channels}"
            )
        if rgb_outputs not in ("all", "final"):
            raise ValueError(f"rgb_outputs must be 'all' or 'final', got {rgb_outputs!r}")
        self.resolution = resolution
        self.latent_size = latent_size
        self.channels: tuple[int, ...] = channels
        self.rgb_outputs: RgbOutputs = rgb_outputs
        self.image_channels = image_channels
        self.resolutions: tuple[int, ...] = tuple(2**k for k in range(2, log2 + 1))
        self.layer_names: tuple[str, ...] = tuple(f"layer{i}" for i in range(1, 2 * log2 - 1))

        self.add_module("layer1", GeneratorBlock(latent_size, channels[0], 4, padding=3))
        self.add_module("layer2", GeneratorBlock(channels[0], channels[0]))
        for level in range(1, len(channels)):
            c_in, c_out = channels[level - 1], channels[level]
            self.add_module(f"layer{2 * level + 1}", GeneratorBlock(c_in, c_out, upsample=True))
            self.add_module(f"layer{2 * level + 2}", GeneratorBlock(c_out, c_out))
        for level, r in enumerate(self.resolutions):
            if rgb_outputs == "all" or r == resolution:
                self.add_module(f"output_{r}x{r}", ToRGB(channels[level], image_channels))
        self._current_resolution = resolution
        self._alpha = 1.0

    @property
    def current_resolution(self) -> int:
        """Resolution rendered when ``forward`` gets no ``resolution`` (see :meth:`set_stage`)."""
        return self._current_resolution

    @property
    def alpha(self) -> float:
        """Fade-in weight used when ``forward`` gets no ``alpha`` (see :meth:`set_stage`)."""
        return self._alpha

    def set_stage(self, resolution: int, alpha: float = 1.0) -> None:
        """Set the default resolution and fade-in weight of :meth:`forward`.

        Args:
            resolution: One of :attr:`resolutions`.
            alpha: Weight of the newest resolution in [0, 1].

        Raises:
            ValueError: If the stage cannot be rendered (see :meth:`forward`).

        Example:
            >>> g = ProgressiveGenerator(resolution=16, latent_size=4, fmap_base=16, fmap_max=4)
            >>> g.set_stage(8, alpha=0.25)
            >>> g(torch.zeros(1, 4)).shape, g.alpha
            (torch.Size([1, 3, 8, 8]), 0.25)
        """
        self._check_stage(resolution, alpha)
        self._current_resolution = resolution
        self._alpha = float(alpha)

    def to_rgb(self, resolution: int) -> ToRGB:
        """Return the to-RGB block ``output_{resolution}x{resolution}``.

        Args:
            resolution: One of :attr:`resolutions`.

        Returns:
            The block.

        Raises:
            ValueError: If this generator holds no to-RGB block for ``resolution``.

        Example:
            >>> g = ProgressiveGenerator(resolution=16, latent_size=4, rgb_outputs="final")
            >>> type(g.to_rgb(16)).__name__
            'ToRGB'
        """
        name = f"output_{resolution}x{resolution}"
        block = self._modules.get(name)
        if not isinstance(block, ToRGB):
            available = [n for n in self._modules if n.startswith("output_")]
            raise ValueError(
                f"no to-RGB block {name!r} (rgb_outputs={self.rgb_outputs!r}); "
                f"available: {available}"
            )
        return block

    def _check_stage(self, resolution: int, alpha: float) -> None:
        if resolution not in self.resolutions:
            raise ValueError(
                f"resolution must be one of {list(self.resolutions)}, got {resolution}"
            )
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"alpha must be in [0, 1], got {alpha}")
        self.to_rgb(resolution)
        if alpha < 1.0 and resolution > 4:
            self.to_rgb(resolution // 2)

    def forward(
        self, z: Tensor, resolution: int | None = None, alpha: float | None = None
    ) -> Tensor:
        """Render images from latents.

        Args:
            z: Latents ``[N, Z]`` (or ``[N, Z, 1, 1]``); pixel-normalised by ``layer1``.
            resolution: Output resolution r, one of :attr:`resolutions`; default
                :attr:`current_resolution`.
            alpha: Fade-in weight of resolution r in [0, 1]; default :attr:`alpha`. Ignored at
                4x4. At 1 only the newest path runs.

        Returns:
            Images ``[N, image_channels, r, r]``, unbounded (no tanh).

        Raises:
            ValueError: On a latent of the wrong shape, or a resolution or alpha that this
                generator cannot render (e.g. below R with ``rgb_outputs="final"``).
        """
        resolution = self._current_resolution if resolution is None else resolution
        alpha = self._alpha if alpha is None else alpha
        self._check_stage(resolution, alpha)
        if z.shape[1:] not in ((self.latent_size,), (self.latent_size, 1, 1)):
            raise ValueError(
                f"z must have shape [N, {self.latent_size}] or [N, {self.latent_size}, 1, 1], "
                f"got {list(z.shape)}"
            )
        z = z.reshape(z.shape[0], self.latent_size, 1, 1)  # [N, Z, 1, 1]
        n_layers = 2 * int(math.log2(resolution)) - 2
        fade = resolution > 4 and alpha < 1.0
        x, previous = z, z
        for index, name in enumerate(self.layer_names[:n_layers], start=1):
            if index == n_layers - 1:
                previous = x  # [N, C_{r/2}, r/2, r/2]
            x = self.get_submodule(name)(x)
        image: Tensor = self.to_rgb(resolution)(x)  # [N, image_channels, r, r]
        if fade:
            old = self.to_rgb(resolution // 2)(previous)
            image = torch.lerp(F.interpolate(old, scale_factor=2.0, mode="nearest"), image, alpha)
        return image
