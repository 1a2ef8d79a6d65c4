"""Progressive GAN networks (Karras et al., ICLR 2018, arXiv:1710.10196) and weight loaders.

:class:`ProgressiveGenerator` names its blocks like gandissect's converted ProgGAN generators
(``layer1 .. layer{2*log2(R)-2}``, ``output_RxR``), so :func:`load_proggan_generator` loads those
``.pth`` files strictly and ``"layer4"`` means the same featuremap in both.

StyleGAN2 (arXiv:1912.04958) and StyleGAN3 (arXiv:2106.12423) generators in pure PyTorch, named
like NVlabs' (:class:`StyleGAN2Generator`, :class:`StyleGAN3Generator`) and rosinality's
(:class:`RosinalityGenerator`) networks, load from their files with
:func:`load_stylegan_generator`, which runs no code from the file.
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
from ganlens.models.stylegan2 import StyleGAN2Generator
from ganlens.models.stylegan2_rosinality import RosinalityGenerator
from ganlens.models.stylegan3 import StyleGAN3Generator
from ganlens.models.stylegan_files import (
    load_rosinality_checkpoint,
    load_stylegan_generator,
    stylegan_file_kind,
)
from ganlens.models.stylegan_nvlabs import load_nvlabs_pickle
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
    "RosinalityGenerator",
    "StyleGAN2Generator",
    "StyleGAN3Generator",
    "ToRGB",
    "export_generator",
    "he_constant",
    "load_nvlabs_pickle",
    "load_proggan_generator",
    "load_rosinality_checkpoint",
    "load_scene_generator",
    "load_stylegan_generator",
    "normalize_proggan_state_dict",
    "progressive_channels",
    "resolve_channels",
    "stylegan_file_kind",
]
