"""StyleGAN3 generator (configs T and R) in NVlabs' layout, pure PyTorch.

Karras et al., "Alias-Free Generative Adversarial Networks", NeurIPS 2021, arXiv:2106.12423:

* ``synthesis.input``: Fourier features (section 3.2) of frequencies ``freqs`` and
  phases ``phases``, rotated and translated by ``affine(w_0)`` and a user ``transform``, faded
  out above the bandwidth, mixed by a learned ``weight``, sampled on a grid of
  ``sampling_rate + 2 * margin_size`` pixels (the image covers the central ``sampling_rate``);
* ``synthesis.L{i}_{size}_{channels}``: modulated convolution (StyleGAN2 equations 1-3; 3x3 in
  config T, 1x1 in config R) scaled by the tracked input magnitude ``magnitude_ema``, then the
  filtered nonlinearity of section 3.2 / figure 4: bias, upsampling by ``up_factor`` with
  ``up_filter``, leaky ReLU (gain ``sqrt(2)``) and clamp to ±256, low-pass ``down_filter`` and
  decimation; cutoffs, stopbands, sampling rates and sizes follow the flexible layer
  specifications of section 3.2 (figure 4c), the padding the symmetric sample positions of
  appendix C.3; the last layer is a 1x1 to-RGB conv, the output scaled by ``output_scale``;
* the mapping network of StyleGAN2 (2 layers by default) with truncation against ``w_avg``.

Filters are stored as buffers in the files; a fresh generator designs them with
:mod:`ganlens.models.stylegan3_filters`. Layer outputs carry a margin around the image region:
:meth:`StyleGAN3Generator.featuremap_margin` gives the pixels to crop per side.

Deviations: the styles of a demodulated layer are pre-normalised by each sample's own RMS (the
original uses the RMS over the whole batch), so an image does not depend on the rest of its
batch; both are cancelled by demodulation up to the ``1e-8`` epsilon. ``fp16=True`` runs the
layers marked for float16 on CUDA, not bit-identically to the originals. ``c_dim > 0`` is not
supported.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from ganlens.models.style_layers import layer_margin
from ganlens.models.style_mapping import MappingNetwork
from ganlens.models.stylegan3_layers import SynthesisInput, SynthesisLayer3

__all__ = ["StyleGAN3Generator", "SynthesisNetwork3"]


class SynthesisNetwork3(nn.Module):
    """``input`` and layers ``L0 .. L{num_layers}`` turning ``ws`` into the image.

    Args:
        w_dim: Size of ``w``.
        img_resolution: Output resolution.
        img_channels: Image channels.
        channel_base: Channels are ``min(channel_base / 2 / f_c, channel_max)``.
        channel_max: Upper bound of the channels.
        num_layers: Layers excluding the input and to-RGB.
        num_critical: Critically sampled layers at the end.
        first_cutoff: Cutoff ``f_c`` of the first layer.
        first_stopband: Stopband ``f_t`` of the first layer.
        last_stopband_rel: Stopband of the last layer relative to its cutoff.
        margin_size: Pixels of margin on each side of the image region.
        output_scale: Scale of the output image.
        num_fp16_res: Resolutions marked for float16.
        **layer_kwargs: Passed to every :class:`SynthesisLayer3`.

    Example:
        >>> _ = torch.manual_seed(0)
        >>> net = SynthesisNetwork3(4, 16, 3, channel_base=64, channel_max=4, num_layers=3)
        >>> net.layer_names, net(torch.randn(1, net.num_ws, 4)).shape
        (['L0_36_4', 'L1_36_4', 'L2_16_4', 'L3_16_3'], torch.Size([1, 3, 16, 16]))
    """

    def __init__(
        self,
        w_dim: int,
        img_resolution: int,
        img_channels: int,
        channel_base: int = 32768,
        channel_max: int = 512,
        num_layers: int = 14,
        num_critical: int = 2,
        first_cutoff: float = 2,
        first_stopband: float = 2**2.1,
        last_stopband_rel: float = 2**0.3,
        margin_size: int = 10,
        output_scale: float = 0.25,
        num_fp16_res: int = 4,
        **layer_kwargs: Any,
    ) -> None:
        super().__init__()
        self.num_ws, self.output_scale = num_layers + 2, output_scale
        last_cutoff = img_resolution / 2
        exponents = np.minimum(np.arange(num_layers + 1) / (num_layers - num_critical), 1)
        cutoffs = first_cutoff * (last_cutoff / first_cutoff) ** exponents  # f_c[i]
        stopbands = first_stopband * (last_cutoff * last_stopband_rel / first_stopband) ** exponents
        rates = np.exp2(np.ceil(np.log2(np.minimum(stopbands * 2, img_resolution))))  # s[i]
        half_widths = np.maximum(stopbands, rates / 2) - cutoffs  # f_h[i]
        sizes = rates + margin_size * 2
        sizes[-2:] = img_resolution
        channels = np.rint(np.minimum((channel_base / 2) / cutoffs, channel_max))
        channels[-1] = img_channels
        self.input = SynthesisInput(w_dim, int(channels[0]), int(sizes[0]), rates[0], cutoffs[0])
        self.margins = {"input": int(sizes[0] - rates[0]) // 2}
        self.layer_names: list[str] = []
        for i in range(num_layers + 1):
            p = max(i - 1, 0)
            layer = SynthesisLayer3(
                w_dim,
                is_torgb=i == num_layers,
                is_critically_sampled=i >= num_layers - num_critical,
                use_fp16=bool(rates[i] * 2**num_fp16_res > img_resolution),
                in_channels=int(channels[p]),
                out_channels=int(channels[i]),
                in_size=int(sizes[p]),
                out_size=int(sizes[i]),
                in_sampling_rate=int(rates[p]),
                out_sampling_rate=int(rates[i]),
                in_cutoff=cutoffs[p],
                out_cutoff=cutoffs[i],
                in_half_width=half_widths[p],
                out_half_width=half_widths[i],
                **layer_kwargs,
            )
            name = f"L{i}_{int(sizes[i])}_{int(channels[i])}"
            self.add_module(name, layer)
            self.layer_names.append(name)
            self.margins[name] = int(sizes[i] - rates[i]) // 2

    def forward(self, ws: Tensor, fp16: bool = False) -> Tensor:
        """``[N, num_ws, w_dim] -> [N, img_channels, R, R]`` float32."""
        x: Tensor = self.input(ws[:, 0])
        for name, w in zip(self.layer_names, ws[:, 1:].unbind(dim=1), strict=True):
            layer: SynthesisLayer3 = getattr(self, name)
            x = layer(x, w, fp16)
        return (x * self.output_scale if self.output_scale != 1 else x).to(torch.float32)


class StyleGAN3Generator(nn.Module):
    """StyleGAN3 generator ``z -> image`` under NVlabs' names (``mapping``, ``synthesis.L*``).

    ``forward(z)`` maps ``z`` ``[N, latent_size]``, truncates with ``truncation`` (psi) against
    ``mapping.w_avg`` and renders ``[N, img_channels, R, R]`` float32 images in about [-1, 1];
    StyleGAN3 has no noise, so the same ``z`` always gives the same image. Config T is the
    default; config R is ``conv_kernel=1, use_radial_filters=True`` (and twice the channels).

    Args:
        z_dim: Size of ``z`` (``latent_size``).
        w_dim: Size of ``w``.
        resolution: Output resolution.
        img_channels: Image channels.
        mapping_layers: Layers of the mapping network.
        mapping_lr_multiplier: Learning-rate multiplier of the mapping network.
        truncation: Truncation psi of ``forward``.
        **synthesis_kwargs: :class:`SynthesisNetwork3` and :class:`SynthesisLayer3` arguments
            (``channel_base``, ``channel_max``, ``conv_kernel``, ``use_radial_filters``, ...).

    Example:
        >>> _ = torch.manual_seed(0)
        >>> g = StyleGAN3Generator(z_dim=8, w_dim=8, resolution=16, channel_base=256,
        ...                        channel_max=8, num_layers=4, margin_size=2).eval()
        >>> g(torch.randn(2, 8)).shape
        torch.Size([2, 3, 16, 16])
        >>> g.featuremap_layers[:2], g.featuremap_margin("synthesis.input")
        (('synthesis.input', 'synthesis.L0_20_8'), 2)
    """

    def __init__(
        self,
        z_dim: int = 512,
        w_dim: int = 512,
        resolution: int = 1024,
        img_channels: int = 3,
        mapping_layers: int = 2,
        mapping_lr_multiplier: float = 0.01,
        truncation: float = 1.0,
        **synthesis_kwargs: Any,
    ) -> None:
        super().__init__()
        self.z_dim, self.w_dim, self.img_channels = z_dim, w_dim, img_channels
        self.latent_size, self.resolution = z_dim, resolution
        self.truncation, self.fp16 = float(truncation), False
        self.synthesis = SynthesisNetwork3(w_dim, resolution, img_channels, **synthesis_kwargs)
        self.num_ws = self.synthesis.num_ws
        self.mapping = MappingNetwork(
            z_dim, w_dim, self.num_ws, mapping_layers, None, mapping_lr_multiplier
        )
        self._margins = {f"synthesis.{k}": v for k, v in self.synthesis.margins.items()}
        self.featuremap_layers: tuple[str, ...] = tuple(self._margins)

    def forward(self, z: Tensor, truncation: float | None = None) -> Tensor:
        """``[N, z_dim] -> [N, img_channels, R, R]``; ``truncation`` overrides the attribute."""
        psi = self.truncation if truncation is None else truncation
        images: Tensor = self.synthesis(self.mapping(z, psi), fp16=self.fp16)
        return images

    def featuremap_margin(self, layer: str) -> int:
        """Pixels to crop from each side of ``layer``'s output so the rest aligns with the image.

        A layer of sampling rate ``s`` and size ``s + 2 m`` covers the image with its central
        ``s x s`` pixels; ``m`` is ``margin_size`` (10) except for the last two layers (0).

        Args:
            layer: One of :attr:`featuremap_layers` (``synthesis.input``, ``synthesis.L*``);
                any other submodule (``mapping``, an ``affine``) gives 0.

        Returns:
            The margin ``m``.

        Raises:
            ValueError: For a name that is no submodule; the message lists the featuremap layers.

        Example:
            >>> _ = torch.manual_seed(0)
            >>> g = StyleGAN3Generator(z_dim=4, w_dim=4, resolution=16, channel_base=64,
            ...                        channel_max=4, num_layers=3, margin_size=3)
            >>> [g.featuremap_margin(n) for n in g.featuremap_layers]
            [3, 3, 3, 0, 0]
        """
        return layer_margin(layer, self._margins, self)
