"""Agreement of predicted label layers with ground truth: confusion counts, per-concept IoU.

The standard semantic-segmentation scores (Long et al., "Fully Convolutional Networks for Semantic
Segmentation", CVPR 2015, section 5): per-class IoU = TP / (TP + FP + FN) accumulated over all
pixels of a data set, mean IoU over classes, and pixel accuracy. With several label layers a
concept lives in one layer; its IoU is counted there. Label 0 ("no label") is never a concept.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor
from torchmetrics import Metric

__all__ = ["LabelAgreement", "concept_iou", "label_confusion", "summarise_confusion"]


def label_confusion(predicted: Tensor, target: Tensor, num_labels: int) -> Tensor:
    """Per-layer confusion counts of integer label layers.

    Args:
        predicted: ``int [N, K, H, W]`` predicted labels in ``0 .. num_labels - 1``.
        target: ``int [N, K, H, W]`` true labels, same shape.
        num_labels: Vocabulary size ``L`` (including 0).

    Returns:
        ``int64 [K, L, L]`` counts; entry ``[k, t, p]`` counts pixels of layer ``k`` whose true
        label is ``t`` and predicted label ``p``.

    Raises:
        ValueError: If the shapes differ or are not 4-D.

    Example:
        >>> p = torch.tensor([[[[1, 1], [2, 0]]]])
        >>> t = torch.tensor([[[[1, 2], [2, 0]]]])
        >>> label_confusion(p, t, 3)[0]
        tensor([[1, 0, 0],
                [0, 1, 0],
                [0, 1, 1]])
    """
    if predicted.shape != target.shape or predicted.ndim != 4:
        raise ValueError(
            f"predicted and target must both be [N, K, H, W]; got {tuple(predicted.shape)} and "
            f"{tuple(target.shape)}"
        )
    layers = predicted.shape[1]
    offset = torch.arange(layers, device=target.device)[None, :, None, None] * num_labels**2
    flat = (offset + target.long() * num_labels + predicted.long()).flatten()  # [N * K * H * W]
    counts = torch.bincount(flat, minlength=layers * num_labels**2)
    return counts.reshape(layers, num_labels, num_labels)


def concept_iou(confusion: Tensor) -> Tensor:
    """IoU of every label value from ``[K, L, L]`` confusion counts.

    Args:
        confusion: Counts from :func:`label_confusion` (summed over any number of batches).

    Returns:
        ``float64 [L]``; NaN where a label never occurs in truth or prediction (and always at 0).

    Example:
        >>> c = torch.tensor([[[5, 0, 0], [0, 3, 1], [0, 1, 2]]])
        >>> concept_iou(c)
        tensor([   nan, 0.6000, 0.5000], dtype=torch.float64)
    """
    counts = confusion.double().sum(dim=0)  # [L, L]: a concept only occurs in its own layer
    hits = counts.diagonal()
    union = counts.sum(dim=0) + counts.sum(dim=1) - hits
    iou = torch.where(union > 0, hits / union.clamp_min(1), torch.full_like(hits, float("nan")))
    iou[0] = float("nan")
    return iou


def summarise_confusion(confusion: Tensor) -> dict[str, Any]:
    """Scores of ``[K, L, L]`` confusion counts.

    Returns:
        ``{"iou": float64 [L], "mean_iou": float, "pixel_accuracy": float,
        "layer_accuracy": float64 [K]}``: mean IoU over the concepts that occur (NaN skipped);
        pixel accuracy over every (pixel, layer) label; and accuracy of each layer.

    Example:
        >>> c = torch.tensor([[[5, 0, 0], [0, 3, 1], [0, 1, 2]]])
        >>> s = summarise_confusion(c)
        >>> round(s["mean_iou"], 3), round(s["pixel_accuracy"], 3)
        (0.55, 0.833)
    """
    iou = concept_iou(confusion)
    layer_accuracy = confusion.diagonal(dim1=1, dim2=2).sum(1).double() / confusion.sum((1, 2))
    valid = iou[~iou.isnan()]
    return {
        "iou": iou,
        "mean_iou": float(valid.mean()) if valid.numel() else float("nan"),
        "pixel_accuracy": float(layer_accuracy.mean()),
        "layer_accuracy": layer_accuracy,
    }


class LabelAgreement(Metric):
    """Accumulates :func:`label_confusion` over batches and processes (sum-reduced state).

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
    confusion: Tensor

    def __init__(self, num_labels: int, num_layers: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.num_labels = num_labels
        self.add_state(
            "confusion",
            torch.zeros(num_layers, num_labels, num_labels, dtype=torch.long),
            dist_reduce_fx="sum",
        )

    def update(self, predicted: Tensor, target: Tensor) -> None:
        """Add a batch of ``int [N, K, H, W]`` predictions and targets."""
        self.confusion += label_confusion(predicted, target, self.num_labels)

    def compute(self) -> dict[str, Any]:
        """The :func:`summarise_confusion` of everything seen."""
        return summarise_confusion(self.confusion)
