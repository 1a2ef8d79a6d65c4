"""Lightning data modules of the scene world (images with labels), and the loaders they share.

Batches are dicts: ``{"image": float [B, 3, R, R] in [-1, 1]}``, plus ``"labels": int64
[B, 3, R, R]``; :mod:`ganlens.data.image_folder` serves a folder of images the same way.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from ganlens.data.scene_world import check_framing, render_scene
from ganlens.images import from_uint8


def default_workers() -> int:
    """Loader workers: all cores but one (rendering is CPU-bound), at most 8, at least 0.

    Example:
        >>> 0 <= default_workers() <= 8
        True
    """
    return max(0, min(8, (os.cpu_count() or 1) - 1))


def check_batch_fits(batch_size: int, size: int, what: str) -> None:
    """Raise ``ValueError`` when not one full batch fits the training set (the last is dropped).

    Example:
        >>> check_batch_fits(32, 16, "scenes")
        Traceback (most recent call last):
        ...
        ValueError: --data.init_args.batch_size 32 is larger than the training set (16 scenes): ...
    """
    if batch_size > size:
        raise ValueError(
            f"--data.init_args.batch_size {batch_size} is larger than the training set "
            f"({size} {what}): no batch would be trained"
        )


class SceneDataset(Dataset[dict[str, torch.Tensor]]):
    """Scenes ``offset .. offset + size - 1`` of the world ``seed``, rendered on demand.

    Args:
        resolution: Side length in pixels.
        size: Number of scenes.
        seed: World seed.
        offset: Index of the first scene (lets train and validation sets be disjoint).
        framing: ``"default"`` or ``"church"`` (see :func:`~ganlens.data.render_scene`).
        labels: Include the label layers; GAN training needs only images, and skipping the
            labels cuts what loader workers send per scene by two thirds.

    Example:
        >>> item = SceneDataset(resolution=32, size=10)[3]
        >>> item["image"].shape, item["labels"].shape, item["image"].dtype
        (torch.Size([3, 32, 32]), torch.Size([3, 32, 32]), torch.float32)
    """

    def __init__(
        self,
        resolution: int,
        size: int,
        seed: int = 0,
        offset: int = 0,
        framing: str = "default",
        labels: bool = True,
    ) -> None:
        if size < 1:
            raise ValueError(f"size must be positive; got {size}")
        check_framing(framing)
        self.resolution, self.size, self.seed, self.offset = resolution, size, seed, offset
        self.framing, self.labels = framing, labels

    def __len__(self) -> int:
        """Number of scenes."""
        return self.size

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        """Scene ``offset + index`` as ``{"image", "labels"}`` (``{"image"}`` without labels)."""
        if not 0 <= index < self.size:
            raise IndexError(f"index {index} out of range for {self.size} scenes")
        scene = render_scene(self.seed, self.offset + index, self.resolution, self.framing)
        image = from_uint8(scene.image)  # [3, R, R]
        return {"image": image, "labels": scene.labels} if self.labels else {"image": image}


class EpochShuffleSampler(Sampler[int]):
    """A random order that depends only on ``(seed, epoch)``.

    Lightning calls :meth:`set_epoch` before each epoch, so a run resumed from a checkpoint
    sees the same order as one that never stopped (a plain shuffle draws from the global RNG).

    Args:
        size: Number of items.
        seed: Seed of the order.

    Example:
        >>> sampler = EpochShuffleSampler(5, seed=0)
        >>> first = list(sampler)
        >>> sampler.set_epoch(1)
        >>> sorted(first) == sorted(sampler) == [0, 1, 2, 3, 4], list(sampler) != first
        (True, True)
    """

    def __init__(self, size: int, seed: int = 0) -> None:
        self.size, self.seed, self.epoch = size, seed, 0

    def set_epoch(self, epoch: int) -> None:
        """Choose the epoch whose order :meth:`__iter__` yields."""
        self.epoch = epoch

    def __iter__(self) -> Iterator[int]:
        """Indices in this epoch's order."""
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        return iter(torch.randperm(self.size, generator=generator).tolist())

    def __len__(self) -> int:
        """Number of items."""
        return self.size


def _loader(
    dataset: Dataset, batch_size: int, workers: int, shuffle: bool, seed: int = 0
) -> DataLoader:
    return DataLoader(
        dataset,
        batch_size=batch_size,
        sampler=EpochShuffleSampler(len(dataset), seed) if shuffle else None,  # type: ignore[arg-type]
        num_workers=workers,
        persistent_workers=workers > 0,
        pin_memory=torch.cuda.is_available(),
        drop_last=shuffle,
    )


class SceneDataModule(pl.LightningDataModule):
    """The procedural scene world as a Lightning data module.

    Training scenes are indices ``0 .. train_size - 1`` and validation scenes the next
    ``val_size`` indices of the same world, so the two never overlap.

    Args:
        resolution: Image side in pixels (32 to 256 tested).
        batch_size: Scenes per batch.
        train_size: Scenes in one training epoch.
        val_size: Held-out scenes.
        seed: World seed.
        num_workers: Loader processes; ``None`` picks :func:`default_workers`.
        framing: ``"default"`` or ``"church"`` (see :func:`~ganlens.data.render_scene`).
        labels: Include label layers in the batches (not needed to train a GAN).

    Example:
        >>> dm = SceneDataModule(resolution=32, batch_size=4, train_size=8, val_size=4,
        ...                      num_workers=0)
        >>> dm.setup("fit")
        >>> batch = next(iter(dm.train_dataloader()))
        >>> batch["image"].shape, batch["labels"].shape
        (torch.Size([4, 3, 32, 32]), torch.Size([4, 3, 32, 32]))
    """

    def __init__(
        self,
        resolution: int = 64,
        batch_size: int = 32,
        train_size: int = 50_000,
        val_size: int = 1_000,
        seed: int = 0,
        num_workers: int | None = None,
        framing: str = "default",
        labels: bool = True,
    ) -> None:
        super().__init__()
        check_framing(framing)
        self.save_hyperparameters()
        self.framing, self.labels = framing, labels
        self.resolution, self.batch_size, self.seed = resolution, batch_size, seed
        self.train_size, self.val_size = train_size, val_size
        self.num_workers = default_workers() if num_workers is None else num_workers

    def setup(self, stage: str | None = None) -> None:
        """Create the training and validation sets."""
        self.train_set = SceneDataset(
            self.resolution, self.train_size, self.seed, 0, self.framing, self.labels
        )
        self.val_set = SceneDataset(
            self.resolution, self.val_size, self.seed, self.train_size, self.framing, self.labels
        )
        check_batch_fits(self.batch_size, len(self.train_set), "scenes")

    def train_dataloader(self) -> DataLoader:
        """Batches in an order fixed by (seed, epoch); an incomplete last batch is dropped."""
        return _loader(self.train_set, self.batch_size, self.num_workers, True, self.seed)

    def val_dataloader(self) -> DataLoader:
        """Held-out batches in index order."""
        return _loader(self.val_set, self.batch_size, self.num_workers, shuffle=False)
