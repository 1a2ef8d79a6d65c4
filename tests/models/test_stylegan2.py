"""ganlens' StyleGAN2 generators: NVlabs layout (stylegan2.py) and rosinality layout."""

import math

import pytest
import torch
import torch.nn.functional as F

from ganlens.hooks import trace
from ganlens.models.style_layers import (
    conv2d_resampled,
    fir_filter,
    modulated_conv2d,
    upfirdn2d,
    upsample2d,
)
from ganlens.models.stylegan2 import StyleGAN2Generator, stylegan2_channels
from ganlens.models.stylegan2_rosinality import RosinalityGenerator, rosinality_channels


def small(architecture: str = "skip", resolution: int = 16, **kw) -> StyleGAN2Generator:
    torch.manual_seed(0)
    g = StyleGAN2Generator(
        z_dim=8,
        w_dim=6,
        resolution=resolution,
        channel_base=16 * resolution,
        channel_max=12,
        mapping_layers=2,
        architecture=architecture,
        **kw,
    )
    with torch.no_grad():  # non-trivial noise strengths, biases and w_avg
        for p in g.parameters():
            p.add_(0.2 * torch.randn_like(p))
        g.mapping.w_avg.normal_()
    return g.eval()


def layer_keys(prefix: str, up: bool) -> set[str]:
    keys = {
        "weight",
        "bias",
        "noise_strength",
        "noise_const",
        "resample_filter",
        "affine.weight",
        "affine.bias",
    }
    return {f"{prefix}.{k}" for k in keys}


def torgb_keys(prefix: str) -> set[str]:
    return {f"{prefix}.{k}" for k in ("weight", "bias", "affine.weight", "affine.bias")}


@pytest.mark.parametrize("architecture", ["skip", "resnet", "orig"])
def test_state_dict_names_are_nvlabs_names(architecture):
    torch.manual_seed(0)
    g = StyleGAN2Generator(
        z_dim=4,
        w_dim=4,
        resolution=8,
        channel_base=64,
        channel_max=8,
        mapping_layers=1,
        architecture=architecture,
    )
    expected = {
        "mapping.fc0.weight",
        "mapping.fc0.bias",
        "mapping.w_avg",
        "synthesis.b4.const",
        "synthesis.b4.resample_filter",
        "synthesis.b8.resample_filter",
    }
    expected |= layer_keys("synthesis.b4.conv1", False)
    expected |= layer_keys("synthesis.b8.conv0", True) | layer_keys("synthesis.b8.conv1", False)
    expected |= torgb_keys("synthesis.b8.torgb")
    if architecture == "skip":
        expected |= torgb_keys("synthesis.b4.torgb")
    if architecture == "resnet":
        expected |= {"synthesis.b8.skip.weight", "synthesis.b8.skip.resample_filter"}
    state = g.state_dict()
    assert set(state) == expected
    assert state["synthesis.b8.conv0.weight"].shape == (8, 8, 3, 3)
    assert state["synthesis.b8.conv1.noise_const"].shape == (8, 8)
    assert state["synthesis.b4.const"].shape == (8, 4, 4)
    assert state["synthesis.b8.torgb.weight"].shape == (3, 8, 1, 1)
    assert torch.allclose(
        state["synthesis.b4.resample_filter"], torch.outer(*[torch.tensor([1.0, 3, 3, 1])] * 2) / 64
    )


@pytest.mark.parametrize("architecture", ["skip", "resnet", "orig"])
def test_featuremaps_have_the_block_resolution(architecture):
    g = small(architecture)
    channels = stylegan2_channels(16, 16 * 16, 12)
    assert g.featuremap_layers == (
        "synthesis.b4.conv1",
        "synthesis.b8.conv0",
        "synthesis.b8.conv1",
        "synthesis.b16.conv0",
        "synthesis.b16.conv1",
    )
    with trace(g, list(g.featuremap_layers)) as seen:
        image = g(torch.randn(3, 8))
    assert image.shape == (3, 3, 16, 16) and image.dtype == torch.float32
    for name, value in seen.items():
        r = int(name.split(".")[1][1:])
        assert value.shape == (3, channels[r], r, r), name
        assert g.featuremap_margin(name) == 0


def test_unknown_layer_names_the_layer_and_lists_the_valid_ones():
    g = small()
    with pytest.raises(ValueError, match=r"'synthesis\.b32\.conv1'.*synthesis\.b4\.conv1"):
        g.featuremap_margin("synthesis.b32.conv1")
    assert g.featuremap_margin("mapping.fc1") == g.featuremap_margin("synthesis.b8.torgb") == 0


def test_same_z_same_image_and_no_batch_dependence():
    g = small()
    z = torch.randn(4, 8, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        a, b, first = g(z), g(z), g(z[:1])
    assert torch.equal(a, b)
    assert torch.allclose(a[:1], first, atol=1e-5)


def test_truncation_zero_gives_the_w_avg_image_for_every_z():
    g = small()
    z = torch.randn(3, 8, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        images = g(z, truncation=0.0)
        centre = g.synthesis(g.mapping.w_avg.expand(1, g.num_ws, -1))
        g.truncation = 0.0
        via_attribute = g(z)
    assert torch.allclose(images, centre.expand_as(images), atol=1e-5)
    assert torch.equal(images, via_attribute)
    assert not torch.allclose(g(z, truncation=1.0)[0], images[0])


def test_truncation_interpolates_w():
    g = small()
    z = torch.randn(2, 8)
    w = g.mapping(z)
    assert torch.allclose(g.mapping(z, truncation=0.7), g.mapping.w_avg.lerp(w, 0.7), atol=1e-6)


def test_fp16_flag_is_ignored_on_the_cpu():
    g = small(num_fp16_res=2, conv_clamp=256)
    z = torch.randn(2, 8)
    with torch.no_grad():
        reference = g(z)
        g.fp16 = True
        assert torch.equal(g(z), reference)


@pytest.mark.gpu
def test_fp16_on_cuda_stays_close_to_float32():
    g = small(num_fp16_res=2, conv_clamp=256).cuda()
    z = torch.randn(4, 8, device="cuda")
    with torch.no_grad():
        reference = g(z)
        g.fp16 = True
        half = g(z)
    assert half.dtype == torch.float32
    assert (half - reference).abs().max() <= 2e-2 * reference.abs().max()


def test_bad_arguments():
    with pytest.raises(ValueError, match="power of two"):
        StyleGAN2Generator(resolution=12)
    with pytest.raises(ValueError, match="architecture"):
        StyleGAN2Generator(resolution=8, architecture="progressive")
    with pytest.raises(ValueError, match="channels"):
        StyleGAN2Generator(resolution=8, channels={4: 8})


def test_modulated_conv_equals_the_per_sample_weights_of_equations_1_to_3():
    g = torch.Generator().manual_seed(0)
    x, weight = torch.randn(2, 4, 5, 5, generator=g), torch.randn(3, 4, 3, 3, generator=g)
    styles = torch.rand(2, 4, generator=g) + 0.5
    out = modulated_conv2d(x, weight, styles, padding=1, weight_gain=0.3)
    for n in range(2):
        w1 = 0.3 * weight * styles[n].reshape(1, -1, 1, 1)  # equation 1
        w2 = w1 / (w1.square().sum(dim=[1, 2, 3], keepdim=True) + 1e-8).sqrt()  # equation 3
        assert torch.allclose(out[n : n + 1], F.conv2d(x[n : n + 1], w2, padding=1), atol=1e-5)


def test_upsampling_conv_is_conv_of_the_zero_stuffed_input_then_the_blur():
    g = torch.Generator().manual_seed(0)
    x, weight = torch.randn(1, 2, 4, 4, generator=g), torch.randn(3, 2, 3, 3, generator=g)
    f = fir_filter([1, 3, 3, 1])
    stuffed = torch.zeros(1, 2, 7, 7)
    stuffed[:, :, ::2, ::2] = x  # [1, 2, 2H-1, 2W-1]
    full = F.conv2d(F.pad(stuffed, [2, 2, 2, 2]), weight.flip([2, 3]))  # [1, 3, 2H+1, 2W+1]
    expected = F.conv2d(F.pad(full, [1, 1, 1, 1]), (4 * f).expand(3, 1, 4, 4), groups=3)
    assert torch.allclose(conv2d_resampled(x, weight, up=2, padding=1, f=f), expected, atol=1e-5)


def test_upfirdn_keeps_a_constant_and_crops_with_negative_padding():
    up = upsample2d(torch.full((1, 1, 4, 4), 2.0), fir_filter([1, 3, 3, 1]))
    assert torch.allclose(up[..., 2:-2, 2:-2], torch.full((1, 1, 4, 4), 2.0))
    x = torch.arange(16.0).reshape(1, 1, 4, 4)
    assert torch.equal(upfirdn2d(x, None, padding=(-1, 0, 0, -2)), x[:, :, :2, 1:])
    assert torch.equal(upfirdn2d(x, None, down=2), x[:, :, ::2, ::2])


# rosinality's layout ---------------------------------------------------------------------------


def rosinality_small(size: int = 16, **kw) -> RosinalityGenerator:
    torch.manual_seed(0)
    channels = {4: 8, 8: 8, 16: 6, 32: 4}
    g = RosinalityGenerator(size, style_dim=6, n_mlp=2, channels=channels, **kw)
    with torch.no_grad():
        for p in g.parameters():
            p.add_(0.2 * torch.randn_like(p))
    return g.eval()


def test_rosinality_names_and_shapes():
    torch.manual_seed(0)
    g = RosinalityGenerator(8, style_dim=4, n_mlp=2, channels={4: 6, 8: 5})

    def styled(p: str, blur: bool) -> set[str]:
        keys = {
            "conv.weight",
            "conv.modulation.weight",
            "conv.modulation.bias",
            "noise.weight",
            "activate.bias",
        } | ({"conv.blur.kernel"} if blur else set())
        return {f"{p}.{k}" for k in keys}

    def rgb(p: str, up: bool) -> set[str]:
        keys = {"conv.weight", "conv.modulation.weight", "conv.modulation.bias", "bias"}
        return {f"{p}.{k}" for k in keys | ({"upsample.kernel"} if up else set())}

    expected = {
        "style.1.weight",
        "style.1.bias",
        "style.2.weight",
        "style.2.bias",
        "input.input",
        "noises.noise_0",
        "noises.noise_1",
        "noises.noise_2",
    }
    expected |= styled("conv1", False) | styled("convs.0", True) | styled("convs.1", False)
    expected |= rgb("to_rgb1", False) | rgb("to_rgbs.0", True)
    state = g.state_dict()
    assert set(state) == expected
    assert state["convs.0.conv.weight"].shape == (1, 5, 6, 3, 3)
    assert state["to_rgbs.0.conv.weight"].shape == (1, 3, 5, 1, 1)
    assert state["to_rgb1.bias"].shape == (1, 3, 1, 1)
    assert state["noises.noise_2"].shape == (1, 1, 8, 8)
    assert state["input.input"].shape == (1, 6, 4, 4)
    assert torch.allclose(state["convs.0.conv.blur.kernel"].sum(), torch.tensor(4.0))
    assert rosinality_channels(256) == {
        4: 512,
        8: 512,
        16: 512,
        32: 512,
        64: 512,
        128: 256,
        256: 128,
    }


def test_rosinality_featuremaps_determinism_and_margins():
    g = rosinality_small()
    assert g.featuremap_layers == ("conv1", "convs.0", "convs.1", "convs.2", "convs.3")
    z = torch.randn(2, 6)
    with trace(g, list(g.featuremap_layers)) as seen, torch.no_grad():
        a = g(z)
    assert torch.equal(a, g(z)) and a.shape == (2, 3, 16, 16)
    sizes = {
        "conv1": (8, 4),
        "convs.0": (8, 8),
        "convs.1": (8, 8),
        "convs.2": (6, 16),
        "convs.3": (6, 16),
    }
    for name, (c, r) in sizes.items():
        assert seen[name].shape == (2, c, r, r)
        assert g.featuremap_margin(name) == 0
    with pytest.raises(ValueError, match=r"'convs\.4'.*conv1, convs\.0"):
        g.featuremap_margin("convs.4")


def test_rosinality_latent_avg_is_estimated_reproducibly_when_absent():
    g, h = rosinality_small(), rosinality_small()
    z = torch.randn(3, 6)
    with torch.no_grad():
        a = g(z, truncation=0.0)
        b = h(z, truncation=0.0)
    assert g.latent_avg_source == "estimated"
    assert torch.equal(g.latent_avg, h.latent_avg) and torch.equal(a, b)
    assert torch.allclose(a, a[:1].expand_as(a), atol=1e-5)
    g.set_latent_avg(torch.zeros(6))
    assert g.latent_avg_source == "file"
    with torch.no_grad():
        centre = g.synthesis(torch.zeros(1, g.n_latent, 6))
        assert torch.allclose(g(z, truncation=0.0), centre, atol=1e-5)


def nvlabs_to_rosinality(nv: StyleGAN2Generator) -> dict[str, torch.Tensor]:
    """Rename and reshape an NVlabs-layout (skip) state dict into rosinality's layout."""
    s, out = nv.state_dict(), {}
    for i in range(nv.mapping.num_layers):
        out[f"style.{i + 1}.weight"] = s[f"mapping.fc{i}.weight"]
        out[f"style.{i + 1}.bias"] = s[f"mapping.fc{i}.bias"]
    out["input.input"] = s["synthesis.b4.const"][None]
    convs = [("conv1", "synthesis.b4.conv1")]
    rgbs = [("to_rgb1", "synthesis.b4.torgb")]
    for j, r in enumerate(nv.synthesis.block_resolutions[1:]):
        convs += [
            (f"convs.{2 * j}", f"synthesis.b{r}.conv0"),
            (f"convs.{2 * j + 1}", f"synthesis.b{r}.conv1"),
        ]
        rgbs.append((f"to_rgbs.{j}", f"synthesis.b{r}.torgb"))
        out[f"to_rgbs.{j}.upsample.kernel"] = 4 * s[f"synthesis.b{r}.resample_filter"]
    for i, (ro, nvl) in enumerate(convs):
        out[f"{ro}.conv.weight"] = s[f"{nvl}.weight"][None]
        out[f"{ro}.conv.modulation.weight"] = s[f"{nvl}.affine.weight"]
        out[f"{ro}.conv.modulation.bias"] = s[f"{nvl}.affine.bias"]
        out[f"{ro}.noise.weight"] = s[f"{nvl}.noise_strength"].reshape(1)
        out[f"{ro}.activate.bias"] = s[f"{nvl}.bias"]
        out[f"noises.noise_{i}"] = s[f"{nvl}.noise_const"][None, None]
        if nvl.endswith("conv0"):
            out[f"{ro}.conv.blur.kernel"] = 4 * s[f"{nvl}.resample_filter"]
    for ro, nvl in rgbs:
        out[f"{ro}.conv.weight"] = s[f"{nvl}.weight"][None]
        out[f"{ro}.conv.modulation.weight"] = s[f"{nvl}.affine.weight"]
        out[f"{ro}.conv.modulation.bias"] = s[f"{nvl}.affine.bias"]
        out[f"{ro}.bias"] = s[f"{nvl}.bias"].reshape(1, 3, 1, 1)
    return out


def test_both_layouts_compute_the_same_network():
    nv = StyleGAN2Generator(
        z_dim=6, w_dim=6, resolution=16, channel_base=96, channel_max=8, mapping_layers=3
    )
    with torch.no_grad():
        for p in nv.parameters():
            p.add_(0.2 * torch.randn_like(p))
        nv.mapping.w_avg.normal_()
    ro = RosinalityGenerator(16, 6, 3, channels=stylegan2_channels(16, 96, 8))
    ro.load_state_dict(nvlabs_to_rosinality(nv), strict=True)
    ro.set_latent_avg(nv.mapping.w_avg)
    z = torch.randn(3, 6)
    with torch.no_grad():
        for psi in (1.0, 0.6):
            assert torch.allclose(nv(z, psi), ro(z, psi), atol=1e-5)
    assert math.isclose(ro.style[1].lr_multiplier, 0.01)
