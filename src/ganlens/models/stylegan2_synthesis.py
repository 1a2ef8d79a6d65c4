"""Synthesis network of ganlens' StyleGAN2 generator, in NVlabs' layout (``synthesis.b{R}``).

Karras et al., "Analyzing and Improving the Image Quality of StyleGAN", CVPR 2020,
arXiv:1912.04958, figure 2d and section 2.2 (modulated/demodulated 3x3 convolutions, equations
1-3, per-pixel noise with a learned strength, bias and leaky ReLU), figure 7 and section 4.1
(``skip``, ``resnet`` and ``orig`` output architectures), appendix B (upsampling with the
``[1, 3, 3, 1]`` filter); ``conv_clamp`` and float16 resolutions as in ADA (Karras et al.,
NeurIPS 2020, arXiv:2006.06676, mixed precision). Names of modules, parameters and buffers equal
NVlabs' ``SynthesisNetwork`` / ``SynthesisBlock`` / ``SynthesisLayer`` / ``ToRGBLayer`` /
``Conv2dLayer``; see :mod:`ganlens.models.stylegan2` for the generator and the deviations.

(Over 300 lines: the five modules of one block layout, each with its example.)
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch
from torch import Tensor, nn

from ganlens.models.style_layers import (
    LRELU_GAIN,
    bias_act,
    conv2d_resampled,
    fir_filter,
    modulated_conv2d,
    upsample2d,
)
from ganlens.models.style_mapping import FullyConnected

__all__ = [
    "ARCHITECTURES",
    "SkipConv",
    "SynthesisBlock",
    "SynthesisLayer",
    "SynthesisNetwork",
    "ToRGBLayer",
    "log2_resolution",
]

ARCHITECTURES = ("orig", "skip", "resnet")
RESAMPLE_TAPS = (1.0, 3.0, 3.0, 1.0)


def log2_resolution(resolution: int) -> int:
    """``log2(resolution)`` of a power of two >= 4.

    Args:
        resolution: The resolution.

    Returns:
        Its base-2 logarithm.

    Raises:
        ValueError: If ``resolution`` is not a power of two >= 4.

    Example:
        >>> log2_resolution(64)
        6
    """
    if resolution < 4 or resolution & (resolution - 1):
        raise ValueError(f"resolution must be a power of two >= 4, got {resolution}")
    return resolution.bit_length() - 1


class SynthesisLayer(nn.Module):
    """Modulated 3x3 convolution + constant noise + bias + leaky ReLU (NVlabs ``SynthesisLayer``).

    Args:
        in_channels: Input channels.
        out_channels: Output channels.
        w_dim: Size of ``w``.
        resolution: Output resolution.
        up: 2 to upsample (``conv0``), else 1.
        use_noise: Hold ``noise_const`` and ``noise_strength``.
        conv_clamp: Clamp of the output, None = none.
        kernel_size: Convolution kernel size.

    Example:
        >>> _ = torch.manual_seed(0)
        >>> conv0 = SynthesisLayer(4, 6, w_dim=5, resolution=8, up=2)
        >>> conv0(torch.randn(2, 4, 4, 4), torch.randn(2, 5)).shape
        torch.Size([2, 6, 8, 8])
    """

    resample_filter: Tensor
    noise_const: Tensor

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        w_dim: int,
        resolution: int,
        up: int = 1,
        use_noise: bool = True,
        conv_clamp: float | None = None,
        kernel_size: int = 3,
    ) -> None:
        super().__init__()
        self.resolution, self.up, self.use_noise, self.conv_clamp = (
            resolution,
            up,
            use_noise,
            conv_clamp,
        )
        self.padding = kernel_size // 2
        self.register_buffer("resample_filter", fir_filter(RESAMPLE_TAPS))
        self.affine = FullyConnected(w_dim, in_channels, bias_init=1.0)
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        if use_noise:
            self.register_buffer("noise_const", torch.randn(resolution, resolution))
            self.noise_strength = nn.Parameter(torch.zeros([]))
        self.bias = nn.Parameter(torch.zeros(out_channels))

    def forward(self, x: Tensor, w: Tensor, gain: float = 1.0) -> Tensor:
        """``[N, I, R/up, R/up]``, ``w`` ``[N, w_dim]`` -> ``[N, O, R, R]``."""
        styles = self.affine(w)  # [N, I]
        x = modulated_conv2d(
            x, self.weight, styles, up=self.up, padding=self.padding, f=self.resample_filter
        )
        if self.use_noise:
            x = x + (self.noise_const * self.noise_strength).to(x.dtype)
        clamp = None if self.conv_clamp is None else self.conv_clamp * gain
        return bias_act(x, self.bias, "lrelu", LRELU_GAIN * gain, clamp)


class ToRGBLayer(nn.Module):
    """Modulated 1x1 convolution to image channels, no demodulation (NVlabs ``ToRGBLayer``).

    Args:
        in_channels: Input channels.
        out_channels: Image channels.
        w_dim: Size of ``w``.
        conv_clamp: Clamp of the output, None = none.

    Example:
        >>> _ = torch.manual_seed(0)
        >>> ToRGBLayer(4, 3, w_dim=5)(torch.randn(2, 4, 8, 8), torch.randn(2, 5)).shape
        torch.Size([2, 3, 8, 8])
    """

    def __init__(
        self, in_channels: int, out_channels: int, w_dim: int, conv_clamp: float | None = None
    ) -> None:
        super().__init__()
        self.conv_clamp = conv_clamp
        self.affine = FullyConnected(w_dim, in_channels, bias_init=1.0)
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, 1, 1))
        self.bias = nn.Parameter(torch.zeros(out_channels))
        self.weight_gain = 1 / math.sqrt(in_channels)

    def forward(self, x: Tensor, w: Tensor) -> Tensor:
        """``[N, C, R, R]``, ``[N, w_dim]`` -> ``[N, img_channels, R, R]``."""
        x = modulated_conv2d(x, self.weight, self.affine(w) * self.weight_gain, demodulate=False)
        return bias_act(x, self.bias, clamp=self.conv_clamp)


class SkipConv(nn.Module):
    """Upsampling 1x1 convolution of a ``resnet`` block's shortcut (NVlabs ``Conv2dLayer``).

    Args:
        in_channels: Input channels.
        out_channels: Output channels.

    Example:
        >>> _ = torch.manual_seed(0)
        >>> SkipConv(4, 6)(torch.randn(1, 4, 4, 4)).shape
        torch.Size([1, 6, 8, 8])
    """

    resample_filter: Tensor

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.register_buffer("resample_filter", fir_filter(RESAMPLE_TAPS))
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, 1, 1))
        self.weight_gain = 1 / math.sqrt(in_channels)

    def forward(self, x: Tensor, gain: float = 1.0) -> Tensor:
        """``[N, I, R/2, R/2] -> [N, O, R, R]``, times ``gain``."""
        x = conv2d_resampled(x, self.weight * self.weight_gain, up=2, f=self.resample_filter)
        return x * gain


class SynthesisBlock(nn.Module):
    """One resolution: ``const`` (4x4) or ``conv0``, then ``conv1``, ``torgb``, ``skip``.

    Args:
        in_channels: Input channels, 0 for the first (4x4) block.
        out_channels: Channels of the block.
        w_dim: Size of ``w``.
        resolution: Resolution ``R`` of the block.
        img_channels: Image channels.
        is_last: Whether this is the block at the output resolution.
        architecture: ``"skip"``, ``"resnet"`` or ``"orig"``.
        conv_clamp: Clamp of the convolutions, None = none.
        use_fp16: Whether the block runs in float16 when the generator's ``fp16`` is on (CUDA).
        use_noise: Whether the layers add noise.

    Example:
        >>> _ = torch.manual_seed(0)
        >>> b8 = SynthesisBlock(4, 6, w_dim=5, resolution=8, img_channels=3, is_last=True)
        >>> x, img = b8(torch.randn(2, 4, 4, 4), torch.randn(2, 3, 4, 4), torch.randn(2, 3, 5))
        >>> x.shape, img.shape
        (torch.Size([2, 6, 8, 8]), torch.Size([2, 3, 8, 8]))
    """

    resample_filter: Tensor

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        w_dim: int,
        resolution: int,
        img_channels: int,
        is_last: bool,
        architecture: str = "skip",
        conv_clamp: float | None = None,
        use_fp16: bool = False,
        use_noise: bool = True,
    ) -> None:
        super().__init__()
        self.in_channels, self.resolution, self.architecture = in_channels, resolution, architecture
        self.use_fp16 = use_fp16
        self.register_buffer("resample_filter", fir_filter(RESAMPLE_TAPS))
        layer_kw: dict[str, object] = dict(
            w_dim=w_dim, resolution=resolution, conv_clamp=conv_clamp, use_noise=use_noise
        )
        if in_channels == 0:
            self.const = nn.Parameter(torch.randn(out_channels, resolution, resolution))
        else:
            self.conv0 = SynthesisLayer(in_channels, out_channels, up=2, **layer_kw)  # type: ignore[arg-type]
        self.conv1 = SynthesisLayer(out_channels, out_channels, **layer_kw)  # type: ignore[arg-type]
        self.has_torgb = is_last or architecture == "skip"
        if self.has_torgb:
            self.torgb = ToRGBLayer(out_channels, img_channels, w_dim, conv_clamp)
        if in_channels != 0 and architecture == "resnet":
            self.skip = SkipConv(in_channels, out_channels)
        self.num_conv = 1 if in_channels == 0 else 2
        self.num_torgb = int(self.has_torgb)

    def forward(
        self, x: Tensor | None, img: Tensor | None, ws: Tensor, fp16: bool = False
    ) -> tuple[Tensor, Tensor | None]:
        """``ws`` ``[N, num_conv + num_torgb, w_dim]`` -> ``(featuremap, image so far)``."""
        dtype = (
            torch.float16 if fp16 and self.use_fp16 and ws.device.type == "cuda" else torch.float32
        )
        w = iter(ws.unbind(dim=1))
        if x is None:  # the 4x4 block
            x = self.const.to(dtype).unsqueeze(0).repeat(ws.shape[0], 1, 1, 1)  # [N, C, 4, 4]
            x = self.conv1(x, next(w))
        elif self.architecture == "resnet":
            x = x.to(dtype)
            shortcut = self.skip(x, gain=math.sqrt(0.5))
            x = self.conv0(x, next(w))
            x = shortcut + self.conv1(x, next(w), gain=math.sqrt(0.5))
        else:
            x = self.conv1(self.conv0(x.to(dtype), next(w)), next(w))
        if img is not None:
            img = upsample2d(img, self.resample_filter)
        if self.has_torgb:
            y = self.torgb(x, next(w)).to(torch.float32)
            img = y if img is None else img + y
        return x, img


class SynthesisNetwork(nn.Module):
    """Blocks ``b4 .. b{R}`` turning ``ws`` ``[N, num_ws, w_dim]`` into the image.

    Args:
        w_dim: Size of ``w``.
        img_resolution: Output resolution.
        img_channels: Image channels.
        channels: Channels per block resolution (see :func:`stylegan2_channels`).
        architecture: ``"skip"``, ``"resnet"`` or ``"orig"``.
        conv_clamp: Clamp of the convolutions, None = none.
        num_fp16_res: Number of highest resolutions (at least 8x8) marked for float16.
        use_noise: Whether the layers add noise.

    Example:
        >>> _ = torch.manual_seed(0)
        >>> net = SynthesisNetwork(w_dim=5, img_resolution=8, img_channels=3, channels={4: 6, 8: 4})
        >>> net.num_ws, net(torch.randn(2, net.num_ws, 5)).shape
        (4, torch.Size([2, 3, 8, 8]))
    """

    def __init__(
        self,
        w_dim: int,
        img_resolution: int,
        img_channels: int,
        channels: Mapping[int, int],
        architecture: str = "skip",
        conv_clamp: float | None = None,
        num_fp16_res: int = 0,
        use_noise: bool = True,
    ) -> None:
        super().__init__()
        log2 = log2_resolution(img_resolution)
        self.block_resolutions = [2**k for k in range(2, log2 + 1)]
        fp16_resolution = max(2 ** (log2 + 1 - num_fp16_res), 8)
        self.num_ws = 0
        for res in self.block_resolutions:
            block = SynthesisBlock(
                channels[res // 2] if res > 4 else 0,
                channels[res],
                w_dim,
                res,
                img_channels,
                is_last=res == img_resolution,
                architecture=architecture,
                conv_clamp=conv_clamp,
                use_fp16=res >= fp16_resolution,
                use_noise=use_noise,
            )
            self.num_ws += block.num_conv + (block.num_torgb if res == img_resolution else 0)
            self.add_module(f"b{res}", block)

    def forward(self, ws: Tensor, fp16: bool = False) -> Tensor:
        """``[N, num_ws, w_dim] -> [N, img_channels, R, R]`` float32."""
        x: Tensor | None = None
        img: Tensor | None = None
        index = 0
        for res in self.block_resolutions:
            block: SynthesisBlock = getattr(self, f"b{res}")
            x, img = block(x, img, ws.narrow(1, index, block.num_conv + block.num_torgb), fp16)
            index += block.num_conv
        assert img is not None
        return img
