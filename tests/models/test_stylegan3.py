"""ganlens' StyleGAN3 generator (configs T and R) and its Kaiser filter design."""

import numpy as np
import pytest
import torch

from ganlens.hooks import trace
from ganlens.models.stylegan3 import StyleGAN3Generator
from ganlens.models.stylegan3_filters import kaiser_beta, lowpass_filter


def tiny(config: str = "T", **kw) -> StyleGAN3Generator:
    torch.manual_seed(0)
    extra = dict(conv_kernel=1, use_radial_filters=True) if config == "R" else {}
    g = StyleGAN3Generator(
        z_dim=8,
        w_dim=8,
        resolution=16,
        channel_base=256,
        channel_max=8,
        num_layers=5,
        margin_size=3,
        **extra,
        **kw,
    )
    with torch.no_grad():
        g.mapping.w_avg.normal_()
        for p in g.parameters():
            p.add_(0.1 * torch.randn_like(p))
    return g.eval()


def test_filters_match_scipy_firwin_and_the_radial_design():
    signal = pytest.importorskip("scipy.signal")
    special = pytest.importorskip("scipy.special")
    for numtaps, cutoff, width, fs in [(12, 2.0, 4.0, 16.0), (24, 5.3, 3.1, 64.0), (13, 3, 2, 20)]:
        ours = lowpass_filter(numtaps, cutoff, width, fs).numpy()
        theirs = signal.firwin(numtaps=numtaps, cutoff=cutoff, width=width, fs=fs)
        assert np.abs(ours - theirs).max() < 1e-7
    numtaps, cutoff, width, fs = 12, 5.0, 6.0, 32.0
    x = (np.arange(numtaps) - (numtaps - 1) / 2) / fs
    r = np.hypot(*np.meshgrid(x, x))
    f = special.j1(2 * cutoff * np.pi * r) / (np.pi * r)
    window = np.kaiser(numtaps, signal.kaiser_beta(signal.kaiser_atten(numtaps, width / (fs / 2))))
    f *= np.outer(window, window)
    f /= f.sum()
    assert np.abs(lowpass_filter(numtaps, cutoff, width, fs, radial=True).numpy() - f).max() < 1e-7
    for attenuation in (10.0, 30.0, 60.0):
        assert kaiser_beta(attenuation) == pytest.approx(signal.kaiser_beta(attenuation))
    assert lowpass_filter(1, 1.0, 1.0, 4.0) is None


def test_layer_names_shapes_and_margins():
    g = tiny()
    names = g.synthesis.layer_names
    assert names[-1] == "L5_16_3" and names[-2] == "L4_16_8"
    assert g.featuremap_layers == ("synthesis.input", *(f"synthesis.{n}" for n in names))
    seen: dict[str, torch.Tensor] = {}
    hooks = [
        g.get_submodule(n).register_forward_hook(lambda m, i, o, n=n: seen.setdefault(n, o))
        for n in g.featuremap_layers
    ]
    with trace(g, list(g.featuremap_layers)) as cropped:  # ganlens.hooks drops the margins
        image = g(torch.randn(2, 8))
    for hook in hooks:
        hook.remove()
    assert image.shape == (2, 3, 16, 16) and image.dtype == torch.float32
    for name in g.featuremap_layers:
        out = seen[name]
        assert out.ndim == 4 and out.shape[0] == 2 and out.shape[2] == out.shape[3]
        if name != "synthesis.input":
            _, size, channels = name.split(".")[1].split("_")
            assert out.shape[1:3] == (int(channels), int(size))
        margin = g.featuremap_margin(name)
        assert margin == (0 if name.endswith(("L4_16_8", "L5_16_3")) else 3), name
        inner = out.shape[-1] - 2 * margin  # the sampling rate: a power of two up to R
        assert inner in (4, 8, 16), name
        assert torch.equal(
            cropped[name], out[..., margin : margin + inner, margin : margin + inner]
        )
    assert seen["synthesis.input"].shape == (2, 8, 16 + 6, 16 + 6)  # sampling rate 16, margin 3


def test_unknown_layer():
    g = tiny()
    with pytest.raises(ValueError, match=r"'synthesis\.L9'.*synthesis\.input, synthesis\.L0"):
        g.featuremap_margin("synthesis.L9")
    assert (
        g.featuremap_margin("mapping.fc0") == g.featuremap_margin("synthesis.L0_22_8.affine") == 0
    )


@pytest.mark.parametrize("config", ["T", "R"])
def test_deterministic_batch_independent_and_truncated(config):
    g = tiny(config)
    z = torch.randn(3, 8, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        a, b, first = g(z), g(z), g(z[:1])
        centre = g(z, truncation=0.0)
        w_avg_image = g.synthesis(g.mapping.w_avg.expand(1, g.num_ws, -1))
    assert torch.equal(a, b)
    assert torch.allclose(a[:1], first, atol=1e-6)
    assert torch.allclose(centre, w_avg_image.expand_as(centre), atol=1e-6)
    assert a.abs().max() < 10


def test_config_r_has_1x1_convs_and_radial_filters():
    g = tiny("R")
    layers = [getattr(g.synthesis, n) for n in g.synthesis.layer_names]
    assert all(layer.weight.shape[-1] == 1 for layer in layers)
    radial = [
        layer for layer in layers if layer.down_filter is not None and layer.down_filter.ndim == 2
    ]
    assert radial and all(abs(float(layer.down_filter.sum()) - 1) < 1e-5 for layer in radial)
    t = tiny("T")
    assert all(
        getattr(t.synthesis, n).down_filter is None or getattr(t.synthesis, n).down_filter.ndim == 1
        for n in t.synthesis.layer_names
    )


def test_undesigned_filters_have_the_designed_shapes():
    torch.manual_seed(0)
    kw = dict(z_dim=4, w_dim=4, resolution=16, channel_base=64, channel_max=4, num_layers=4)
    designed = StyleGAN3Generator(**kw, use_radial_filters=True).state_dict()
    empty = StyleGAN3Generator(**kw, use_radial_filters=True, design_filters=False).state_dict()
    assert {k: v.shape for k, v in designed.items()} == {k: v.shape for k, v in empty.items()}


def test_default_schedule_names():
    torch.manual_seed(0)
    g = StyleGAN3Generator(z_dim=4, w_dim=4, resolution=64, channel_base=256, channel_max=16)
    assert g.num_ws == 16 and len(g.synthesis.layer_names) == 15
    assert g.synthesis.layer_names[0] == "L0_36_16" and g.synthesis.layer_names[-3:] == [
        "L12_84_4",
        "L13_64_4",
        "L14_64_3",
    ]
    assert g.featuremap_margin("synthesis.L12_84_4") == 10
