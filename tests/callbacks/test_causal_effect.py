"""CausalEffectMonitor in a real Trainer run with a real logger."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch
from pytorch_lightning.loggers import CSVLogger
from torch import nn

from ganlens.ace.planted import PlantedCausalGenerator, PlantedConceptSegmenter
from ganlens.callbacks.causal_effect import CausalEffectMonitor
from ganlens.metrics import AverageCausalEffect


class ToyGAN(pl.LightningModule):
    """A module that exposes the planted generator as ``generator_ema`` and trains a dummy."""

    def __init__(self) -> None:
        super().__init__()
        self.generator_ema = PlantedCausalGenerator(grid=4, scale=2)
        self.save_hyperparameters({"latent_size": self.generator_ema.latent_size})
        self.dummy = nn.Parameter(torch.zeros(1))

    def training_step(self, batch: torch.Tensor, batch_idx: int) -> torch.Tensor:
        return (self.dummy - batch.mean()).pow(2).sum()

    def train_dataloader(self) -> torch.utils.data.DataLoader[torch.Tensor]:
        return torch.utils.data.DataLoader(torch.randn(4, 1), batch_size=2)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=0.1)


def test_monitor_logs_named_sets_through_the_logger(tmp_path: Path) -> None:
    segmenter = PlantedConceptSegmenter()
    sets = {"causal": [3, 4, 5], "decoys": [0, 1, 2]}
    monitor = CausalEffectMonitor("layer1", "tree", sets, segmenter=segmenter, k=0.75, count=24,
                                  batch_size=10, every_n_epochs=2, seed=7)  # fmt: skip
    module = ToyGAN()
    trainer = pl.Trainer(max_epochs=4, logger=CSVLogger(tmp_path), callbacks=[monitor],
                         enable_progress_bar=False, enable_model_summary=False,
                         enable_checkpointing=False)  # fmt: skip
    trainer.fit(module)
    with open(Path(trainer.logger.log_dir) / "metrics.csv") as file:
        rows = [r for r in csv.DictReader(file) if r.get("causal/layer1/tree/causal/ace")]
    assert [int(r["epoch"]) for r in rows] == [1, 3]  # every second epoch
    latents = monitor.state_dict()["latents"]
    assert latents.shape == (24, module.generator_ema.latent_size)
    expected = AverageCausalEffect(module.generator_ema, "layer1", segmenter, "tree", k=0.75,
                                   units=sets["causal"])  # fmt: skip
    expected.update(latents)
    values = expected.compute()
    row = rows[-1]
    assert float(row["causal/layer1/tree/causal/ace"]) == pytest.approx(float(values["ace"][0]))
    assert float(row["causal/layer1/tree/causal/ace_soft"]) == pytest.approx(
        float(values["ace"][1]), abs=1e-6
    )
    assert float(row["causal/layer1/tree/causal/ace"]) == 1.0
    assert float(row["causal/layer1/tree/decoys/ace"]) == 0.0
    for key in ("inserted", "ablated", "inserted_soft", "ablated_soft"):
        assert row[f"causal/layer1/tree/decoys/{key}"] != ""


def test_monitor_restores_its_latents_and_computes_k_when_not_given() -> None:
    segmenter = PlantedConceptSegmenter()
    monitor = CausalEffectMonitor("layer1", "tree", [3, 4, 5], segmenter=segmenter, count=16)
    module = ToyGAN()
    trainer = pl.Trainer(logger=False, enable_progress_bar=False)
    scalars = monitor.evaluate(trainer, module)
    assert set(scalars) == {f"causal/layer1/tree/{key}{soft}" for key in ("ace", "inserted",
                            "ablated") for soft in ("", "_soft")}  # fmt: skip
    assert scalars["causal/layer1/tree/ace"] == 1.0  # k = E[m | m > 1/2] = 3/4 paints every cell
    other = CausalEffectMonitor("layer1", "tree", [3], segmenter=segmenter, count=16, seed=99)
    other.load_state_dict(monitor.state_dict())
    assert torch.equal(other.latent_bank(module.generator_ema.latent_size), monitor.latents)
    with pytest.raises(ValueError, match="at least one unit"):
        CausalEffectMonitor("layer1", "tree", {"empty": []})
    with pytest.raises(ValueError, match="region must be one of"):
        CausalEffectMonitor("layer1", "tree", [1], region="given")


def test_a_layer_the_current_stage_does_not_run_is_skipped_with_a_warning() -> None:
    module = ToyGAN()
    module.generator_ema.add_module("layer9", nn.Conv2d(8, 8, 1))  # defined, never run
    monitor = CausalEffectMonitor(
        "layer9", "tree", [0], segmenter=PlantedConceptSegmenter(), count=4
    )
    trainer = pl.Trainer(logger=False, enable_progress_bar=False)
    with pytest.warns(UserWarning, match="does not run layer 'layer9'"):
        assert monitor.evaluate(trainer, module) == {}
