"""Writers of StyleGAN files in the originals' formats, from ganlens' own modules (for tests).

NVlabs network pickles go through a stand-in ``torch_utils.persistence._reconstruct_persistent_obj``
global (registered in ``sys.modules`` only while writing, like ``dnnlib.util.EasyDict``), each
object's meta carrying ``module_src``, ``class_name`` and a ``state`` with ``_parameters``,
``_buffers``, ``_modules``, ``_init_args``, ``_init_kwargs`` and numpy attributes; rosinality
checkpoints are written in the layouts of its ``convert_weight.py`` and ``train.py``.
"""

import argparse
import contextlib
import pickle
import sys
import types
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ganlens.models.style_mapping import FullyConnected, MappingNetwork
from ganlens.models.stylegan2 import StyleGAN2Generator
from ganlens.models.stylegan2_rosinality import RosinalityGenerator
from ganlens.models.stylegan2_synthesis import (
    SkipConv,
    SynthesisBlock,
    SynthesisLayer,
    SynthesisNetwork,
    ToRGBLayer,
)
from ganlens.models.stylegan3 import StyleGAN3Generator, SynthesisNetwork3
from ganlens.models.stylegan3_layers import SynthesisInput, SynthesisLayer3

NVLABS_CLASS = {
    StyleGAN2Generator: "Generator",
    StyleGAN3Generator: "Generator",
    MappingNetwork: "MappingNetwork",
    FullyConnected: "FullyConnectedLayer",
    SynthesisNetwork: "SynthesisNetwork",
    SynthesisNetwork3: "SynthesisNetwork",
    SynthesisBlock: "SynthesisBlock",
    SynthesisLayer: "SynthesisLayer",
    SynthesisLayer3: "SynthesisLayer",
    ToRGBLayer: "ToRGBLayer",
    SkipConv: "Conv2dLayer",
    SynthesisInput: "SynthesisInput",
}
SAFE_SRC = "import torch  # the class's module source; never run by ganlens\n"


class Reduce:
    """Pickles as ``func(*args)``."""

    def __init__(self, func: Any, *args: Any) -> None:
        self.func, self.args = func, args

    def __reduce__(self):
        """``(func, args)``."""
        return self.func, self.args


@contextlib.contextmanager
def nvlabs_globals():
    """Fake ``torch_utils.persistence`` and ``dnnlib.util`` modules, only while writing."""
    persistence = types.ModuleType("torch_utils.persistence")
    util = types.ModuleType("dnnlib.util")

    def reconstruct(meta):  # never called by ganlens: it is a name in the pickle
        raise AssertionError("NVlabs' reconstruct must not run")

    reconstruct.__module__, reconstruct.__qualname__ = (
        persistence.__name__,
        "_reconstruct_persistent_obj",
    )
    persistence._reconstruct_persistent_obj = reconstruct
    util.EasyDict = type("EasyDict", (dict,), {"__module__": "dnnlib.util"})
    fake = {
        "torch_utils": types.ModuleType("torch_utils"),
        "torch_utils.persistence": persistence,
        "dnnlib": types.ModuleType("dnnlib"),
        "dnnlib.util": util,
    }
    assert not set(fake) & set(sys.modules)
    sys.modules.update(fake)
    try:
        yield reconstruct, util.EasyDict
    finally:
        for name in fake:
            del sys.modules[name]


def attributes(m: nn.Module) -> dict[str, Any]:
    """Plain public attributes as NVlabs stores them (floats as numpy scalars, sizes as arrays)."""
    plain = {
        k: (np.float64(v) if type(v) is float else v)
        for k, v in vars(m).items()
        if not k.startswith("_") and isinstance(v, (bool, int, float, str, list, tuple, type(None)))
    }
    if isinstance(m, FullyConnected):
        plain.update(bias_gain=m.lr_multiplier, weight_gain=np.float64(m.weight_gain))
    if isinstance(m, SynthesisLayer):
        plain.update(activation="lrelu", act_gain=np.float64(np.sqrt(2)))
    if isinstance(m, (SynthesisLayer3, SynthesisInput)):
        plain["out_size"] = np.broadcast_to(np.asarray(getattr(m, "out_size", 0)), [2]).copy()
    if isinstance(m, (StyleGAN2Generator, StyleGAN3Generator)):
        plain.update(img_resolution=m.resolution, c_dim=0)
    return plain


def record(m: nn.Module, rec, init_kwargs: dict, module_src: str) -> Reduce:
    """``m`` as an NVlabs persistent object: ``_reconstruct_persistent_obj(meta)``."""
    state = dict(
        attributes(m),
        _parameters=OrderedDict(m._parameters),
        _buffers=OrderedDict(m._buffers),
        _non_persistent_buffers_set=set(),
        _modules=OrderedDict((k, record(c, rec, {}, module_src)) for k, c in m._modules.items()),
        _init_args=(),
        _init_kwargs=init_kwargs.get(id(m), {}),
    )
    meta = dict(
        type="class",
        version=6,
        module_src=module_src,
        class_name=NVLABS_CLASS[type(m)],
        state=state,
    )
    return Reduce(rec, meta)


def write_nvlabs(
    path: Path,
    g: nn.Module,
    settings: dict,
    module_src: str = SAFE_SRC,
    extra: dict | None = None,
    protocol: int = 4,
    c_dim: int = 0,
) -> None:
    """A network pickle as NVlabs' training loop writes it (G, D, G_ema, augment_pipe)."""
    with nvlabs_globals() as (rec, easy):
        base = dict(
            z_dim=g.z_dim,
            c_dim=c_dim,
            w_dim=g.w_dim,
            img_resolution=g.resolution,
            img_channels=3,
            mapping_kwargs=easy(num_layers=g.mapping.num_layers),
        )
        if isinstance(g, StyleGAN3Generator):  # stylegan3: synthesis kwargs flat
            kwargs = {
                id(g): easy(base, **settings),
                id(g.synthesis): easy(
                    w_dim=g.w_dim, img_resolution=g.resolution, img_channels=3, **settings
                ),
            }
        else:  # stylegan2-ada-pytorch: a synthesis_kwargs dict
            kwargs = {id(g): easy(base, synthesis_kwargs=easy(settings))}
        G = record(g, rec, kwargs, module_src)
        D = Reduce(
            rec,
            dict(
                type="class",
                version=6,
                module_src=module_src,
                class_name="Discriminator",
                state=dict(
                    _parameters=OrderedDict(w=nn.Parameter(torch.ones(2))),
                    _buffers=OrderedDict(),
                    _modules=OrderedDict(),
                    _init_kwargs=easy(c_dim=0),
                    gain=np.float32(0.5),
                ),
            ),
        )
        aug = Reduce(
            rec,
            dict(
                type="class",
                version=6,
                module_src=module_src,
                class_name="AugmentPipe",
                state=dict(
                    _buffers=OrderedDict(p=torch.zeros([])),
                    Hz_geom=np.arange(4.0),
                    _modules=OrderedDict(),
                ),
            ),
        )
        data = dict(
            training_set_kwargs=dict(
                easy(
                    class_name="training.dataset.ImageFolderDataset",
                    path="x.zip",
                    resolution=g.resolution,
                )
            ),
            G=G,
            D=D,
            G_ema=G,
            augment_pipe=aug,
            **(extra or {}),
        )
        path.write_bytes(pickle.dumps(data, protocol=protocol))


def randomized(g: nn.Module, seed: int = 0) -> nn.Module:
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in g.parameters():
            p.add_(0.2 * torch.randn(p.shape, generator=gen))
        for name, b in g.named_buffers():
            if name.endswith(("w_avg", "latent_avg")):
                b.copy_(torch.randn(b.shape, generator=gen))
            if name.endswith("magnitude_ema"):
                b.copy_(0.5 + torch.rand(b.shape, generator=gen))
    return g.eval()


def write_rosinality(path: Path, g: RosinalityGenerator, layout: str) -> None:
    if layout == "convert":  # convert_weight.py
        torch.save({"g_ema": g.state_dict(), "latent_avg": g.latent_avg.clone()}, path)
    else:  # train.py
        opt = torch.optim.Adam(g.parameters())
        args = argparse.Namespace(size=g.size, latent=6, n_mlp=3, channel_multiplier=2, iter=10)
        torch.save(
            {
                "g": g.state_dict(),
                "d": {"convs.0.0.weight": torch.ones(1)},
                "g_ema": g.state_dict(),
                "g_optim": opt.state_dict(),
                "d_optim": opt.state_dict(),
                "args": args,
                "ada_aug_p": 0.3,
            },
            path,
        )
