import pytest
import pytorch_lightning as pl
import torch
from torch import nn

from ganlens.data.datamodules import SceneDataModule
from ganlens.data.scene_world import render_scene


def test_scene_batches_and_disjoint_split():
    dm = SceneDataModule(
        resolution=32, batch_size=4, train_size=8, val_size=4, seed=1, num_workers=0
    )
    dm.setup("fit")
    val = next(iter(dm.val_dataloader()))
    assert torch.equal(val["labels"][0], render_scene(1, 8, 32).labels)  # first held-out index
    batch = next(iter(dm.train_dataloader()))
    assert batch["image"].dtype == torch.float32 and batch["labels"].dtype == torch.int64
    assert float(batch["image"].min()) >= -1.0 and float(batch["image"].max()) <= 1.0


def test_scene_loader_with_worker_processes_matches_in_process_rendering():
    dm = SceneDataModule(resolution=32, batch_size=3, train_size=6, val_size=3, num_workers=2)
    dm.setup("fit")
    batch = next(iter(dm.val_dataloader()))
    for i in range(3):
        assert torch.equal(batch["labels"][i], render_scene(0, 6 + i, 32).labels)


class _MeanImage(pl.LightningModule):
    """A one-parameter model that records which images a real Trainer feeds it."""

    def __init__(self) -> None:
        super().__init__()
        self.mean = nn.Parameter(torch.zeros(()))
        self.sums: list[float] = []

    def training_step(self, batch, batch_idx):
        self.sums += batch["image"].flatten(1).sum(1).tolist()
        return ((batch["image"] - self.mean) ** 2).mean()

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


def test_trainer_consumes_the_scene_data_module(tmp_path):
    model = _MeanImage()
    dm = SceneDataModule(resolution=32, batch_size=8, train_size=32, val_size=8, num_workers=0)
    trainer = pl.Trainer(
        max_epochs=2,
        default_root_dir=tmp_path,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        limit_val_batches=0,
    )
    trainer.fit(model, datamodule=dm)
    expected = sorted(
        (render_scene(0, i, 32).image.float() / 127.5 - 1).sum().item() for i in range(32)
    )
    for epoch in (model.sums[:32], model.sums[32:]):  # each epoch: every training scene once
        assert sorted(epoch) == pytest.approx(expected, abs=1e-2)
    assert model.mean.item() != 0.0


def test_a_batch_larger_than_the_training_set_fails_at_setup():
    # drop_last would leave no batch at all: the fit trained nothing and "finished".
    with pytest.raises(ValueError, match=r"batch_size 64 is larger than the training set \(32"):
        SceneDataModule(16, batch_size=64, train_size=32, val_size=8).setup("fit")
