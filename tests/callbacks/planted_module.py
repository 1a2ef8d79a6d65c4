"""A LightningModule whose "generator" is the planted dissection toy, for monitor tests."""

from __future__ import annotations

import pytorch_lightning as pl
import torch
from torch import nn
from torch.utils.data import DataLoader

from ganlens.dissect.planted import PlantedSceneGenerator

PLANTED = ("sky", "grass", "building", "door")
NUM_SAMPLES = 24


class PlantedModule(pl.LightningModule):
    """Trains a dummy weight; ``generator_ema`` draws scene ``round(z[0])`` with planted units."""

    def __init__(self) -> None:
        super().__init__()
        self.save_hyperparameters({"latent_size": 1})
        self.generator_ema = PlantedSceneGenerator(PLANTED, resolution=32)
        self.weight = nn.Parameter(torch.zeros(1))
        self.register_buffer("images_shown", torch.zeros((), dtype=torch.long))

    def training_step(self, batch: torch.Tensor, batch_idx: int) -> torch.Tensor:
        self.images_shown += batch.shape[0]
        return (self.weight * batch).sum()

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=0.1)

    def train_dataloader(self) -> DataLoader:
        return DataLoader(torch.ones(4, 1), batch_size=2)


def scene_bank() -> tuple[torch.Tensor, torch.Tensor]:
    """Probe latents pick scenes 0..N-1, held-out latents scenes N..2N-1."""
    probe = torch.arange(NUM_SAMPLES, dtype=torch.float32).view(-1, 1)
    return probe, probe + NUM_SAMPLES
