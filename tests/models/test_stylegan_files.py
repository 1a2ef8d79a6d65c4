"""Loading StyleGAN files: NVlabs network pickles (restricted unpickler) and rosinality checkpoints.

The writers below produce files with the structure of the originals from ganlens' own modules:
NVlabs pickles through a stand-in ``torch_utils.persistence._reconstruct_persistent_obj`` global
(registered in ``sys.modules`` only while writing, like ``dnnlib.util.EasyDict``), each object's
meta carrying ``module_src``, ``class_name`` and a ``state`` with ``_parameters``, ``_buffers``,
``_modules``, ``_init_args``, ``_init_kwargs`` and numpy attributes; rosinality checkpoints in
the layouts of its ``convert_weight.py`` and ``train.py``.
"""

import os
import pickle
import sys
from collections import OrderedDict
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

from ganlens.models.stylegan2 import StyleGAN2Generator
from ganlens.models.stylegan2_rosinality import RosinalityGenerator
from ganlens.models.stylegan3 import StyleGAN3Generator
from ganlens.models.stylegan_files import (
    load_rosinality_checkpoint,
    load_stylegan_generator,
    stylegan_file_kind,
)
from ganlens.models.stylegan_nvlabs import load_nvlabs_pickle
from stylegan_writers import (
    SAFE_SRC,
    Reduce,
    nvlabs_globals,
    randomized,
    write_nvlabs,
    write_rosinality,
)

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
