"""``ganlens layers``: every layer of a generator with its output shape, to choose ``--layers``.

The featuremaps GAN Dissection reads (Bau et al., ICLR 2019, section 3.1: ``r = h(z)`` of shape
``[U, H, W]``) are the outputs of a generator's submodules, named by their dotted paths. This
runs the generator once on one seeded latent and lists the submodules whose output is a tensor,
the featuremaps (``[1, U, H, W]``) first; a StyleGAN3 layer's margin is reported and cropped, as
dissection crops it.

Example: ``ganlens layers --generator network-snapshot.pkl``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ganlens.options import DeviceOptions, GeneratorOptions

if TYPE_CHECKING:
    from torch import nn

__all__ = ["LayersSettings", "run_layers_command"]


@dataclass(frozen=True, kw_only=True)
class LayersSettings(GeneratorOptions, DeviceOptions):
    """List a generator's layers and their output shapes on one sample.

    Args:
        all: Also list the layers whose output is not a featuremap [N, U, H, W] (vectors such
            as the mapping network's).
        seed: Seed of the one latent.
    """

    all: bool = False
    seed: int = 0


def layer_table(generator: nn.Module, seed: int = 0, every: bool = False) -> list[str]:
    """Lines ``name  [U, H, W]  (margin m)`` for the featuremaps, then the other outputs.

    Example:
        >>> from ganlens.sources import load_generator
        >>> rows = layer_table(load_generator("scene32"))
        >>> rows[0], rows[12]
        ('layer1                     [128, 4, 4]', 'layer4                     [128, 8, 8]')
    """
    import torch

    from ganlens.hooks import featuremap_margin, featuremap_shapes, module_device

    latent_size = int(getattr(generator, "latent_size", 0))
    if latent_size < 1:
        raise ValueError("the generator must have a positive integer attribute latent_size")
    z = torch.randn(1, latent_size, generator=torch.Generator().manual_seed(seed))
    shapes = featuremap_shapes(generator, z.to(module_device(generator)))
    width = max((len(name) for name in shapes), default=0) + 2
    maps = {name: shape for name, shape in shapes.items() if len(shape) == 4}
    lines = []
    for name, shape in maps.items():
        margin = featuremap_margin(generator, name)
        note = f"  (margin {margin} px per side, cropped)" if margin else ""
        lines.append(f"{name:<{max(width, 27)}}{list(shape[1:])}{note}")
    if every:
        lines += [f"{name:<{max(width, 27)}}{list(shape[1:])}"
                  for name, shape in shapes.items() if name not in maps]  # fmt: skip
    return lines


def run_layers_command(settings: LayersSettings) -> int:
    """Run ``ganlens layers``; returns the exit status.

    Example:
        >>> run_layers_command(LayersSettings(generator="scene32"))  # doctest: +ELLIPSIS
        layer1                     [128, 4, 4]
        ...
        0
    """
    from ganlens.sources import load_generator

    generator = load_generator(settings.generator, settings.device, settings.truncation)
    lines = layer_table(generator, settings.seed, settings.all)
    if not lines:
        raise ValueError(f"generator {settings.generator!r} has no layer that returns a tensor")
    print("\n".join(lines))
    return 0
