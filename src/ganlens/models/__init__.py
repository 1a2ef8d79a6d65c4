"""Progressive GAN networks (Karras et al., ICLR 2018, arXiv:1710.10196) and weight loaders.

:class:`ProgressiveGenerator` names its blocks like gandissect's converted ProgGAN generators
(``layer1 .. layer{2*log2(R)-2}``, ``output_RxR``), so :func:`load_proggan_generator` loads those
``.pth`` files strictly and ``"layer4"`` means the same featuremap in both.
"""

from ganlens.models.architecture import progressive_channels, resolve_channels
from ganlens.models.discriminator import (
    DiscriminatorBlock,
    DiscriminatorHead,
    FromRGB,
    ProgressiveDiscriminator,
)
from ganlens.models.generator import (
    GeneratorBlock,
    ProgressiveGenerator,
    ToRGB,
)
from ganlens.models.layers import (
    ChannelBias,
    EqualizedConv2d,
    EqualizedLinear,
    MinibatchStdDev,
    PixelNorm,
    he_constant,
)
from ganlens.models.pretrained import export_generator, load_scene_generator
from ganlens.models.weights import load_proggan_generator, normalize_proggan_state_dict

__all__ = [
    "ChannelBias",
    "DiscriminatorBlock",
    "DiscriminatorHead",
    "EqualizedConv2d",
    "EqualizedLinear",
    "FromRGB",
    "GeneratorBlock",
    "MinibatchStdDev",
    "PixelNorm",
    "ProgressiveDiscriminator",
    "ProgressiveGenerator",
    "ToRGB",
    "export_generator",
    "he_constant",
    "load_proggan_generator",
    "load_scene_generator",
    "normalize_proggan_state_dict",
    "progressive_channels",
    "resolve_channels",
]
