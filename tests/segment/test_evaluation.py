import math

import pytest
import torch

from ganlens.segment.evaluation import LabelAgreement, label_agreement


def _random_layers(seed: int, n: int = 3, labels: int = 6):
    g = torch.Generator().manual_seed(seed)
    target = torch.randint(0, labels, (n, 2, 9, 7), generator=g)
    noise = torch.randint(0, labels, target.shape, generator=g)
    predicted = torch.where(torch.rand(target.shape, generator=g) < 0.6, target, noise)
    return predicted, target


def test_iou_and_accuracy_by_definition():
    predicted, target = _random_layers(1)
    scores = label_agreement(predicted, target, 6)
    for label in range(1, 6):
        p, t = predicted == label, target == label
        expected = (p & t).sum().double() / (p | t).sum().double()
        assert math.isclose(scores["iou"][label].item(), expected.item(), rel_tol=1e-6)
    assert math.isnan(scores["iou"][0].item())  # "no label" is never a concept
    assert math.isclose(scores["mean_iou"], scores["iou"][1:].mean().item(), rel_tol=1e-9)
    accuracy = (predicted == target).double().mean().item()
    assert math.isclose(scores["pixel_accuracy"], accuracy, rel_tol=1e-9)
    for k in range(2):
        layer = (predicted[:, k] == target[:, k]).double().mean().item()
        assert math.isclose(scores["layer_accuracy"][k].item(), layer, rel_tol=1e-9)


def test_absent_concepts_are_skipped_not_zero():
    target = torch.ones(1, 1, 2, 2, dtype=torch.long)
    scores = label_agreement(target, target, 5)
    assert scores["mean_iou"] == 1.0 and torch.isnan(scores["iou"][2])


def test_metric_accumulates_like_one_pass():
    first, second = _random_layers(2), _random_layers(3)
    metric = LabelAgreement(num_labels=6, num_layers=2)
    metric.update(*first)
    metric.update(*second)
    joined = [torch.cat([a, b]) for a, b in zip(first, second, strict=True)]
    together = label_agreement(*joined, 6)
    scores = metric.compute()
    assert scores["mean_iou"] == together["mean_iou"]
    assert torch.equal(scores["layer_accuracy"], together["layer_accuracy"])


def test_shape_mismatch_raises():
    with pytest.raises(ValueError, match=r"\[N, K, H, W\]; got \(1, 1, 2, 2\) and \(1, 1, 2, 3\)"):
        label_agreement(torch.zeros(1, 1, 2, 2), torch.zeros(1, 1, 2, 3), 3)
