"""Loading StyleGAN files: NVlabs network pickles (restricted unpickler) and rosinality checkpoints.

The writers below produce files with the structure of the originals from ganlens' own modules:
NVlabs pickles through a stand-in ``torch_utils.persistence._reconstruct_persistent_obj`` global
(registered in ``sys.modules`` only while writing, like ``dnnlib.util.EasyDict``), each object's
meta carrying ``module_src``, ``class_name`` and a ``state`` with ``_parameters``, ``_buffers``,
``_modules``, ``_init_args``, ``_init_kwargs`` and numpy attributes; rosinality checkpoints in
the layouts of its ``convert_weight.py`` and ``train.py``.
"""

import argparse
import contextlib
import os
import pickle
import sys
import types
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
import pytest
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
from ganlens.models.stylegan_files import (
    load_rosinality_checkpoint,
    load_stylegan_generator,
    stylegan_file_kind,
)
from ganlens.models.stylegan_nvlabs import load_nvlabs_pickle

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


SG2_CONFIGS = {
    "skip8": dict(resolution=8, architecture="skip", channel_base=64, channel_max=8),
    "resnet16": dict(
        resolution=16,
        architecture="resnet",
        channel_base=128,
        channel_max=12,
        conv_clamp=256,
        num_fp16_res=2,
    ),
    "orig32": dict(resolution=32, architecture="orig", channel_base=128, channel_max=8),
}
SG3_CONFIGS = {
    "T16": dict(channel_base=128, channel_max=8, num_layers=4, margin_size=2),
    "R16": dict(
        channel_base=256,
        channel_max=16,
        num_layers=4,
        margin_size=2,
        conv_kernel=1,
        use_radial_filters=True,
        magnitude_ema_beta=0.99,
    ),
}


def sg2(name: str) -> tuple[StyleGAN2Generator, dict]:
    cfg = dict(SG2_CONFIGS[name])
    torch.manual_seed(1)
    g = StyleGAN2Generator(z_dim=8, w_dim=6, mapping_layers=2, **cfg)
    cfg.pop("resolution")
    return randomized(g), cfg


def sg3(name: str) -> tuple[StyleGAN3Generator, dict]:
    torch.manual_seed(1)
    g = StyleGAN3Generator(z_dim=8, w_dim=8, resolution=16, **SG3_CONFIGS[name])
    return randomized(g), SG3_CONFIGS[name]


def assert_same_images(a: nn.Module, b: nn.Module, latent: int) -> None:
    z = torch.randn(3, latent, generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        for psi in (1.0, 0.7, 0.0):
            assert (a(z, truncation=psi) - b(z, truncation=psi)).abs().max() <= 1e-5


@pytest.mark.parametrize("name", sorted(SG2_CONFIGS))
def test_nvlabs_stylegan2_pickles_load_and_match(tmp_path, name):
    g, settings = sg2(name)
    path = tmp_path / f"{name}.pkl"
    write_nvlabs(path, g, settings, protocol={"skip8": 3, "orig32": 2}.get(name, 4))
    assert stylegan_file_kind(path) == "nvlabs"
    loaded = load_stylegan_generator(path, truncation=0.5)
    assert isinstance(loaded, StyleGAN2Generator) and not loaded.training
    assert (loaded.latent_size, loaded.resolution, loaded.truncation) == (8, g.resolution, 0.5)
    assert loaded.synthesis.b8.architecture == settings["architecture"]
    assert_same_images(loaded, g, 8)
    assert not {"torch_utils", "dnnlib"} & set(sys.modules)


@pytest.mark.parametrize("name", sorted(SG3_CONFIGS))
def test_nvlabs_stylegan3_pickles_load_and_match(tmp_path, name):
    g, settings = sg3(name)
    path = tmp_path / f"{name}.pkl"
    write_nvlabs(path, g, settings)
    loaded = load_nvlabs_pickle(path)
    assert isinstance(loaded, StyleGAN3Generator)
    assert loaded.synthesis.layer_names == g.synthesis.layer_names
    assert loaded.featuremap_margin("synthesis.input") == 2
    assert_same_images(loaded, g, 8)


def test_a_conditional_generator_is_refused_naming_c_dim(tmp_path):
    g, settings = sg2("skip8")
    write_nvlabs(tmp_path / "cond.pkl", g, settings, c_dim=10)
    with pytest.raises(ValueError, match=r"cond\.pkl.*c_dim=10") as err:
        load_stylegan_generator(tmp_path / "cond.pkl")
    assert "\n" not in str(err.value)


def test_module_src_is_never_run(tmp_path):
    marker = tmp_path / "written_by_module_src"
    src = f"import pathlib\npathlib.Path({str(marker)!r}).write_text('ran')\n"
    g, settings = sg2("skip8")
    write_nvlabs(tmp_path / "src.pkl", g, settings, module_src=src)
    # Control: NVlabs' own unpickling executes module_src (imports it as a module).
    with nvlabs_globals():
        sys.modules["torch_utils.persistence"]._reconstruct_persistent_obj = lambda meta: exec(
            compile(meta["module_src"], "<module_src>", "exec"), {}
        )
        pickle.loads((tmp_path / "src.pkl").read_bytes())
    assert marker.exists()
    marker.unlink()
    assert_same_images(load_stylegan_generator(tmp_path / "src.pkl"), g, 8)
    assert not marker.exists()


def crafted_pickle(tmp_path: Path, payload_global: bytes, arg: str, name: str) -> Path:
    """``{'G_ema': record, 'training_set_kwargs': module.name(arg)}`` with any global name."""
    g, settings = sg2("skip8")
    path = tmp_path / name
    write_nvlabs(path, g, settings, protocol=3)
    # Protocol 3 keeps globals as text: "c<module>\n<name>\n"; the dict's last SETITEMS gets
    # one more item before the final STOP.
    data = path.read_bytes()
    assert data.endswith(b"u.")
    item = (
        b"X\x04\x00\x00\x00evil"
        + b"c"
        + payload_global
        + b"\n"
        + pickle.dumps(arg, 3)[2:-1]
        + b"\x85R"
    )
    path.write_bytes(data[:-2] + b"u" + item + b"s.")
    return path


@pytest.mark.parametrize(
    ("payload_global", "shown"),
    [
        (b"os\nsystem", "os.system"),
        (b"posix\nsystem", "posix.system"),
        (b"builtins\nexec", "builtins.exec"),
        (b"subprocess\ncall", "subprocess.call"),
        (b"torch.nn.modules.container\nModuleList", "torch.nn.modules.container.ModuleList"),
    ],
)
def test_globals_outside_the_allowed_list_are_refused_before_anything_runs(
    tmp_path, payload_global, shown
):
    marker = tmp_path / "ran"
    if payload_global.endswith(b"exec"):
        arg = f"open({str(marker)!r}, 'w').write('x')"
    else:
        arg = f"touch {marker}"
    path = crafted_pickle(tmp_path, payload_global, arg, "evil.pkl")
    assert stylegan_file_kind(path) == "nvlabs"
    with pytest.raises(
        ValueError, match=rf"refusing to load .*evil\.pkl: the file asks for global '{shown}'"
    ) as err:
        load_stylegan_generator(path)
    assert "\n" not in str(err.value)
    assert not marker.exists()


def test_embedded_storage_bytes_are_loaded_weights_only(tmp_path):
    marker = tmp_path / "ran"
    code = f"open({str(marker)!r}, 'w').write('x')"
    evil_bytes = pickle.dumps(Reduce(exec, code), protocol=2)
    # Control: torch's own _load_from_bytes runs what the bytes ask for.
    with pytest.raises(RuntimeError):  # after the payload ran: not a storage
        torch.storage._load_from_bytes(evil_bytes)
    assert marker.exists()
    marker.unlink()
    path = tmp_path / "storage.pkl"
    g, settings = sg2("skip8")
    write_nvlabs(
        path, g, settings, extra={"evil": Reduce(torch.storage._load_from_bytes, evil_bytes)}
    )
    with pytest.raises(ValueError, match=r"storage\.pkl.*not plain tensor data") as err:
        load_stylegan_generator(path)
    assert "\n" not in str(err.value)
    assert not marker.exists()


class ReduceWithState(Reduce):
    """Pickles as ``func(*args)`` followed by BUILD with ``state``."""

    def __init__(self, func: Any, args: tuple, state: Any) -> None:
        super().__init__(func, *args)
        self.state = state

    def __reduce__(self):
        """``(func, args, state)``."""
        return self.func, self.args, self.state


def test_tensor_views_past_their_storage_and_tensor_state_are_refused(tmp_path):
    storage = torch.arange(4.0)._typed_storage()
    rebuild = torch._utils._rebuild_tensor_v2
    g, settings = sg2("skip8")
    attacks = {
        "view.pkl": (
            Reduce(rebuild, storage, 0, (1000,), (1,), False, OrderedDict()),
            "past the end",
        ),
        "stride.pkl": (
            Reduce(rebuild, storage, 2, (2, 2), (-1, 1), False, OrderedDict()),
            "negative",
        ),
        "state.pkl": (
            ReduceWithState(
                rebuild, (storage, 0, (4,), (1,), False, OrderedDict()), (storage, 0, (1000,), (1,))
            ),
            "sets the state of a Tensor",
        ),
    }
    for name, (payload, message) in attacks.items():
        write_nvlabs(tmp_path / name, g, settings, extra={"evil": payload})
        with pytest.raises(ValueError, match=rf"{name}.*{message}"):
            load_stylegan_generator(tmp_path / name)


def test_a_pickle_without_a_generator(tmp_path):
    with nvlabs_globals() as (rec, _):
        state = dict(_parameters=OrderedDict(), _buffers=OrderedDict(), _modules=OrderedDict())
        D = Reduce(
            rec,
            dict(
                type="class",
                version=6,
                module_src=SAFE_SRC,
                class_name="Discriminator",
                state=state,
            ),
        )
        (tmp_path / "nog.pkl").write_bytes(pickle.dumps({"D": D}))
        (tmp_path / "dg.pkl").write_bytes(pickle.dumps({"G_ema": D}))
    with pytest.raises(ValueError, match=r"nog\.pkl holds no NVlabs generator"):
        load_stylegan_generator(tmp_path / "nog.pkl")
    with pytest.raises(ValueError, match=r"dg\.pkl: the network is a Discriminator, not a"):
        load_stylegan_generator(tmp_path / "dg.pkl")


# rosinality ------------------------------------------------------------------------------------


def rosinality(size: int, seed: int = 2) -> RosinalityGenerator:
    torch.manual_seed(seed)
    channels = {4: 8, 8: 8, 16: 6, 32: 4}
    return randomized(RosinalityGenerator(size, style_dim=6, n_mlp=3, channels=channels))


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


@pytest.mark.parametrize("size", [8, 16, 32])
@pytest.mark.parametrize("layout", ["convert", "train"])
def test_rosinality_checkpoints_load_and_match(tmp_path, size, layout):
    g = rosinality(size)
    g.set_latent_avg(torch.randn(6))
    path = tmp_path / f"{layout}{size}.pt"
    write_rosinality(path, g, layout)
    assert stylegan_file_kind(path) == "rosinality"
    loaded = load_stylegan_generator(path)
    assert isinstance(loaded, RosinalityGenerator)
    assert (loaded.resolution, loaded.latent_size) == (size, 6)
    if layout == "train":  # no latent_avg in the file: estimated on first truncated use
        assert loaded.latent_avg_source == "unknown"
        loaded.set_latent_avg(g.latent_avg)
    else:
        assert loaded.latent_avg_source == "file"
    assert_same_images(loaded, g, 6)


def test_file_kinds_of_other_files(tmp_path):
    proggan = tmp_path / "proggan.pth"
    torch.save(OrderedDict({"layer1.conv.weight": torch.ones(2, 2, 4, 4)}), proggan)
    plain = tmp_path / "plain.pkl"
    plain.write_bytes(pickle.dumps({"G_ema": [1, 2]}))
    marker = tmp_path / "ran"
    evil_torch = tmp_path / "evil.pt"
    torch.save({"g_ema": Reduce(exec, f"open({str(marker)!r}, 'w')")}, evil_torch)
    tensorflow = tmp_path / "tf.pkl"
    tensorflow.write_bytes(b"\x80\x02cdnnlib.tflib.network\nNetwork\n)\x81.")
    with pytest.raises(ValueError, match="TensorFlow StyleGAN pickle"):
        load_stylegan_generator(tensorflow)
    for path in (proggan, plain, evil_torch, tensorflow):
        assert stylegan_file_kind(path) is None
        with pytest.raises(ValueError, match="neither an NVlabs StyleGAN network pickle nor"):
            load_stylegan_generator(path)
    assert not marker.exists()
    with pytest.raises(FileNotFoundError):
        stylegan_file_kind(tmp_path / "missing.pkl")


def test_rosinality_errors_are_one_line_naming_the_file(tmp_path):
    g = rosinality(8)
    state = g.state_dict()
    del state["noises.noise_2"]
    path = tmp_path / "broken.pt"
    torch.save({"g_ema": state}, path)
    with pytest.raises(ValueError, match=r"broken\.pt.*missing \['noises\.noise_2'\]") as err:
        load_rosinality_checkpoint(path)
    assert "\n" not in str(err.value)
    other = tmp_path / "other.pt"
    torch.save({"state_dict": {}}, other)
    with pytest.raises(ValueError, match=r"other\.pt holds no rosinality 'g_ema'"):
        load_rosinality_checkpoint(other)
    assert os.path.exists(other)
