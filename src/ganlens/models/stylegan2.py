"""StyleGAN2 generator in NVlabs' layout, pure PyTorch (no compiled extension).

Karras et al., "Analyzing and Improving the Image Quality of StyleGAN", CVPR 2020,
arXiv:1912.04958, as trained by stylegan2-ada-pytorch (Karras et al., "Training Generative
Adversarial Networks with Limited Data", NeurIPS 2020, arXiv:2006.06676) and by stylegan3's
``stylegan2`` config. Implemented:

* the mapping network ``z -> w`` (8 fully connected layers, lr multiplier 0.01) after
  normalising ``z``, and the truncation trick ``w' = w_avg + psi * (w - w_avg)`` (StyleGAN,
  arXiv:1812.04948, appendix B) with the tracked ``w_avg``;
* the synthesis network of figure 2d: a learned 4x4 constant, per resolution ``R`` a block
  ``b{R}`` of two modulated/demodulated 3x3 convolutions (``conv0`` upsamples, equations 1-3),
  per-pixel noise scaled by a learned strength, bias, leaky ReLU; the output image from the
  ``skip`` architecture of figure 7 (sum of upsampled ``torgb`` outputs; default), ``resnet``
  (residual blocks, ``torgb`` at the end only) or ``orig``; upsampling with the ``[1, 3, 3, 1]``
  filter (appendix B). ADA's ``conv_clamp`` (clamp to ±256) and ``num_fp16_res`` are honoured.

Module, parameter and buffer names equal NVlabs' ``Generator`` (``mapping.fc{i}``,
``mapping.w_avg``, ``synthesis.b{R}.const|conv0|conv1|torgb|skip``, ``noise_const``...), so the
state dict of an NVlabs ``G_ema`` loads strictly. Every ``synthesis.b{R}.conv0`` / ``conv1``
returns a featuremap ``[N, C, R, R]`` aligned with the image (margin 0).

Deviations: noise is always the stored ``noise_const`` (NVlabs' ``noise_mode='const'``), so
an image depends on ``z`` alone; the modulated convolution is always computed unfused (equal to
the fused form up to float rounding); ``fp16=True`` runs the ``num_fp16_res`` highest
resolutions in float16 on CUDA as the originals do, but not bit-identically. Conditional
generators (``c_dim > 0``) are not supported.
"""

from __future__ import annotations

from collections.abc import Mapping

from torch import Tensor, nn

from ganlens.models.style_layers import layer_margin
from ganlens.models.style_mapping import MappingNetwork
from ganlens.models.stylegan2_synthesis import ARCHITECTURES, SynthesisNetwork, log2_resolution

__all__ = ["StyleGAN2Generator", "stylegan2_channels"]


def stylegan2_channels(
    resolution: int, channel_base: int = 32768, channel_max: int = 512
) -> dict[int, int]:
    """Channels per block resolution, ``min(channel_base // R, channel_max)`` (NVlabs' rule).

    Args:
        resolution: Output resolution, a power of two >= 4.
        channel_base: Overall multiplier.
        channel_max: Upper bound.

    Returns:
        ``{4: c4, 8: c8, ..., resolution: cR}``.

    Example:
        >>> stylegan2_channels(32, channel_base=512, channel_max=64)
        {4: 64, 8: 64, 16: 32, 32: 16}
    """
    return {
        2**k: min(channel_base // 2**k, channel_max)
        for k in range(2, log2_resolution(resolution) + 1)
    }


class StyleGAN2Generator(nn.Module):
    """StyleGAN2 generator ``z -> image`` under NVlabs' names (``mapping``, ``synthesis.b{R}``).

    ``forward(z)`` maps ``z`` ``[N, latent_size]`` through the mapping network, truncates with
    ``truncation`` (psi) against ``mapping.w_avg`` and renders ``[N, img_channels, R, R]``
    float32 images in about [-1, 1] with the stored (constant) noise, so the same ``z`` always
    gives the same image.

    Args:
        z_dim: Size of ``z`` (``latent_size``).
        w_dim: Size of ``w``.
        resolution: Output resolution, a power of two >= 4.
        img_channels: Image channels.
        channels: Channels per block resolution; None = :func:`stylegan2_channels` with
            ``channel_base`` and ``channel_max``.
        channel_base: See :func:`stylegan2_channels`.
        channel_max: See :func:`stylegan2_channels`.
        mapping_layers: Layers of the mapping network.
        mapping_features: Hidden width of the mapping network; None = ``w_dim``.
        mapping_lr_multiplier: Learning-rate multiplier of the mapping network.
        architecture: ``"skip"`` (default), ``"resnet"`` or ``"orig"``.
        conv_clamp: Clamp of the convolutions (256 in ADA's configs), None = none.
        num_fp16_res: Highest resolutions that run in float16 when :attr:`fp16` is set.
        use_noise: Whether the synthesis layers add (constant) noise.
        truncation: Truncation psi of ``forward`` (1 = none).

    Raises:
        ValueError: On a bad resolution or architecture, or channels missing a resolution.

    Example:
        >>> import torch
        >>> _ = torch.manual_seed(0)
        >>> g = StyleGAN2Generator(z_dim=8, w_dim=8, resolution=16, channel_base=128,
        ...                        channel_max=16, mapping_layers=2).eval()
        >>> z = torch.randn(2, 8)
        >>> g(z).shape, g.featuremap_margin("synthesis.b8.conv1")
        (torch.Size([2, 3, 16, 16]), 0)
        >>> bool((g(z) == g(z)).all())
        True
    """

    def __init__(
        self,
        z_dim: int = 512,
        w_dim: int = 512,
        resolution: int = 1024,
        img_channels: int = 3,
        channels: Mapping[int, int] | None = None,
        channel_base: int = 32768,
        channel_max: int = 512,
        mapping_layers: int = 8,
        mapping_features: int | None = None,
        mapping_lr_multiplier: float = 0.01,
        architecture: str = "skip",
        conv_clamp: float | None = None,
        num_fp16_res: int = 0,
        use_noise: bool = True,
        truncation: float = 1.0,
    ) -> None:
        super().__init__()
        if architecture not in ARCHITECTURES:
            raise ValueError(f"architecture must be one of {ARCHITECTURES}, got {architecture!r}")
        ch = (
            dict(channels)
            if channels is not None
            else stylegan2_channels(resolution, channel_base, channel_max)
        )
        missing = [r for r in stylegan2_channels(resolution) if r not in ch]
        if missing:
            raise ValueError(f"channels has no entry for the resolutions {missing}")
        self.z_dim, self.w_dim, self.img_channels = z_dim, w_dim, img_channels
        self.latent_size, self.resolution = z_dim, resolution
        self.truncation, self.fp16 = float(truncation), False
        self.synthesis = SynthesisNetwork(
            w_dim, resolution, img_channels, ch, architecture, conv_clamp, num_fp16_res, use_noise
        )
        self.num_ws = self.synthesis.num_ws
        self.mapping = MappingNetwork(
            z_dim, w_dim, self.num_ws, mapping_layers, mapping_features, mapping_lr_multiplier
        )
        self.featuremap_layers: tuple[str, ...] = tuple(
            f"synthesis.b{r}.{conv}"
            for r in self.synthesis.block_resolutions
            for conv in (("conv1",) if r == 4 else ("conv0", "conv1"))
        )

    def forward(self, z: Tensor, truncation: float | None = None) -> Tensor:
        """``[N, z_dim] -> [N, img_channels, R, R]``; ``truncation`` overrides the attribute."""
        psi = self.truncation if truncation is None else truncation
        images: Tensor = self.synthesis(self.mapping(z, psi), fp16=self.fp16)
        return images

    def featuremap_margin(self, layer: str) -> int:
        """Pixels to crop from each side of ``layer``'s output to align it with the image: 0.

        Args:
            layer: One of :attr:`featuremap_layers` (another submodule, such as
                ``mapping.fc0``, has no spatial margin either).

        Returns:
            0 (StyleGAN2 featuremaps cover exactly the image).

        Raises:
            ValueError: For a name that is no submodule; the message lists the featuremap layers.

        Example:
            >>> import torch
            >>> _ = torch.manual_seed(0)
            >>> g = StyleGAN2Generator(z_dim=4, w_dim=4, resolution=8, channel_base=32,
            ...                        channel_max=8, mapping_layers=1)
            >>> g.featuremap_layers
            ('synthesis.b4.conv1', 'synthesis.b8.conv0', 'synthesis.b8.conv1')
        """
        return layer_margin(layer, dict.fromkeys(self.featuremap_layers, 0), self)
