"""Hooks checked exactly against hand-computed outputs of a hand-weighted network.

The toy network: ``layer1`` is a 1x1 conv with weights (1, 2, 3) and no bias, so unit u of its
output is ``(u + 1) * x``; ``layer2`` sums the three units. Every expected value below is worked
out from that by hand.
"""

import pytest
import torch
from torch import nn

from ganlens.hooks import Intervention, get_layer, intervene, layer_names, layers_run, trace

X = torch.tensor([[1.0, 2.0], [3.0, 4.0]])  # the input image, [H, W]


def toy() -> nn.Module:
    net = nn.Sequential()
    net.add_module("layer1", nn.Conv2d(1, 3, 1, bias=False))
    net.add_module("layer2", nn.Conv2d(3, 1, 1, bias=False))
    with torch.no_grad():
        net.layer1.weight.copy_(torch.tensor([1.0, 2.0, 3.0]).reshape(3, 1, 1, 1))
        net.layer2.weight.fill_(1.0)
    return net


def run(net: nn.Module, batch: int = 1) -> torch.Tensor:
    return net(X.expand(batch, 1, 2, 2))[:, 0]  # [N, H, W]


def test_trace_records_several_layers_in_one_pass():
    net = toy()
    with trace(net, ["layer1", "layer2"]) as features:
        run(net)
    assert torch.equal(features["layer1"][0], torch.stack([X, 2 * X, 3 * X]))
    assert torch.equal(features["layer2"][0, 0], 6 * X)
    assert features["layer1"].grad_fn is None


def test_trace_without_detach_keeps_the_graph():
    net = toy()
    with trace(net, "layer1", detach=False) as features:
        run(net)
    features["layer1"].sum().backward()
    assert torch.equal(net.layer1.weight.grad.flatten(), torch.full((3,), X.sum().item()))


def test_trace_clone_protects_against_later_in_place_ops():
    net = nn.Sequential(nn.Conv2d(1, 1, 1, bias=False), nn.ReLU(inplace=True))
    with torch.no_grad():
        net[0].weight.fill_(-1.0)
    with trace(net, "0") as shared, trace(net, "0", clone=True) as copied:
        net(X[None, None])
    assert torch.equal(shared["0"][0, 0], torch.zeros(2, 2))  # overwritten by the in-place ReLU
    assert torch.equal(copied["0"][0, 0], -X)


def test_ablation_of_one_unit_everywhere():
    net = toy()
    with intervene(net, Intervention("layer1", units=[1])):
        assert torch.equal(run(net)[0], 4 * X)  # x + 3x
    assert torch.equal(run(net)[0], 6 * X)  # hook gone


def test_insertion_of_a_constant_under_a_hard_mask():
    mask = torch.tensor([[True, False], [False, False]])
    net = toy()
    with intervene(net, Intervention("layer1", units=[0], value=10.0, mask=mask)):
        out = run(net)[0]
    expected = 6 * X
    expected[0, 0] = 10 + 2 * 1 + 3 * 1
    assert torch.equal(out, expected)


def test_soft_mask_and_per_unit_alpha():
    net = toy()
    with intervene(net, Intervention("layer1", units=[2], mask=torch.full((2, 2), 0.5))):
        assert torch.allclose(run(net)[0], 4.5 * X)  # x + 2x + 0.5 * 3x
    alpha = torch.tensor([0.25, 0.0, 1.0])
    with intervene(net, Intervention("layer1", alpha=alpha)):
        assert torch.allclose(run(net)[0], 2.75 * X)  # 0.75x + 2x + 0


def test_alpha_for_selected_units_and_per_unit_values():
    net = toy()
    edit = Intervention(
        "layer1", units=[0, 2], alpha=torch.tensor([1.0, 0.5]), value=torch.tensor([7.0, 4.0])
    )
    with intervene(net, edit):
        assert torch.allclose(run(net)[0], 7 + 2 * X + (0.5 * 3 * X + 0.5 * 4))
    with intervene(net, Intervention("layer1", value=torch.tensor([1.0, 2.0, 3.0]))):
        assert torch.equal(run(net)[0], torch.full((2, 2), 6.0))


def test_per_sample_masks():
    masks = torch.stack([torch.ones(2, 2), torch.zeros(2, 2)])  # [N, H, W]
    net = toy()
    with intervene(net, Intervention("layer1", units=[0, 1, 2], mask=masks)):
        out = run(net, batch=2)
    assert torch.equal(out[0], torch.zeros(2, 2)) and torch.equal(out[1], 6 * X)


def test_interventions_compose_in_order_on_one_layer_and_across_layers():
    net = toy()
    ablate, insert = Intervention("layer1", units=[0]), Intervention("layer1", units=[0], value=7.0)
    with intervene(net, ablate, insert):
        assert torch.equal(run(net)[0], 7 + 5 * X)
    with intervene(net, insert, ablate):
        assert torch.equal(run(net)[0], 5 * X)
    with intervene(net, insert, Intervention("layer2", value=1.0, mask=torch.eye(2))):
        assert torch.equal(run(net)[0], torch.tensor([[1.0, 7 + 10], [7 + 15, 1.0]]))


def test_trace_sees_edits_registered_before_it():
    net = toy()
    with trace(net, "layer1") as before, intervene(net, Intervention("layer1", units=[1])):
        with trace(net, "layer1") as after:
            run(net)
    assert torch.equal(before["layer1"][0, 1], 2 * X)
    assert torch.equal(after["layer1"][0, 1], torch.zeros(2, 2))


def test_gradients_reach_alpha_and_value():
    net = toy()
    alpha = torch.tensor([0.5, 0.0, 1.0], requires_grad=True)
    value = torch.tensor([1.0, 1.0, 1.0], requires_grad=True)
    mask = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    with intervene(net, Intervention("layer1", alpha=alpha, value=value, mask=mask)):
        run(net).sum().backward()
    # d out / d alpha_u = sum over pixels of mask * (value_u - (u + 1) x); masked x are 1 and 4.
    expected = torch.tensor([2 - 5.0, 2 - 10.0, 2 - 15.0])
    assert torch.allclose(alpha.grad, expected)
    assert torch.allclose(value.grad, 2 * alpha.detach())


def test_hooks_are_removed_even_when_the_block_raises():
    net = toy()
    with (
        pytest.raises(RuntimeError, match="boom"),
        trace(net, "layer1"),
        intervene(net, Intervention("layer2")),
    ):
        raise RuntimeError("boom")
    assert not net.layer1._forward_hooks and not net.layer2._forward_hooks


def test_a_failing_edit_raises_from_forward_and_leaves_no_hook():
    net = toy()
    with (
        pytest.raises(ValueError, match="out of range"),
        intervene(net, Intervention("layer1", units=[3])),
    ):
        run(net)
    assert not net.layer1._forward_hooks


def test_wrong_layer_name_lists_valid_names_and_suggests():
    with pytest.raises(ValueError, match=r"Did you mean 'layer1'.*Valid layers: layer1, layer2"):
        get_layer(toy(), "layr1")
    with pytest.raises(ValueError, match="unknown layer 'nope'"), trace(toy(), ["layer1", "nope"]):
        pass
    assert layer_names(toy()) == ["layer1", "layer2"]


def test_unit_index_out_of_range_says_expected_range():
    net = toy()
    with pytest.raises(ValueError, match=r"unit index 5 .* 3 units \(expected indices 0..2\)"):
        with intervene(net, Intervention("layer1", units=[0, 5])):
            run(net)


@pytest.mark.parametrize(
    ("mask", "message"),
    [
        (torch.ones(3, 3), r"shape \(3, 3\); expected .* \(H, W\) = \(2, 2\)"),
        (torch.ones(2, 2, 2, 2), r"shape \(2, 2, 2, 2\); expected"),
        (torch.ones(3, 2, 2), "covers 3 samples; the batch has 1"),
    ],
)
def test_mask_of_the_wrong_shape_says_expected_and_actual(mask, message):
    net = toy()
    with (
        pytest.raises(ValueError, match=message),
        intervene(net, Intervention("layer1", mask=mask)),
    ):
        run(net)


def test_construction_rejects_bad_alpha_mask_and_units():
    with pytest.raises(ValueError, match=r"alpha must lie in \[0, 1\]"):
        Intervention("layer1", alpha=1.5)
    with pytest.raises(ValueError, match=r"mask must lie in \[0, 1\]"):
        Intervention("layer1", mask=torch.full((2, 2), -0.1))
    with pytest.raises(ValueError, match="units is empty"):
        Intervention("layer1", units=[])
    net = toy()
    with pytest.raises(ValueError, match="3 entries; expected 1 or 2"):
        with intervene(net, Intervention("layer1", units=[0, 1], alpha=torch.full((3,), 0.5))):
            run(net)


@pytest.mark.gpu
def test_hooks_follow_the_model_to_cuda():
    net = toy().cuda()
    alpha = torch.tensor([0.25, 0.0, 1.0], requires_grad=True)  # stays on the CPU
    with trace(net, "layer1") as features, intervene(net, Intervention("layer1", alpha=alpha)):
        out = net(X.expand(1, 1, 2, 2).cuda())[:, 0]
    assert out.device.type == "cuda" and features["layer1"].device.type == "cuda"
    assert torch.allclose(out[0].cpu(), 2.75 * X)
    out.sum().backward()
    assert alpha.grad is not None and alpha.grad.device.type == "cpu"


@pytest.mark.parametrize("units", [[1.5], [True], [1, 2.0], torch.tensor([1.0]), ["1"]])
def test_unit_indices_must_be_integers(units):
    with pytest.raises(ValueError, match="unit indices must be integers"):
        Intervention("layer1", units=units)


def test_integer_tensors_and_numpy_style_ints_are_unit_indices():
    assert Intervention("layer1", units=torch.tensor([1, 2])).units.tolist() == [1, 2]
    assert Intervention("layer1", units=(0,)).units.tolist() == [0]


class Bordered(nn.Module):
    """A 'generator' whose one layer renders a 2-pixel border around a 4 x 4 image region."""

    def __init__(self) -> None:
        super().__init__()
        self.layer = nn.Identity()

    def featuremap_margin(self, layer: str) -> int:
        return 2 if layer == "layer" else 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layer(x)


def test_a_layer_with_a_margin_is_traced_and_edited_without_it():
    model, x = Bordered(), torch.arange(64.0).reshape(1, 1, 8, 8) + 1
    with trace(model, "layer") as features:
        model(x)
    assert torch.equal(features["layer"], x[..., 2:6, 2:6])  # the image region only
    assert layers_run(model, ["layer"], x)[0] == ["layer"]
    corner = torch.zeros(4, 4, dtype=torch.bool)
    corner[0, 0] = True  # the first cell of the image region
    with intervene(model, Intervention("layer", mask=corner)):
        edited = model(x)
    changed = (edited != x).nonzero().tolist()
    assert changed == [[0, 0, 2, 2]]  # that cell, shifted past the border, and nothing else
    with intervene(model, Intervention("layer", mask=torch.ones(8, 8))):  # a full-size mask
        assert bool(model(x).eq(0).all())
