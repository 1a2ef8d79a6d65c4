"""Training the scene segmenter: a multi-scale scene dataset and a LightningModule.

The segmenter must label GAN samples, which are blurrier, noisier and slightly warped versions of
the world's renders, at 64 px and beyond. Training therefore (a) renders fresh scenes, some at
twice the resolution and randomly cropped so that objects appear at two scales, and (b) corrupts
a random subset of each batch with :class:`~ganlens.segment.augment.GanLikeAugmentation` (labels
warped with the geometry). The loss is the sum of one cross-entropy per label layer (object, part,
material) plus a soft Dice term, matching the per-layer softmax heads of
:class:`~ganlens.segment.network.SceneSegmenterNet`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from torch import Tensor
from torch.utils.data import Dataset

from ganlens.data.scene_world import SCENE_VOCABULARY, render_scene
from ganlens.images import from_uint8
from ganlens.segment.augment import GanLikeAugmentation
from ganlens.segment.evaluation import LabelAgreement
from ganlens.segment.network import SceneSegmenterNet, split_heads
from ganlens.segment.scene_segmenter import SCENE_HEADS

__all__ = ["MultiScaleSceneDataset", "SceneSegmenterModule", "head_targets", "soft_dice_loss"]


class MultiScaleSceneDataset(Dataset[dict[str, Tensor]]):
    """Scenes of world ``seed`` at ``resolution``, a share of them cropped from a 2x render.

    Args:
        size: Number of scenes (indices ``offset .. offset + size - 1``).
        resolution: Side of every returned image.
        seed: World seed.
        offset: First scene index.
        zoom_probability: Share of scenes rendered at ``2 * resolution`` and cropped at a random,
            per-index deterministic position.
        church_fraction: Share of scenes drawn in the ``"church"`` framing (one large building;
            :mod:`ganlens.data.scene_church`), chosen per index from a random stream of its own,
            so 0 gives exactly the scenes of the default framing.

    Example:
        >>> item = MultiScaleSceneDataset(size=4, resolution=32, zoom_probability=1.0)[0]
        >>> item["image"].shape, item["labels"].shape
        (torch.Size([3, 32, 32]), torch.Size([3, 32, 32]))
    """

    def __init__(
        self,
        size: int,
        resolution: int = 64,
        seed: int = 0,
        offset: int = 0,
        zoom_probability: float = 0.25,
        church_fraction: float = 0.0,
    ) -> None:
        if size < 1 or not 0.0 <= zoom_probability <= 1.0 or not 0.0 <= church_fraction <= 1.0:
            raise ValueError(
                f"size must be positive and zoom_probability and church_fraction in [0, 1]; "
                f"got {size}, {zoom_probability}, {church_fraction}"
            )
        self.size, self.resolution, self.seed = size, resolution, seed
        self.offset, self.zoom_probability = offset, zoom_probability
        self.church_fraction = church_fraction

    def __len__(self) -> int:
        """Number of scenes."""
        return self.size

    def __getitem__(self, index: int) -> dict[str, Tensor]:
        """Scene ``offset + index`` as ``{"image": [3, R, R] in [-1, 1], "labels": [3, R, R]}``."""
        if not 0 <= index < self.size:
            raise IndexError(f"index {index} out of range for {self.size} scenes")
        scene_index = self.offset + index
        rng = np.random.default_rng([self.seed, scene_index, 7])
        framing = "default"
        if self.church_fraction > 0.0:
            pick = np.random.default_rng([self.seed, scene_index, 8]).random()
            framing = "church" if pick < self.church_fraction else "default"
        r = self.resolution
        if rng.random() < self.zoom_probability:
            scene = render_scene(self.seed, scene_index, 2 * r, framing)
            top, left = (int(v) for v in rng.integers(0, r + 1, size=2))
            image = scene.image[:, top : top + r, left : left + r]
            labels = scene.labels[:, top : top + r, left : left + r]
        else:
            scene = render_scene(self.seed, scene_index, r, framing)
            image, labels = scene.image, scene.labels
        return {"image": from_uint8(image), "labels": labels.contiguous()}


def head_targets(labels: Tensor, heads: Sequence[Sequence[int]] = SCENE_HEADS) -> list[Tensor]:
    """Map vocabulary label layers ``[N, K, H, W]`` to per-head class indices.

    Args:
        labels: ``int64 [N, K, H, W]`` vocabulary labels.
        heads: Label value of each class of each head.

    Returns:
        One ``int64 [N, H, W]`` class-index map per head; labels a head cannot predict map to
        -100 (ignored by the loss).

    Example:
        >>> labels = torch.tensor([1, 10, 0]).view(1, 3, 1, 1)
        >>> [t.item() for t in head_targets(labels)]
        [0, 2, 0]
    """
    size = len(SCENE_VOCABULARY)
    out = []
    for k, head in enumerate(heads):
        table = torch.full((max(size, *head) + 1,), -100, dtype=torch.long, device=labels.device)
        table[torch.tensor(head, device=labels.device)] = torch.arange(
            len(head), device=labels.device
        )
        out.append(table[labels[:, k]])  # [N, H, W]
    return out


def soft_dice_loss(logits: Tensor, target: Tensor) -> Tensor:
    """One minus the mean soft Dice coefficient over classes (Milletari et al., V-Net, 2016).

    Counts are pooled over the whole batch, so small classes (doors, trunks) weigh as much as
    large ones; pixels with target -100 are ignored.

    Args:
        logits: ``[N, C, H, W]`` class logits.
        target: ``int64 [N, H, W]`` class indices (or -100).

    Returns:
        Scalar loss in [0, 1].

    Example:
        >>> target = torch.tensor([[[0, 1], [1, 1]]])
        >>> perfect = F.one_hot(target, 2).permute(0, 3, 1, 2).float() * 50
        >>> round(soft_dice_loss(perfect, target).item(), 4)
        0.0
        >>> bool(soft_dice_loss(-perfect, target) > 0.7)
        True
    """
    valid = (target >= 0)[:, None].to(logits.dtype)  # [N, 1, H, W]
    probs = logits.softmax(dim=1) * valid  # [N, C, H, W]
    onehot = F.one_hot(target.clamp_min(0), logits.shape[1]).permute(0, 3, 1, 2) * valid
    intersection = (probs * onehot).sum(dim=(0, 2, 3))  # [C]
    total = probs.sum(dim=(0, 2, 3)) + onehot.sum(dim=(0, 2, 3))  # [C]
    return 1.0 - ((2.0 * intersection + 1.0) / (total + 1.0)).mean()


class SceneSegmenterModule(pl.LightningModule):
    """Trains :class:`SceneSegmenterNet` on the scene world with GAN-like corruptions.

    Args:
        widths: U-Net channels per scale, finest first.
        learning_rate: Peak AdamW learning rate (linear warm-up, then cosine decay to 0).
        weight_decay: AdamW weight decay.
        warmup_steps: Steps of linear warm-up.
        augment_probability: Chance that a training image receives each corruption.
        dice_weight: Weight of :func:`soft_dice_loss` added to each head's cross-entropy.

    Logged metrics:
        ``train/loss``: summed cross-entropy (+ weighted soft Dice) of the three heads.
        ``val/mean_iou``, ``val/pixel_accuracy``: on clean validation scenes.

    Example:
        >>> _ = torch.manual_seed(0)
        >>> module = SceneSegmenterModule(widths=(4, 8))
        >>> labels = torch.zeros(2, 3, 16, 16, dtype=torch.long)
        >>> labels[:, 0] = 1  # sky everywhere; no part, no material
        >>> batch = {"image": torch.rand(2, 3, 16, 16) * 2 - 1, "labels": labels}
        >>> loss = module.loss(batch["image"], batch["labels"])  # what training_step minimises
        >>> loss.ndim, bool(loss > 0)
        (0, True)
    """

    def __init__(
        self,
        widths: Sequence[int] = (16, 32, 64, 96),
        learning_rate: float = 3e-3,
        weight_decay: float = 1e-4,
        warmup_steps: int = 200,
        augment_probability: float = 0.2,
        dice_weight: float = 1.0,
    ) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.learning_rate, self.weight_decay = learning_rate, weight_decay
        self.warmup_steps, self.dice_weight = warmup_steps, dice_weight
        self.heads = SCENE_HEADS
        self.network = SceneSegmenterNet(widths, [len(h) for h in self.heads])
        self.network = self.network.to(memory_format=torch.channels_last)
        self.augment = GanLikeAugmentation(probability=augment_probability)
        self.agreement = LabelAgreement(len(SCENE_VOCABULARY), len(self.heads))

    def forward(self, images: Tensor) -> list[Tensor]:
        """Per-head logits ``[N, len(head), H, W]`` of ``[N, 3, H, W]`` images."""
        logits = self.network(images.contiguous(memory_format=torch.channels_last))
        return split_heads(logits, [len(h) for h in self.heads])

    def loss(self, images: Tensor, labels: Tensor) -> Tensor:
        """Summed per-head loss of images ``[N, 3, H, W]`` against ``labels [N, K, H, W]``."""
        total = torch.zeros((), device=images.device)
        for logit, target in zip(self(images), head_targets(labels, self.heads), strict=True):
            total = total + F.cross_entropy(logit, target)
            if self.dice_weight:
                total = total + self.dice_weight * soft_dice_loss(logit, target)
        return total

    def training_step(self, batch: dict[str, Tensor], batch_idx: int) -> Tensor:
        """Corrupt a random subset of the batch, then return the loss."""
        images, labels = self.augment(batch["image"], batch["labels"])
        loss = self.loss(images, labels)
        self.log("train/loss", loss, prog_bar=True)
        return loss

    def validation_step(self, batch: dict[str, Tensor], batch_idx: int) -> None:
        """Accumulate label agreement on clean scenes."""
        predicted = [
            torch.tensor(h, device=self.device)[logit.argmax(dim=1)]
            for h, logit in zip(self.heads, self(batch["image"]), strict=True)
        ]  # K x [N, H, W]
        self.agreement.update(torch.stack(predicted, dim=1), batch["labels"])

    def on_validation_epoch_end(self) -> None:
        """Log mean IoU and pixel accuracy, then reset."""
        scores = self.agreement.compute()
        self.log("val/mean_iou", scores["mean_iou"])
        self.log("val/pixel_accuracy", scores["pixel_accuracy"])
        self.agreement.reset()

    def configure_optimizers(self) -> Any:
        """AdamW with linear warm-up and cosine decay over the trainer's total steps."""
        optimizer = torch.optim.AdamW(
            self.parameters(), lr=self.learning_rate, weight_decay=self.weight_decay
        )
        total = max(1, int(self.trainer.estimated_stepping_batches))
        warmup = max(1, min(self.warmup_steps, total // 2))

        def factor(step: int) -> float:
            if step < warmup:
                return (step + 1) / warmup
            return 0.5 * (
                1.0 + math.cos(math.pi * min(1.0, (step - warmup) / max(1, total - warmup)))
            )

        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "interval": "step"},
        }
