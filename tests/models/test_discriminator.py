import math

import pytest
import torch
import torch.nn.functional as F

from ganlens.models.discriminator import ProgressiveDiscriminator
from ganlens.models.layers import EqualizedConv2d, EqualizedLinear, PixelNorm


def _small(resolution: int = 32, **kwargs: object) -> ProgressiveDiscriminator:
    torch.manual_seed(0)
    return ProgressiveDiscriminator(
        resolution=resolution,
        fmap_base=64,
        fmap_max=16,
        **kwargs,  # type: ignore[arg-type]
    )


def _perturb_(module: torch.nn.Module) -> None:
    with torch.no_grad():
        for p in module.parameters():
            p.add_(torch.randn_like(p))


@pytest.mark.parametrize("alpha", [0.0, 0.6, 1.0])
def test_output_shapes_every_resolution(alpha: float) -> None:
    d = _small(32)
    for r in d.resolutions:
        scores = d(torch.randn(4, 3, r, r), alpha=alpha)
        assert scores.shape == (4, 1)
        assert torch.isfinite(scores).all()


def test_structure_and_shapes() -> None:
    d = _small(32)  # channels (16, 16, 8, 4) at 4, 8, 16, 32
    assert d.channels == (16, 16, 8, 4)
    shapes = {k: tuple(v.shape) for k, v in d.state_dict().items()}
    assert shapes["from_rgb_32x32.conv.weight"] == (4, 3, 1, 1)
    assert shapes["from_rgb_4x4.conv.weight"] == (16, 3, 1, 1)
    assert shapes["block_32x32.conv0.weight"] == (4, 4, 3, 3)
    assert shapes["block_32x32.conv1.weight"] == (8, 4, 3, 3)
    assert shapes["block_8x8.conv1.weight"] == (16, 16, 3, 3)
    assert "block_4x4.conv0.weight" not in shapes
    assert shapes["head.conv.weight"] == (16, 17, 3, 3)  # + minibatch stddev channel
    assert shapes["head.dense0.weight"] == (16, 16 * 4 * 4)
    assert shapes["head.dense1.weight"] == (1, 16)
    modules = list(d.modules())
    assert not any(isinstance(m, PixelNorm) for m in modules)
    assert not any(isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)) for m in modules)
    assert d.head.dense1.scale == pytest.approx(1 / math.sqrt(16))
    assert d.head.dense0.scale == pytest.approx(math.sqrt(2) / math.sqrt(256))
    assert isinstance(d.head.dense0, EqualizedLinear)
    from_rgb = d.get_submodule("from_rgb_16x16.conv")
    assert isinstance(from_rgb, EqualizedConv2d)
    assert from_rgb.scale == pytest.approx(math.sqrt(2) / math.sqrt(3))


def test_fade_in_endpoints_are_exact() -> None:
    d = _small(32)
    for r in (8, 16, 32):
        x = torch.randn(4, 3, r, r)
        old = d(F.avg_pool2d(x, 2), alpha=1.0)
        assert torch.equal(d(x, alpha=0.0), old)
        new = d(x, alpha=1.0)
        assert not torch.allclose(old, new)
        # alpha = 1 uses only the new from-RGB; alpha = 0 only the old one.
        perturbed = _small(32)
        perturbed.load_state_dict(d.state_dict())
        _perturb_(perturbed.get_submodule(f"from_rgb_{r // 2}x{r // 2}"))
        assert torch.equal(perturbed(x, alpha=1.0), new)
        assert not torch.allclose(perturbed(x, alpha=0.0), old)


def test_fade_in_blends_features() -> None:
    d = _small(32)
    x = torch.randn(4, 3, 16, 16)
    seen: list[torch.Tensor] = []
    handle = d.get_submodule("block_8x8").register_forward_pre_hook(
        lambda _m, args: seen.append(args[0])
    )
    try:
        d(x, alpha=0.3)
    finally:
        handle.remove()
    old = d.get_submodule("from_rgb_8x8")(F.avg_pool2d(x, 2))
    new = d.get_submodule("block_16x16")(d.get_submodule("from_rgb_16x16")(x))
    assert len(seen) == 1
    torch.testing.assert_close(seen[0], torch.lerp(old, new, 0.3))


def test_minibatch_stddev_couples_samples() -> None:
    x = torch.randn(4, 3, 16, 16)
    y = x.clone()
    y[1] += 3.0
    coupled = _small(16, mbstd_group_size=4)
    assert not torch.allclose(coupled(x)[0], coupled(y)[0])
    independent = _small(16, mbstd_group_size=1)
    assert torch.equal(independent(x)[0], independent(y)[0])


def test_second_order_gradients_for_gradient_penalty() -> None:
    d = _small(16)
    x = torch.randn(4, 3, 16, 16, requires_grad=True)
    (grad,) = torch.autograd.grad(d(x, alpha=0.5).sum(), x, create_graph=True)
    assert grad.shape == x.shape
    penalty = (grad.flatten(1).norm(dim=1) - 1).square().mean()
    penalty.backward()
    assert d.head.dense0.weight.grad is not None
    assert d.head.dense0.weight.grad.abs().sum() > 0


def test_invalid_inputs() -> None:
    d = _small(16)
    with pytest.raises(ValueError, match=r"images must have shape \[N, 3, r, r\]"):
        d(torch.randn(2, 1, 16, 16))
    with pytest.raises(ValueError, match="square"):
        d(torch.randn(2, 3, 16, 8))
    with pytest.raises(ValueError, match="square"):
        d(torch.randn(2, 3, 32, 32))
    with pytest.raises(ValueError, match="alpha"):
        d(torch.randn(2, 3, 16, 16), alpha=-0.1)
    with pytest.raises(ValueError, match="resolution"):
        ProgressiveDiscriminator(resolution=12)
    with pytest.raises(ValueError, match="channels"):
        ProgressiveDiscriminator(resolution=16, channels=[4, 4])


def test_follows_input_dtype() -> None:
    d = _small(16).double()
    assert d(torch.randn(2, 3, 16, 16, dtype=torch.float64), alpha=0.5).dtype == torch.float64


@pytest.mark.gpu
def test_runs_on_cuda() -> None:
    d = _small(16).cuda()
    scores = d(torch.randn(4, 3, 16, 16, device="cuda"), alpha=0.5)
    assert scores.device.type == "cuda" and scores.shape == (4, 1)
