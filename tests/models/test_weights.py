import math
from collections import OrderedDict
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.nn.functional as F

from ganlens.models import ProgressiveGenerator, load_proggan_generator
from ganlens.models.weights import normalize_proggan_state_dict

LSUN_CHANNELS = (512, 512, 512, 512, 256, 128, 64)  # 4x4 .. 256x256
SMALL_CHANNELS = (12, 10, 6)  # 4x4 .. 16x16


def _gandissect_state_dict(
    channels: tuple[int, ...], latent: int, seed: int = 0
) -> OrderedDict[str, Any]:
    """Synthesise a generator state dict in gandissect's exact layout and key order."""
    gen = torch.Generator().manual_seed(seed)
    state: OrderedDict[str, Any] = OrderedDict()

    def add(index: int, c_out: int, c_in: int, k: int) -> None:
        state[f"layer{index}.conv.weight"] = torch.randn(c_out, c_in, k, k, generator=gen)
        state[f"layer{index}.wscale.b"] = 0.1 * torch.randn(c_out, generator=gen)

    add(1, channels[0], latent, 4)
    add(2, channels[0], channels[0], 3)
    for level in range(1, len(channels)):
        add(2 * level + 1, channels[level], channels[level - 1], 3)
        add(2 * level + 2, channels[level], channels[level], 3)
    r = 2 ** (len(channels) + 1)
    state[f"output_{r}x{r}.conv.weight"] = torch.randn(3, channels[-1], 1, 1, generator=gen)
    state[f"output_{r}x{r}.wscale.b"] = 0.1 * torch.randn(3, generator=gen)
    return state


def _to_old_names(state: OrderedDict[str, Any]) -> OrderedDict[str, Any]:
    old: OrderedDict[str, Any] = OrderedDict()
    for key, value in state.items():
        block, rest = key.split(".", 1)
        if block.startswith("layer"):
            old[f"features.{int(block[5:]) - 1}.{rest}"] = value
        else:
            old[f"output.{rest}"] = value
    return old


def _reference_forward(state: OrderedDict[str, Any], z: torch.Tensor) -> torch.Tensor:
    """The gandissect computation written out: pixel norm, conv, * gain/sqrt(fan_in), + b, lrelu."""

    def pixel_norm(x: torch.Tensor) -> torch.Tensor:
        return x / torch.sqrt(x.pow(2).mean(dim=1, keepdim=True) + 1e-8)

    x = z.view(z.shape[0], -1, 1, 1)
    n_layers = sum(1 for k in state if k.startswith("layer")) // 2
    for i in range(1, n_layers + 1):
        w, b = state[f"layer{i}.conv.weight"], state[f"layer{i}.wscale.b"]
        x = pixel_norm(x)
        if i > 2 and i % 2 == 1:
            x = F.interpolate(x, scale_factor=2, mode="nearest")
        k = w.shape[-1]
        x = F.conv2d(x, w, padding=3 if i == 1 else 1)
        x = F.leaky_relu(
            x * math.sqrt(2) / math.sqrt(w.shape[1] * k * k) + b.view(1, -1, 1, 1), 0.2
        )
    (w_key,) = [k for k in state if k.startswith("output") and k.endswith("weight")]
    w, b = state[w_key], state[w_key.replace("conv.weight", "wscale.b")]
    assert isinstance(b, torch.Tensor)
    image: torch.Tensor = F.conv2d(pixel_norm(x), w) / math.sqrt(w.shape[1])
    return image + b.view(1, -1, 1, 1)


@pytest.fixture(scope="module")
def lsun_state() -> OrderedDict[str, Any]:
    return _gandissect_state_dict(LSUN_CHANNELS, 512)


def test_lsun_layout_is_inferred(lsun_state: OrderedDict[str, Any]) -> None:
    g = load_proggan_generator(lsun_state)
    assert g.resolution == 256 and g.latent_size == 512 and g.channels == LSUN_CHANNELS
    assert g.rgb_outputs == "final" and g.layer_names[-1] == "layer14"
    assert sum(p.numel() for p in g.parameters()) == 23_036_995
    assert list(g.state_dict()) == list(lsun_state)
    assert all(torch.equal(g.state_dict()[k], v) for k, v in lsun_state.items())
    seen: dict[str, torch.Tensor] = {}
    handle = g.get_submodule("layer4").register_forward_hook(
        lambda _m, _i, out: seen.__setitem__("layer4", out)
    )
    try:
        with torch.no_grad():
            image = g(torch.randn(1, 512))
    finally:
        handle.remove()
    assert seen["layer4"].shape == (1, 512, 8, 8)
    assert image.shape == (1, 3, 256, 256)


def test_old_names_and_wrapper_load_identically(lsun_state: OrderedDict[str, Any]) -> None:
    old = {"state_dict": _to_old_names(lsun_state)}
    assert "features.13.wscale.b" in old["state_dict"] and "output.conv.weight" in old["state_dict"]
    loaded = load_proggan_generator(old)
    assert loaded.channels == LSUN_CHANNELS
    assert list(loaded.state_dict()) == list(lsun_state)
    assert all(torch.equal(loaded.state_dict()[k], v) for k, v in lsun_state.items())


def test_matches_reference_computation() -> None:
    state = _gandissect_state_dict(SMALL_CHANNELS, latent=7, seed=1)
    g = load_proggan_generator(state)
    z = torch.randn(3, 7)
    torch.testing.assert_close(g(z), _reference_forward(state, z), rtol=1e-4, atol=1e-5)
    wrapped_old = load_proggan_generator({"state_dict": _to_old_names(state)})
    assert torch.equal(wrapped_old(z), g(z))


def test_roundtrip_through_file(tmp_path: Path) -> None:
    state = _gandissect_state_dict(SMALL_CHANNELS, latent=7, seed=2)
    path = tmp_path / "proggan.pth"
    torch.save(state, path)
    z = torch.randn(2, 7)
    from_dict = load_proggan_generator(state)(z)
    assert torch.equal(load_proggan_generator(path)(z), from_dict)
    assert torch.equal(load_proggan_generator(str(path))(z), from_dict)


def test_roundtrip_of_own_final_generator() -> None:
    torch.manual_seed(0)
    g = ProgressiveGenerator(
        resolution=32, latent_size=5, channels=[8, 8, 6, 4], rgb_outputs="final"
    )
    loaded = load_proggan_generator(g.state_dict())
    z = torch.randn(2, 5)
    assert loaded.channels == (8, 8, 6, 4) and torch.equal(loaded(z), g(z))


def test_own_default_generator_with_every_to_rgb_head_loads() -> None:
    # A ProgressiveGenerator's own state dict holds a to-RGB head per resolution (for growing);
    # the loader keeps the final one and drops the others (a lone half head stays unexpected).
    torch.manual_seed(0)
    g = ProgressiveGenerator(resolution=32, latent_size=5, channels=[8, 8, 6, 4])
    assert "output_8x8.conv.weight" in g.state_dict()
    loaded = load_proggan_generator(g.state_dict())
    z = torch.randn(2, 5)
    assert torch.equal(loaded(z), g(z))


@pytest.mark.parametrize(
    ("removed", "named"),
    [
        (["layer7.conv.weight", "layer7.wscale.b"], ["layer7.conv.weight", "layer7.wscale.b"]),
        (["layer5.wscale.b"], ["layer5.wscale.b"]),
        (["layer14.conv.weight", "layer14.wscale.b"], ["layer14.conv.weight", "layer14.wscale.b"]),
        (["output_256x256.wscale.b"], ["output_256x256.wscale.b"]),
    ],
)
def test_truncated_dict_names_missing_keys(
    lsun_state: OrderedDict[str, Any], removed: list[str], named: list[str]
) -> None:
    state = OrderedDict((k, v) for k, v in lsun_state.items() if k not in removed)
    with pytest.raises(ValueError, match="missing keys") as info:
        load_proggan_generator(state)
    for key in named:
        assert repr(key) in str(info.value)
    assert ("odd number of trunk layers (13)" in str(info.value)) == ("layer14.wscale.b" in named)


def test_unexpected_keys_are_named(lsun_state: OrderedDict[str, Any]) -> None:
    state = OrderedDict(lsun_state)
    state["output_128x128.conv.weight"] = torch.zeros(3, 64, 1, 1)
    state["layer3.extra"] = torch.zeros(1)
    with pytest.raises(ValueError, match="unexpected keys") as info:
        load_proggan_generator(state)
    assert "'output_128x128.conv.weight'" in str(info.value)
    assert "'layer3.extra'" in str(info.value)
    mixed = OrderedDict(lsun_state)
    mixed["features.0.conv.weight"] = lsun_state["layer1.conv.weight"]
    with pytest.raises(ValueError, match="mixes"):
        load_proggan_generator(mixed)


@pytest.mark.parametrize(
    ("key", "shape"),
    [
        ("layer9.wscale.b", (128,)),  # bias does not match its conv weight (256)
        ("layer3.conv.weight", (512, 256, 3, 3)),  # input channels disagree with layer2
        ("layer1.conv.weight", (512, 512, 3, 3)),  # layer1 must be 4x4
        ("output_256x256.conv.weight", (3, 128, 1, 1)),
    ],
)
def test_shape_mismatch_names_keys(
    lsun_state: OrderedDict[str, Any], key: str, shape: tuple[int, ...]
) -> None:
    state = OrderedDict(lsun_state)
    state[key] = torch.zeros(shape)
    with pytest.raises(ValueError, match="mismatched keys") as info:
        load_proggan_generator(state)
    assert f"{key}: got {list(shape)}" in str(info.value)


def test_other_invalid_inputs(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no ProgGAN trunk layers"):
        load_proggan_generator({"something.weight": torch.zeros(1)})
    with pytest.raises(ValueError, match="mapping"):
        load_proggan_generator([torch.zeros(1)])  # type: ignore[arg-type]
    small = _gandissect_state_dict((8, 8), latent=4)  # an 8x8 generator: 4 trunk layers
    with pytest.raises(ValueError, match=r"8x8 generator; supported resolutions are 16\.\.1024"):
        load_proggan_generator(small)
    state = _gandissect_state_dict(SMALL_CHANNELS, latent=4)
    state["layer2.wscale.b"] = [0.0]
    with pytest.raises(ValueError, match=r"not tensors: \['layer2.wscale.b'\]"):
        load_proggan_generator(state)
    state = _gandissect_state_dict(SMALL_CHANNELS, latent=4)
    state["layer4.conv.weight"] = torch.zeros(10, 10)
    with pytest.raises(ValueError, match=r"4-D .*layer4.conv.weight: \[10, 10\]"):
        load_proggan_generator(state)
    corrupt = tmp_path / "corrupt.pth"
    corrupt.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="could not read"):
        load_proggan_generator(corrupt)
    with pytest.raises(FileNotFoundError):
        load_proggan_generator(tmp_path / "absent.pth")


def test_normalize_keeps_tensors_and_order() -> None:
    state = _gandissect_state_dict(SMALL_CHANNELS, latent=4)
    normalized = normalize_proggan_state_dict({"state_dict": _to_old_names(state)})
    assert list(normalized) == list(state)
    assert all(normalized[k] is state[k] for k in state)
