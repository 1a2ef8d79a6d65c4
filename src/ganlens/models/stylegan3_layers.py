"""Layers of ganlens' StyleGAN3 generator: Fourier-feature input and alias-free layers.

Karras et al., "Alias-Free Generative Adversarial Networks", NeurIPS 2021, arXiv:2106.12423.
:class:`SynthesisInput` is the Fourier-feature input of section 3.2 (frequencies
faded out above the bandwidth, rotated and translated by ``affine(w)``); :class:`SynthesisLayer3`
the modulated convolution (StyleGAN2 equations 1-3, input scaled by the tracked magnitude) and
the filtered leaky ReLU of section 3.2 / figure 4 (upsample, nonlinearity, low-pass and decimate)
with the symmetric padding of appendix C.3. Names of parameters and buffers equal NVlabs'
``SynthesisInput`` / ``SynthesisLayer``; see :mod:`ganlens.models.stylegan3` for the deviations.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from ganlens.models.style_layers import LRELU_GAIN, bias_act, modulated_conv2d, upfirdn2d
from ganlens.models.style_mapping import FullyConnected
from ganlens.models.stylegan3_filters import lowpass_filter

__all__ = ["SynthesisInput", "SynthesisLayer3"]


class SynthesisInput(nn.Module):
    """Fourier-feature input ``[N, channels, size, size]`` (NVlabs ``SynthesisInput``).

    Args:
        w_dim: Size of ``w``.
        channels: Feature channels.
        size: Grid size in pixels.
        sampling_rate: Pixels per unit length (the image spans one unit).
        bandwidth: Largest frequency of the features.

    Example:
        >>> _ = torch.manual_seed(0)
        >>> SynthesisInput(w_dim=4, channels=6, size=12, sampling_rate=8, bandwidth=2)(
        ...     torch.randn(2, 4)).shape
        torch.Size([2, 6, 12, 12])
    """

    transform: Tensor
    freqs: Tensor
    phases: Tensor

    def __init__(
        self, w_dim: int, channels: int, size: int, sampling_rate: float, bandwidth: float
    ) -> None:
        super().__init__()
        self.channels, self.size = channels, size
        self.sampling_rate, self.bandwidth = float(sampling_rate), float(bandwidth)
        freqs = torch.randn(channels, 2)
        radii = freqs.square().sum(dim=1, keepdim=True).sqrt()
        freqs = freqs / (radii * radii.square().exp().pow(0.25)) * bandwidth
        self.weight = nn.Parameter(torch.randn(channels, channels))
        self.affine = FullyConnected(w_dim, 4, weight_init=0.0, bias_init=[1.0, 0.0, 0.0, 0.0])
        self.register_buffer("transform", torch.eye(3))  # user inverse transform of the image
        self.register_buffer("freqs", freqs)
        self.register_buffer("phases", torch.rand(channels) - 0.5)

    def forward(self, w: Tensor) -> Tensor:
        """``[N, w_dim] -> [N, channels, size, size]``."""
        t = self.affine(w)  # [N, 4]: rotation (cos, sin), translation (x, y)
        t = t / t[:, :2].norm(dim=1, keepdim=True)
        n = w.shape[0]
        rotate = torch.eye(3, device=w.device).repeat(n, 1, 1)  # [N, 3, 3]
        rotate[:, 0, 0], rotate[:, 0, 1], rotate[:, 1, 0], rotate[:, 1, 1] = (
            t[:, 0],
            -t[:, 1],
            t[:, 1],
            t[:, 0],
        )
        shift = torch.eye(3, device=w.device).repeat(n, 1, 1)
        shift[:, 0, 2], shift[:, 1, 2] = -t[:, 2], -t[:, 3]
        m = rotate @ shift @ self.transform  # [N, 3, 3]
        phases = self.phases + (self.freqs @ m[:, :2, 2:]).squeeze(2)  # [N, C]
        freqs = self.freqs @ m[:, :2, :2]  # [N, C, 2]
        fade = (freqs.norm(dim=2) - self.bandwidth) / (self.sampling_rate / 2 - self.bandwidth)
        amplitudes = (1 - fade).clamp(0, 1)  # [N, C]
        coords = (
            torch.arange(self.size, device=w.device) + 0.5 - self.size / 2
        ) / self.sampling_rate
        grid = torch.stack(torch.meshgrid(coords, coords, indexing="xy"), dim=-1)  # [H, W, (x, y)]
        x: Tensor = torch.einsum("hwk,nck->nhwc", grid, freqs)  # [N, H, W, C]
        x = x + phases[:, None, None, :]
        x = torch.sin(x * (2 * math.pi)) * amplitudes[:, None, None, :]
        x = x @ (self.weight / math.sqrt(self.channels)).t()
        return x.permute(0, 3, 1, 2).contiguous()  # [N, C, H, W]


class SynthesisLayer3(nn.Module):
    """Modulated conv + filtered leaky ReLU of StyleGAN3 (NVlabs ``SynthesisLayer``).

    Args:
        w_dim: Size of ``w``.
        is_torgb: Whether this is the final 1x1 to-RGB layer (no demodulation, linear).
        is_critically_sampled: Whether the layer is critically sampled (no radial filter).
        use_fp16: Whether the layer may run in float16 (CUDA, generator's ``fp16``).
        in_channels: Input channels.
        out_channels: Output channels.
        in_size: Input size in pixels.
        out_size: Output size in pixels.
        in_sampling_rate: Input sampling rate.
        out_sampling_rate: Output sampling rate.
        in_cutoff: Input cutoff ``f_c``.
        out_cutoff: Output cutoff.
        in_half_width: Input transition half-width ``f_h``.
        out_half_width: Output transition half-width.
        conv_kernel: Kernel size (ignored for to-RGB: 1).
        filter_size: Filter taps per unit of the lower rate.
        lrelu_upsampling: Oversampling of the nonlinearity (1 for to-RGB).
        use_radial_filters: Radial downsampling filter (config R) unless critically sampled.
        conv_clamp: Clamp bound, None = none.
        magnitude_ema_beta: Decay of the input magnitude average (training only; kept for files).
        design_filters: Design the filters now; False leaves zeros to be loaded from a file.

    Example:
        >>> _ = torch.manual_seed(0)
        >>> layer = SynthesisLayer3(4, False, False, False, in_channels=6, out_channels=5,
        ...     in_size=12, out_size=12, in_sampling_rate=8, out_sampling_rate=8, in_cutoff=2,
        ...     out_cutoff=2, in_half_width=2, out_half_width=2)
        >>> layer.up_factor, layer.up_filter.shape, layer(torch.randn(2, 6, 12, 12),
        ...                                                torch.randn(2, 4)).shape
        (2, torch.Size([12]), torch.Size([2, 5, 12, 12]))
    """

    magnitude_ema: Tensor
    up_filter: Tensor | None
    down_filter: Tensor | None

    def __init__(
        self,
        w_dim: int,
        is_torgb: bool,
        is_critically_sampled: bool,
        use_fp16: bool,
        in_channels: int,
        out_channels: int,
        in_size: int,
        out_size: int,
        in_sampling_rate: int,
        out_sampling_rate: int,
        in_cutoff: float,
        out_cutoff: float,
        in_half_width: float,
        out_half_width: float,
        conv_kernel: int = 3,
        filter_size: int = 6,
        lrelu_upsampling: int = 2,
        use_radial_filters: bool = False,
        conv_clamp: float | None = 256,
        magnitude_ema_beta: float = 0.999,
        design_filters: bool = True,
    ) -> None:
        super().__init__()
        self.is_torgb, self.use_fp16, self.conv_clamp = is_torgb, use_fp16, conv_clamp
        self.in_channels, self.out_size = in_channels, out_size
        self.out_sampling_rate, self.magnitude_ema_beta = out_sampling_rate, magnitude_ema_beta
        self.conv_kernel = 1 if is_torgb else conv_kernel
        tmp_rate = max(in_sampling_rate, out_sampling_rate) * (1 if is_torgb else lrelu_upsampling)
        self.up_factor = round(tmp_rate / in_sampling_rate)
        self.down_factor = round(tmp_rate / out_sampling_rate)
        up_taps = filter_size * self.up_factor if self.up_factor > 1 and not is_torgb else 1
        down_taps = filter_size * self.down_factor if self.down_factor > 1 and not is_torgb else 1
        radial = use_radial_filters and not is_critically_sampled
        self.affine = FullyConnected(w_dim, in_channels, bias_init=1.0)
        k = self.conv_kernel
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, k, k))
        self.bias = nn.Parameter(torch.zeros(out_channels))
        self.register_buffer("magnitude_ema", torch.ones([]))
        if design_filters:
            up = lowpass_filter(up_taps, in_cutoff, 2 * in_half_width, tmp_rate)
            down = lowpass_filter(down_taps, out_cutoff, 2 * out_half_width, tmp_rate, radial)
        else:
            up = torch.zeros(up_taps) if up_taps > 1 else None
            down = None if down_taps == 1 else torch.zeros([down_taps] * (2 if radial else 1))
        self.register_buffer("up_filter", up)
        self.register_buffer("down_filter", down)
        # Appendix C.3: pad so that the output samples sit symmetrically around the input ones.
        total = (out_size - 1) * self.down_factor + 1 - (in_size + k - 1) * self.up_factor
        total += up_taps + down_taps - 2
        lo = (total + self.up_factor) // 2
        self.padding = (lo, total - lo, lo, total - lo)

    def forward(self, x: Tensor, w: Tensor, fp16: bool = False) -> Tensor:
        """``[N, I, in_size, in_size]``, ``[N, w_dim]`` -> ``[N, O, out_size, out_size]``."""
        styles = self.affine(w)  # [N, I]
        weight: Tensor = self.weight
        if self.is_torgb:
            styles = styles / math.sqrt(self.in_channels * self.conv_kernel**2)
        else:  # pre-normalise (cancelled by demodulation up to eps), per sample
            weight = weight * weight.square().mean(dim=[1, 2, 3], keepdim=True).rsqrt()
            styles = styles * styles.square().mean(dim=1, keepdim=True).rsqrt()
        dtype = (
            torch.float16 if fp16 and self.use_fp16 and x.device.type == "cuda" else torch.float32
        )
        x = x * self.magnitude_ema.rsqrt()
        x = modulated_conv2d(
            x.to(dtype), weight, styles, demodulate=not self.is_torgb, padding=self.conv_kernel - 1
        )
        x = bias_act(x, self.bias)
        x = upfirdn2d(
            x, self.up_filter, up=self.up_factor, padding=self.padding, gain=self.up_factor**2
        )
        x = bias_act(
            x,
            None,
            "linear" if self.is_torgb else "lrelu",
            1.0 if self.is_torgb else LRELU_GAIN,
            self.conv_clamp,
        )
        return upfirdn2d(x, self.down_filter, down=self.down_factor)
