"""StyleGAN2 generator under rosinality's names (``rosinality/stylegan2-pytorch`` ``Generator``).

Karras et al., "Analyzing and Improving the Image Quality of StyleGAN", CVPR 2020,
arXiv:1912.04958: the same network as :mod:`ganlens.models.stylegan2` (``skip`` architecture,
figure 7; modulated convolutions, equations 1-3; ``[1, 3, 3, 1]`` upsampling, appendix B),
built from the same layers of :mod:`ganlens.models.style_layers`, arranged under the module,
parameter and buffer names of rosinality's port so that its ``g_ema`` state dict loads strictly:

* ``style.0`` normalises ``z`` (no parameters), ``style.1 .. style.{n_mlp}`` are the mapping
  layers (``EqualLinear`` with lr multiplier ``lr_mlp``);
* ``input.input`` ``[1, C4, 4, 4]`` is the constant; ``conv1`` (4x4) and ``convs.{k}`` (two per
  resolution 8..R, the even ones upsample) are ``StyledConv`` layers (``conv.weight``
  ``[1, O, I, 3, 3]``, ``conv.modulation``, ``conv.blur.kernel``, ``noise.weight``,
  ``activate.bias``); ``to_rgb1`` and ``to_rgbs.{j}`` the to-RGB layers (``upsample.kernel``);
* ``noises.noise_{i}`` ``[1, 1, r, r]`` are the stored noise inputs, used on every call (as
  rosinality's ``randomize_noise=False``).

Every ``conv1`` / ``convs.{k}`` returns a featuremap ``[N, C, r, r]`` aligned with the image.
Truncation is ``w' = latent_avg + psi * (w - latent_avg)``; files written by rosinality's
``convert_weight.py`` store ``latent_avg`` (the TF ``dlatent_avg``); for those without it (its
``train.py`` checkpoints) the average ``w`` of 4096 latents drawn with a generator seeded 0 is
computed on first use, as rosinality's ``mean_latent(4096)`` does with unseeded latents.
Deviation: psi > 1 extrapolates (rosinality ignores truncation >= 1).

(Over 300 lines: rosinality's many small named submodules live with the generator they form.)
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch
from torch import Tensor, nn

from ganlens.models.style_layers import (
    LRELU_GAIN,
    bias_act,
    fir_filter,
    layer_margin,
    modulated_conv2d,
    upsample2d,
)
from ganlens.models.style_mapping import FullyConnected, normalize_2nd_moment
from ganlens.models.stylegan2_synthesis import RESAMPLE_TAPS, log2_resolution

__all__ = ["RosinalityGenerator", "StyledConv", "ToRGB", "rosinality_channels"]

LATENT_AVG_SAMPLES = 4096


def rosinality_channels(size: int, channel_multiplier: int = 2) -> dict[int, int]:
    """Channels of rosinality's generator: 512 up to 32x32, then ``2**(14 - log2 r) * multiplier``.

    Args:
        size: Output resolution.
        channel_multiplier: Multiplier of the channels from 64x64 on.

    Returns:
        ``{4: 512, ..., size: c}``.

    Example:
        >>> rosinality_channels(128, channel_multiplier=1)
        {4: 512, 8: 512, 16: 512, 32: 512, 64: 256, 128: 128}
    """
    return {
        2**k: 512 if k <= 5 else 2 ** (14 - k) * channel_multiplier
        for k in range(2, log2_resolution(size) + 1)
    }


class _PixelNorm(nn.Module):
    """``style.0``: :func:`normalize_2nd_moment` of ``z``."""

    def forward(self, x: Tensor) -> Tensor:
        """``[N, D] -> [N, D]``."""
        return normalize_2nd_moment(x)


class _Constant(nn.Module):
    """``input``: the learned 4x4 constant ``input`` ``[1, C, 4, 4]``."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.input = nn.Parameter(torch.randn(1, channels, 4, 4))


class _Kernel(nn.Module):
    """``blur`` / ``upsample``: holds the filter ``kernel`` ``[4, 4]`` (gain 4 included)."""

    kernel: Tensor

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("kernel", fir_filter(RESAMPLE_TAPS) * 4)


class _ModulatedConv(nn.Module):
    """``conv``: ``weight`` ``[1, O, I, k, k]``, ``modulation``, ``blur`` when upsampling."""

    blur: _Kernel

    def __init__(
        self, in_ch: int, out_ch: int, kernel: int, style_dim: int, demodulate: bool, upsample: bool
    ) -> None:
        super().__init__()
        self.demodulate, self.up, self.padding = demodulate, 2 if upsample else 1, kernel // 2
        self.weight = nn.Parameter(torch.randn(1, out_ch, in_ch, kernel, kernel))
        self.modulation = FullyConnected(style_dim, in_ch, bias_init=1.0)
        self.weight_gain = 1 / math.sqrt(in_ch * kernel * kernel)
        if upsample:
            self.blur = _Kernel()

    def forward(self, x: Tensor, w: Tensor) -> Tensor:
        """``[N, I, r, r]``, ``[N, style_dim]`` -> ``[N, O, r * up, r * up]``."""
        f = self.blur.kernel if self.up > 1 else None
        return modulated_conv2d(
            x,
            self.weight[0],
            self.modulation(w),
            self.demodulate,
            self.weight_gain,
            self.up,
            self.padding,
            f,
            filter_gain=1.0,
        )


class _NoiseWeight(nn.Module):
    """``noise``: the noise strength ``weight`` ``[1]``."""

    def __init__(self) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(1))


class _Bias(nn.Module):
    """``activate``: the bias ``bias`` ``[C]`` of the leaky ReLU."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(channels))


class StyledConv(nn.Module):
    """rosinality's ``StyledConv``: modulated 3x3 conv, noise, bias, leaky ReLU (gain sqrt 2).

    Args:
        in_ch: Input channels.
        out_ch: Output channels.
        style_dim: Size of ``w``.
        upsample: Whether the convolution doubles the resolution.

    Example:
        >>> _ = torch.manual_seed(0)
        >>> conv = StyledConv(4, 6, style_dim=5, upsample=True)
        >>> conv(torch.randn(2, 4, 4, 4), torch.randn(2, 5), torch.randn(1, 1, 8, 8)).shape
        torch.Size([2, 6, 8, 8])
    """

    def __init__(self, in_ch: int, out_ch: int, style_dim: int, upsample: bool = False) -> None:
        super().__init__()
        self.conv = _ModulatedConv(in_ch, out_ch, 3, style_dim, True, upsample)
        self.noise = _NoiseWeight()
        self.activate = _Bias(out_ch)

    def forward(self, x: Tensor, w: Tensor, noise: Tensor) -> Tensor:
        """``[N, I, r, r]``, ``[N, style_dim]``, ``[1, 1, R, R]`` -> ``[N, O, R, R]``."""
        x = self.conv(x, w) + self.noise.weight * noise
        return bias_act(x, self.activate.bias, "lrelu", LRELU_GAIN)


class ToRGB(nn.Module):
    """rosinality's ``ToRGB``: modulated 1x1 conv to RGB, bias, plus the upsampled skip image.

    Args:
        in_ch: Input channels.
        style_dim: Size of ``w``.
        upsample: Whether a lower-resolution image is upsampled and added.

    Example:
        >>> _ = torch.manual_seed(0)
        >>> rgb = ToRGB(4, style_dim=5)
        >>> rgb(torch.randn(2, 4, 8, 8), torch.randn(2, 5), torch.zeros(2, 3, 4, 4)).shape
        torch.Size([2, 3, 8, 8])
    """

    upsample: _Kernel

    def __init__(self, in_ch: int, style_dim: int, upsample: bool = True) -> None:
        super().__init__()
        if upsample:
            self.upsample = _Kernel()
        self.conv = _ModulatedConv(in_ch, 3, 1, style_dim, False, False)
        self.bias = nn.Parameter(torch.zeros(1, 3, 1, 1))

    def forward(self, x: Tensor, w: Tensor, skip: Tensor | None = None) -> Tensor:
        """``[N, C, r, r]``, ``[N, style_dim]``, image ``[N, 3, r/2, r/2]`` -> ``[N, 3, r, r]``."""
        out: Tensor = self.conv(x, w) + self.bias
        return out if skip is None else out + upsample2d(skip, self.upsample.kernel, gain=1.0)


class RosinalityGenerator(nn.Module):
    """StyleGAN2 generator ``z -> image`` under rosinality's module names.

    Args:
        size: Output resolution.
        style_dim: Size of ``z`` and ``w`` (``latent_size``).
        n_mlp: Mapping layers.
        channel_multiplier: See :func:`rosinality_channels`.
        lr_mlp: Learning-rate multiplier of the mapping layers.
        channels: Channels per resolution overriding :func:`rosinality_channels`.
        truncation: Truncation psi of ``forward``.

    Example:
        >>> _ = torch.manual_seed(0)
        >>> g = RosinalityGenerator(16, style_dim=8, n_mlp=2, channels={4: 8, 8: 8, 16: 4})
        >>> g(torch.randn(2, 8)).shape, g.featuremap_layers[:2]
        (torch.Size([2, 3, 16, 16]), ('conv1', 'convs.0'))
    """

    latent_avg: Tensor

    def __init__(
        self,
        size: int,
        style_dim: int = 512,
        n_mlp: int = 8,
        channel_multiplier: int = 2,
        lr_mlp: float = 0.01,
        channels: Mapping[int, int] | None = None,
        truncation: float = 1.0,
    ) -> None:
        super().__init__()
        ch = (
            dict(channels)
            if channels is not None
            else rosinality_channels(size, channel_multiplier)
        )
        log2 = log2_resolution(size)
        self.size = self.resolution = size
        self.style_dim = self.latent_size = style_dim
        self.truncation = float(truncation)
        self.style = nn.Sequential(
            _PixelNorm(),
            *(FullyConnected(style_dim, style_dim, "lrelu", lr_mlp) for _ in range(n_mlp)),
        )
        self.input = _Constant(ch[4])
        self.conv1 = StyledConv(ch[4], ch[4], style_dim)
        self.to_rgb1 = ToRGB(ch[4], style_dim, upsample=False)
        self.convs, self.upsamples, self.to_rgbs = nn.ModuleList(), nn.ModuleList(), nn.ModuleList()
        self.noises = nn.Module()
        self.num_layers = (log2 - 2) * 2 + 1
        for i in range(self.num_layers):
            r = 2 ** ((i + 5) // 2)
            self.noises.register_buffer(f"noise_{i}", torch.randn(1, 1, r, r))
        for k in range(3, log2 + 1):
            self.convs.append(StyledConv(ch[2 ** (k - 1)], ch[2**k], style_dim, upsample=True))
            self.convs.append(StyledConv(ch[2**k], ch[2**k], style_dim))
            self.to_rgbs.append(ToRGB(ch[2**k], style_dim))
        self.n_latent = log2 * 2 - 2
        self.register_buffer("latent_avg", torch.zeros(style_dim), persistent=False)
        self.latent_avg_source = "unknown"  # "file", "estimated" or "unknown" (estimated on use)
        self.featuremap_layers: tuple[str, ...] = (
            "conv1",
            *(f"convs.{k}" for k in range(len(self.convs))),
        )

    def set_latent_avg(self, latent_avg: Tensor) -> None:
        """Use ``latent_avg`` ``[style_dim]`` (the file's) as the truncation centre.

        Args:
            latent_avg: The average ``w``.

        Example:
            >>> _ = torch.manual_seed(0)
            >>> g = RosinalityGenerator(8, 4, 1, channels={4: 4, 8: 4})
            >>> g.set_latent_avg(torch.zeros(4)); g.latent_avg_source
            'file'
        """
        self.latent_avg.copy_(latent_avg.reshape(-1))
        self.latent_avg_source = "file"

    @torch.no_grad()
    def estimate_latent_avg(self, samples: int = LATENT_AVG_SAMPLES, seed: int = 0) -> Tensor:
        """Set and return the mean ``w`` of ``samples`` latents drawn with a seeded generator.

        Args:
            samples: Number of latents ``z``.
            seed: Seed of the ``torch.Generator`` drawing them (on the CPU).

        Returns:
            The new ``latent_avg`` ``[style_dim]``.

        Example:
            >>> _ = torch.manual_seed(0)
            >>> g = RosinalityGenerator(8, 4, 1, channels={4: 4, 8: 4})
            >>> torch.equal(g.estimate_latent_avg(256), g.estimate_latent_avg(256))
            True
        """
        z = torch.randn(samples, self.style_dim, generator=torch.Generator().manual_seed(seed))
        self.latent_avg.copy_(self.style(z.to(self.latent_avg.device)).mean(0))
        self.latent_avg_source = "estimated"
        return self.latent_avg

    def synthesis(self, ws: Tensor) -> Tensor:
        """``ws`` ``[N, n_latent, style_dim]`` -> images ``[N, 3, size, size]`` (stored noise)."""
        noise = [getattr(self.noises, f"noise_{i}") for i in range(self.num_layers)]
        x = self.input.input.repeat(ws.shape[0], 1, 1, 1)  # [N, C4, 4, 4]
        x = self.conv1(x, ws[:, 0], noise[0])
        img: Tensor = self.to_rgb1(x, ws[:, 1])
        for j, to_rgb in enumerate(self.to_rgbs):
            x = self.convs[2 * j](x, ws[:, 2 * j + 1], noise[2 * j + 1])
            x = self.convs[2 * j + 1](x, ws[:, 2 * j + 2], noise[2 * j + 2])
            img = to_rgb(x, ws[:, 2 * j + 3], img)
        return img

    def forward(self, z: Tensor, truncation: float | None = None) -> Tensor:
        """``[N, style_dim] -> [N, 3, size, size]``; ``truncation`` overrides the attribute."""
        psi = self.truncation if truncation is None else truncation
        w = self.style(z.to(torch.float32))  # [N, style_dim]
        if psi != 1:
            if self.latent_avg_source == "unknown":
                self.estimate_latent_avg()
            w = self.latent_avg.lerp(w, psi)
        return self.synthesis(w.unsqueeze(1).repeat(1, self.n_latent, 1))

    def featuremap_margin(self, layer: str) -> int:
        """Pixels to crop per side of ``layer``'s output to align it with the image: 0.

        Args:
            layer: One of :attr:`featuremap_layers` (``conv1``, ``convs.{k}``) or another
                submodule.

        Returns:
            0.

        Raises:
            ValueError: For a name that is no submodule; the message lists the featuremap layers.

        Example:
            >>> _ = torch.manual_seed(0)
            >>> RosinalityGenerator(8, 4, 1, channels={4: 4, 8: 4}).featuremap_margin("convs.1")
            0
        """
        return layer_margin(layer, dict.fromkeys(self.featuremap_layers, 0), self)
