"""RunHistory: every evaluation record lands in history.jsonl before the epoch's checkpoint."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import ModelCheckpoint
from torch.utils.data import DataLoader, TensorDataset

from ganlens.callbacks.base import Monitor
from ganlens.callbacks.history import RunHistory, append_record
from ganlens.callbacks.logging import log_evaluation
from ganlens.report.run_summary import read_history_file


class Line(pl.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.layer = torch.nn.Linear(2, 1)

    def training_step(self, batch: Any, index: int) -> torch.Tensor:
        return self.layer(batch[0]).pow(2).mean()

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=0.1)

    def train_dataloader(self) -> DataLoader:
        return DataLoader(TensorDataset(torch.arange(8.0).view(4, 2)), batch_size=2)


class WeightMonitor(Monitor):
    def __init__(self) -> None:
        super().__init__(bank_size=1)

    def evaluate(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        log_evaluation(trainer, {"probe/w": float(pl_module.layer.weight.sum())}, owner="W")


class HistoryAtSave(pl.Callback):
    """Notes, at each checkpoint save, which epochs the history file already holds."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.seen: list[tuple[int, list[int]]] = []

    def on_save_checkpoint(self, trainer: pl.Trainer, *args: Any) -> None:
        epochs = [row["epoch"] for row in read_history_file(self.path) if "event" not in row]
        self.seen.append((trainer.current_epoch, epochs))


def fit(folder: Path, epochs: int, ckpt_path: str | None = None, *extra: pl.Callback) -> pl.Trainer:
    checkpoint = ModelCheckpoint(
        dirpath=folder / "checkpoints", save_last=True, save_on_train_epoch_end=True
    )
    trainer = pl.Trainer(
        default_root_dir=folder, max_epochs=epochs, logger=False, enable_progress_bar=False,
        enable_model_summary=False, callbacks=[checkpoint, WeightMonitor(), RunHistory(), *extra],
    )  # fmt: skip
    trainer.fit(Line(), ckpt_path=ckpt_path)
    return trainer


def test_each_epochs_record_is_on_disk_before_its_checkpoint(tmp_path):
    probe = HistoryAtSave(tmp_path / "history.jsonl")
    fit(tmp_path, 3, None, probe)  # the checkpoint callback is listed first on purpose
    assert probe.seen and all(epoch in epochs for epoch, epochs in probe.seen)
    assert [epoch for epoch, _ in probe.seen] == [0, 0, 1, 1, 2, 2]  # top-k file and last.ckpt


def test_a_resumed_fit_continues_the_file_and_a_new_fit_sets_it_aside(tmp_path):
    fit(tmp_path, 2)
    fit(tmp_path, 4, str(tmp_path / "checkpoints" / "last.ckpt"))
    rows = read_history_file(tmp_path / "history.jsonl")
    assert [row["epoch"] for row in rows if "event" not in row] == [0, 1, 2, 3]
    assert [row.get("event") for row in rows].count("fit_end") == 1 and "event" in rows[-1]
    fit(tmp_path, 1)  # no ckpt_path: a new run
    rows = read_history_file(tmp_path / "history.jsonl")
    assert [row["epoch"] for row in rows if "event" not in row] == [0]
    assert [row["event"] for row in rows if "event" in row] == ["fit_start", "fit_end"]
    aside = read_history_file(tmp_path / "history-previous-1.jsonl")
    assert [row["epoch"] for row in aside if "event" not in row] == [0, 1, 2, 3]


def test_a_resume_drops_records_made_after_its_checkpoint(tmp_path):
    fit(tmp_path, 2)
    path = tmp_path / "history.jsonl"
    late = {"monitor": "W", "epoch": 5, "step": 999, "probe/w": 1.0}  # a killed attempt's
    append_record(path, late)
    fit(tmp_path, 3, str(tmp_path / "checkpoints" / "epoch=1-step=4.ckpt"))
    rows = read_history_file(path)
    assert [row["epoch"] for row in rows if "event" not in row] == [0, 1, 2]


def test_the_checkpoint_keeps_the_wandb_run_id(tmp_path):
    history = RunHistory()
    history.wandb_run_id = "abc123"
    state = history.state_dict()
    resumed = RunHistory()
    resumed.load_state_dict(state)
    assert resumed.wandb_run_id == "abc123" and json.dumps(state)


def test_a_re_evaluated_epoch_replaces_its_record_and_a_cut_line_is_dropped(tmp_path):
    path = tmp_path / "history.jsonl"
    append_record(path, {"monitor": "m", "epoch": 0, "step": 4, "v": 1.0})
    append_record(path, {"monitor": "m", "epoch": 1, "step": 8, "v": 2.0})
    with path.open("a") as file:
        file.write('{"monitor": "m", "epoch": 2, "st')  # a kill mid-write
    assert [row["v"] for row in read_history_file(path)] == [1.0, 2.0]
    append_record(path, {"monitor": "m", "epoch": 2, "step": 12, "v": 3.0})
    append_record(path, {"monitor": "m", "epoch": 1, "step": 8, "v": 2.5})  # re-evaluated
    append_record(path, {"monitor": "other", "epoch": 1, "step": 8, "v": 9.0})
    rows = read_history_file(path)
    assert [(row["monitor"], row["v"]) for row in rows] == [
        ("m", 1.0), ("m", 2.5), ("m", 3.0), ("other", 9.0)
    ]  # fmt: skip
    assert path.read_text().endswith("\n")


def test_non_finite_and_tensor_values_are_stored(tmp_path):
    path = tmp_path / "history.jsonl"
    append_record(path, {"monitor": "m", "epoch": 0, "step": 0, "a": torch.tensor(0.5),
                         "b": float("nan"), "n": 3})  # fmt: skip
    assert read_history_file(path) == [
        {"monitor": "m", "epoch": 0, "step": 0, "a": 0.5, "b": "nan", "n": 3}
    ]


def test_a_corrupt_line_is_named(tmp_path):
    path = tmp_path / "history.jsonl"
    path.write_text('{"epoch": 0}\nnot json\n{"epoch": 1}\n')
    with pytest.raises(ValueError, match=r"history.jsonl, line 2"):
        read_history_file(path)
