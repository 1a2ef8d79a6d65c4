"""Agreement of predicted label layers with ground truth: per-concept IoU and pixel accuracy.

The standard semantic-segmentation scores (Long et al., "Fully Convolutional Networks for Semantic
Segmentation", CVPR 2015, section 5): per-class IoU = TP / (TP + FP + FN) accumulated over all
pixels of a data set, mean IoU over classes, and pixel accuracy. With several label layers a
concept lives in one layer, so its IoU over all layers' pixels pooled is its IoU in its own
layer: torchmetrics' ``MulticlassJaccardIndex(average=None)`` on the pooled pixels gives it.
Label 0 ("no label") is never a concept.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor
from torchmetrics import Metric
from torchmetrics.classification import MulticlassJaccardIndex

__all__ = ["LabelAgreement", "label_agreement"]


def _check(predicted: Tensor, target: Tensor) -> None:
    if predicted.shape != target.shape or predicted.ndim != 4:
        raise ValueError(
            f"predicted and target must both be [N, K, H, W]; got {tuple(predicted.shape)} and "
            f"{tuple(target.shape)}"
        )


class LabelAgreement(Metric):
    """Per-concept IoU, mean IoU and pixel accuracy of label layers, over batches and processes.

    Args:
        num_labels: Vocabulary size ``L`` (including 0).
        num_layers: Label layers ``K``.
        kwargs: Passed to :class:`torchmetrics.Metric`.

    Example:
        >>> metric = LabelAgreement(num_labels=3, num_layers=1)
        >>> metric.update(torch.tensor([[[[1, 2]]]]), torch.tensor([[[[1, 1]]]]))
        >>> metric.compute()["mean_iou"]
        0.25
    """

    full_state_update = False
    higher_is_better = True
    correct: Tensor
    total: Tensor

    def __init__(self, num_labels: int, num_layers: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.jaccard = MulticlassJaccardIndex(
            num_labels, average=None, zero_division=float("nan"), validate_args=False
        )
        self.add_state("correct", torch.zeros(num_layers, dtype=torch.long), dist_reduce_fx="sum")
        self.add_state("total", torch.zeros(num_layers, dtype=torch.long), dist_reduce_fx="sum")

    def update(self, predicted: Tensor, target: Tensor) -> None:
        """Add a batch of ``int [N, K, H, W]`` predictions and targets."""
        _check(predicted, target)
        self.jaccard.update(predicted.flatten(), target.flatten())  # [N * K * H * W]
        self.correct += (predicted == target).sum(dim=(0, 2, 3))
        self.total += target[:, :, 0, 0].new_full((target.shape[1],), target[:, 0].numel())

    def compute(self) -> dict[str, Any]:
        """``{"iou": float64 [L], "mean_iou", "pixel_accuracy", "layer_accuracy": float64 [K]}``.

        IoU is NaN where a label never occurs in truth or prediction (and always at 0); the mean
        skips NaNs; pixel accuracy is over every (pixel, layer) label.
        """
        iou = self.jaccard.compute().double()
        iou[0] = float("nan")
        valid = iou[~iou.isnan()]
        layer_accuracy = self.correct.double() / self.total.clamp_min(1)
        return {
            "iou": iou,
            "mean_iou": float(valid.mean()) if valid.numel() else float("nan"),
            "pixel_accuracy": float(layer_accuracy.mean()),
            "layer_accuracy": layer_accuracy,
        }


def label_agreement(predicted: Tensor, target: Tensor, num_labels: int) -> dict[str, Any]:
    """:class:`LabelAgreement` of one batch of ``int [N, K, H, W]`` label layers.

    Raises:
        ValueError: If the shapes differ or are not 4-D.

    Example:
        >>> p = torch.tensor([[[[1, 1], [2, 0]]]])
        >>> t = torch.tensor([[[[1, 2], [2, 0]]]])
        >>> scores = label_agreement(p, t, 3)
        >>> scores["iou"].tolist()[1:], scores["pixel_accuracy"]
        ([0.5, 0.5], 0.75)
    """
    _check(predicted, target)
    metric = LabelAgreement(num_labels, predicted.shape[1]).to(predicted.device)
    metric.update(predicted, target)
    return metric.compute()
