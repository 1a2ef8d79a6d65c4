import math

import pytest
import torch
import torch.nn.functional as F

from ganlens.models.generator import ProgressiveGenerator
from ganlens.models.layers import EqualizedConv2d

LATENT = 8


def _small(resolution: int = 32, **kwargs: object) -> ProgressiveGenerator:
    torch.manual_seed(0)
    return ProgressiveGenerator(
        resolution=resolution,
        latent_size=LATENT,
        fmap_base=64,
        fmap_max=16,
        **kwargs,  # type: ignore[arg-type]
    )


def _capture(module: torch.nn.Module, z: torch.Tensor, names: list[str], **kw: object) -> dict:
    seen: dict[str, torch.Tensor] = {}
    handles = [
        module.get_submodule(name).register_forward_hook(
            lambda _m, _i, out, name=name: seen.__setitem__(name, out)
        )
        for name in names
    ]
    try:
        seen["image"] = module(z, **kw)
    finally:
        for handle in handles:
            handle.remove()
    return seen


@pytest.mark.parametrize("resolution", [8, 2048, 24, 0, -16])
def test_invalid_resolution(resolution: int) -> None:
    with pytest.raises(ValueError, match=r"resolution must be a power of two .*got"):
        ProgressiveGenerator(resolution=resolution, latent_size=4)


def test_invalid_arguments() -> None:
    with pytest.raises(ValueError, match="channels must hold 3"):
        ProgressiveGenerator(resolution=16, latent_size=4, channels=[8, 8])
    with pytest.raises(ValueError, match="channels"):
        ProgressiveGenerator(resolution=16, latent_size=4, channels=[8, 0, 8])
    with pytest.raises(ValueError, match="rgb_outputs"):
        ProgressiveGenerator(resolution=16, latent_size=4, rgb_outputs="some")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="latent_size"):
        ProgressiveGenerator(resolution=16, latent_size=0)


def test_block_names_and_state_dict_keys() -> None:
    g = _small(32)
    assert g.layer_names == tuple(f"layer{i}" for i in range(1, 9))
    assert g.resolutions == (4, 8, 16, 32)
    keys = set(g.state_dict())
    expected = {f"layer{i}.{s}" for i in range(1, 9) for s in ("conv.weight", "wscale.b")}
    outputs = {f"output_{r}x{r}.{s}" for r in (4, 8, 16, 32) for s in ("conv.weight", "wscale.b")}
    assert keys == expected | outputs
    final = _small(32, rgb_outputs="final")
    assert set(final.state_dict()) == expected | {
        "output_32x32.conv.weight",
        "output_32x32.wscale.b",
    }


def test_explicit_channels_and_weight_shapes() -> None:
    g = ProgressiveGenerator(resolution=16, latent_size=6, channels=[10, 7, 5], image_channels=2)
    shapes = {k: tuple(v.shape) for k, v in g.state_dict().items()}
    assert shapes["layer1.conv.weight"] == (10, 6, 4, 4)
    assert shapes["layer2.conv.weight"] == (10, 10, 3, 3)
    assert shapes["layer3.conv.weight"] == (7, 10, 3, 3)
    assert shapes["layer6.conv.weight"] == (5, 5, 3, 3)
    assert shapes["layer6.wscale.b"] == (5,)
    assert shapes["output_8x8.conv.weight"] == (2, 7, 1, 1)
    assert shapes["output_16x16.wscale.b"] == (2,)


def test_equalized_lr_scales() -> None:
    g = _small(16)
    layer1 = g.get_submodule("layer1.conv")
    assert isinstance(layer1, EqualizedConv2d)
    assert layer1.scale == pytest.approx(math.sqrt(2) / math.sqrt(LATENT * 16))
    assert g.get_submodule("layer3.conv").scale == pytest.approx(math.sqrt(2) / math.sqrt(16 * 9))
    assert g.get_submodule("output_16x16.conv").scale == pytest.approx(1 / math.sqrt(8))


@pytest.mark.parametrize("alpha", [0.0, 0.3, 1.0])
def test_output_shapes_every_resolution(alpha: float) -> None:
    g = _small(32)
    z = torch.randn(3, LATENT)
    for r in g.resolutions:
        image = g(z, resolution=r, alpha=alpha)
        assert image.shape == (3, 3, r, r)
        assert torch.isfinite(image).all()


def test_block_outputs_are_post_activation_featuremaps() -> None:
    g = _small(32)
    z = torch.randn(2, LATENT)
    names = [*g.layer_names, "layer5.wscale"]
    seen = _capture(g, z, names)
    for i, name in enumerate(g.layer_names):
        level = i // 2
        r = 4 * 2**level
        assert seen[name].shape == (2, g.channels[level], r, r)
    torch.testing.assert_close(
        seen["layer5"], F.leaky_relu(seen["layer5.wscale"], 0.2), rtol=0, atol=0
    )
    assert (seen["layer5"] < 0).any()  # leaky, not clamped


def test_fade_in_endpoints_are_exact() -> None:
    g = _small(32)
    z = torch.randn(4, LATENT)
    for r in (8, 16, 32):
        old = F.interpolate(g(z, resolution=r // 2, alpha=1.0), scale_factor=2, mode="nearest")
        assert torch.equal(g(z, resolution=r, alpha=0.0), old)
        last = f"layer{2 * int(math.log2(r)) - 2}"
        seen = _capture(g, z, [last], resolution=r, alpha=1.0)
        new = g.to_rgb(r)(seen[last])
        assert torch.equal(seen["image"], new)
        mid = g(z, resolution=r, alpha=0.25)
        torch.testing.assert_close(mid, torch.lerp(old, new, 0.25))
        assert not torch.allclose(mid, old) and not torch.allclose(mid, new)


def test_plain_forward_and_stage() -> None:
    g = _small(16)
    z = torch.randn(2, LATENT)
    assert g.current_resolution == 16 and g.alpha == 1.0
    assert torch.equal(g(z), g(z, resolution=16, alpha=1.0))
    g.set_stage(8, alpha=0.5)
    assert torch.equal(g(z), g(z, resolution=8, alpha=0.5))
    with pytest.raises(ValueError, match="resolution must be one of"):
        g.set_stage(32)
    with pytest.raises(ValueError, match="alpha"):
        g(z, resolution=8, alpha=1.5)
    assert g.current_resolution == 8  # a failed set_stage changes nothing


def test_final_only_generator_renders_only_at_max_resolution() -> None:
    g = _small(16, rgb_outputs="final")
    z = torch.randn(2, LATENT)
    assert g(z).shape == (2, 3, 16, 16)
    with pytest.raises(ValueError, match="output_8x8"):
        g(z, resolution=8)
    with pytest.raises(ValueError, match="output_8x8"):
        g(z, alpha=0.5)


def test_latent_is_pixel_normalised_and_shapes_checked() -> None:
    g = _small(16)
    z = torch.randn(3, LATENT)
    torch.testing.assert_close(g(3.0 * z), g(z))
    assert torch.equal(g(z.view(3, LATENT, 1, 1)), g(z))
    with pytest.raises(ValueError, match=r"z must have shape \[N, 8\].*got \[3, 7\]"):
        g(torch.randn(3, 7))


def test_no_output_activation() -> None:
    g = _small(16)
    with torch.no_grad():
        g.to_rgb(16).wscale.b.fill_(5.0)
    image = g(torch.randn(4, LATENT))
    assert image.mean().item() > 3.0 and image.max().item() > 5.0


def test_follows_input_dtype() -> None:
    g = _small(16).double()
    assert g(torch.randn(2, LATENT, dtype=torch.float64), alpha=0.5).dtype == torch.float64


@pytest.mark.gpu
def test_runs_on_cuda() -> None:
    g = _small(16).cuda()
    image = g(torch.randn(2, LATENT, device="cuda"), resolution=8, alpha=0.5)
    assert image.device.type == "cuda" and image.shape == (2, 3, 8, 8)
