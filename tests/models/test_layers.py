import math
import statistics

import pytest
import torch
import torch.nn.functional as F

from ganlens.models.layers import (
    ChannelBias,
    EqualizedConv2d,
    EqualizedLinear,
    MinibatchStdDev,
    PixelNorm,
    he_constant,
)


def test_he_constant_values() -> None:
    assert he_constant(512 * 3 * 3) == pytest.approx(math.sqrt(2) / math.sqrt(4608))
    assert he_constant(64, gain=1.0) == pytest.approx(0.125)
    with pytest.raises(ValueError, match="fan_in"):
        he_constant(0)


@pytest.mark.parametrize(
    ("c_in", "c_out", "k", "gain"),
    [(512, 512, 4, math.sqrt(2)), (16, 8, 3, math.sqrt(2)), (64, 3, 1, 1.0)],
)
def test_equalized_conv_scale_and_init(c_in: int, c_out: int, k: int, gain: float) -> None:
    torch.manual_seed(0)
    conv = EqualizedConv2d(c_in, c_out, k, gain=gain)
    assert conv.scale == pytest.approx(gain / math.sqrt(c_in * k * k), rel=1e-12)
    assert conv.weight.shape == (c_out, c_in, k, k)
    assert conv.bias is not None and torch.count_nonzero(conv.bias) == 0
    if conv.weight.numel() > 100_000:  # stored weights are N(0, 1), not pre-scaled
        assert abs(conv.weight.mean().item()) < 0.01
        assert conv.weight.std().item() == pytest.approx(1.0, abs=0.01)


def test_equalized_conv_forward_scales_at_runtime() -> None:
    torch.manual_seed(0)
    conv = EqualizedConv2d(4, 6, 3, padding=1)
    with torch.no_grad():
        assert conv.bias is not None
        conv.bias.normal_()
    x = torch.randn(2, 4, 5, 5)
    expected = F.conv2d(x, conv.weight, None, padding=1) * conv.scale + conv.bias.view(1, -1, 1, 1)
    torch.testing.assert_close(conv(x), expected)
    # Scaling the stored weights changes the output: the scale is applied on every call.
    with torch.no_grad():
        conv.weight.mul_(2.0)
    torch.testing.assert_close(conv(x), 2 * expected - conv.bias.view(1, -1, 1, 1))


def test_equalized_conv_gradient_is_scaled() -> None:
    torch.manual_seed(0)
    conv = EqualizedConv2d(3, 5, 3, padding=1, bias=False)
    plain = torch.nn.Conv2d(3, 5, 3, padding=1, bias=False)
    with torch.no_grad():
        plain.weight.copy_(conv.weight * conv.scale)
    x = torch.randn(2, 3, 6, 6)
    conv(x).square().sum().backward()
    plain(x).square().sum().backward()
    assert conv.weight.grad is not None and plain.weight.grad is not None
    torch.testing.assert_close(conv.weight.grad, plain.weight.grad * conv.scale)


def test_equalized_linear() -> None:
    torch.manual_seed(0)
    dense = EqualizedLinear(32, 4, gain=1.0)
    assert dense.scale == pytest.approx(1 / math.sqrt(32))
    with torch.no_grad():
        assert dense.bias is not None
        dense.bias.normal_()
    x = torch.randn(3, 32)
    torch.testing.assert_close(dense(x), x @ dense.weight.T * dense.scale + dense.bias)
    assert EqualizedLinear(8, 2, bias=False).bias is None
    assert EqualizedLinear(8, 2).scale == pytest.approx(math.sqrt(2) / math.sqrt(8))


def test_channel_bias() -> None:
    bias = ChannelBias(3)
    with torch.no_grad():
        bias.b.copy_(torch.tensor([1.0, 2.0, 3.0]))
    out = bias(torch.zeros(2, 3, 2, 2))
    assert out.shape == (2, 3, 2, 2)
    assert torch.equal(out[1, :, 1, 0], torch.tensor([1.0, 2.0, 3.0]))


def test_pixel_norm_by_hand() -> None:
    out = PixelNorm()(torch.tensor([3.0, 4.0]).view(1, 2, 1, 1))
    denom = math.sqrt((9 + 16) / 2 + 1e-8)
    assert out.flatten().tolist() == pytest.approx([3 / denom, 4 / denom], rel=1e-6)
    torch.manual_seed(0)
    x = torch.randn(2, 5, 3, 3)
    y = PixelNorm()(x)
    for n, h, w in [(0, 0, 0), (1, 2, 1)]:
        vec = x[n, :, h, w].tolist()
        rms = math.sqrt(sum(v * v for v in vec) / len(vec) + 1e-8)
        assert y[n, :, h, w].tolist() == pytest.approx([v / rms for v in vec], rel=1e-5)
    torch.testing.assert_close(y.square().mean(dim=1), torch.ones(2, 3, 3))


def _hand_mbstd(x: torch.Tensor, group: int) -> list[float]:
    """Per-sample statistic computed with plain Python (strided groups, population std)."""
    n = x.shape[0]
    m = n // group
    values = []
    for sample in range(n):
        members = [x[j] for j in range(n) if j % m == sample % m]
        feats = [[t.flatten()[i].item() for t in members] for i in range(x[0].numel())]
        stds = [math.sqrt(statistics.pvariance(f) + 1e-8) for f in feats]
        values.append(sum(stds) / len(stds))
    return values


@pytest.mark.parametrize(("n", "group", "effective"), [(4, 2, 2), (8, 4, 4), (6, 4, 3), (2, 4, 2)])
def test_minibatch_stddev_by_hand(n: int, group: int, effective: int) -> None:
    torch.manual_seed(n)
    x = torch.randn(n, 2, 2, 2, dtype=torch.float64)
    layer = MinibatchStdDev(group)
    assert layer.effective_group_size(n) == effective
    y = layer(x)
    assert y.shape == (n, 3, 2, 2)
    assert torch.equal(y[:, :2], x)
    stat = y[:, 2]  # constant over space
    assert torch.equal(stat, stat[:, :1, :1].expand_as(stat))
    assert stat[:, 0, 0].tolist() == pytest.approx(_hand_mbstd(x, effective), rel=1e-9)


def test_minibatch_stddev_groups_are_strided() -> None:
    # Samples 0 and 2 are identical, 1 and 3 differ: with strided groups {0, 2} and {1, 3}
    # the first group's statistic is sqrt(1e-8).
    x = torch.tensor([1.0, 5.0, 1.0, -5.0]).view(4, 1, 1, 1)
    stat = MinibatchStdDev(2)(x)[:, 1].flatten()
    assert stat.tolist() == pytest.approx([1e-4, 5.0, 1e-4, 5.0], rel=1e-6)


def test_minibatch_stddev_indivisible_batch() -> None:
    x = torch.randn(5, 3, 2, 2)
    layer = MinibatchStdDev(4)
    assert layer.effective_group_size(5) == 1
    stat = layer(x)[:, 3]
    torch.testing.assert_close(stat, torch.full_like(stat, 1e-4))
    with pytest.raises(ValueError, match="group_size"):
        MinibatchStdDev(0)
