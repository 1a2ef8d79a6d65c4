"""SIGKILL a monitored tiny training run at several points, resume it, compare with a clean run.

Each run is ``train.py fit --config run.yaml --ckpt_path last`` in a subprocess, the command a
user re-runs after a kill. :class:`Killer` (in the config) SIGKILLs the process once at the
chosen point; the same command then resumes from ``checkpoints/last.ckpt``. The run's
``history.jsonl`` must then hold every evaluated epoch exactly once, with the numbers of an
uninterrupted run (training resumes bit-exactly), and the W&B log must be one run id.
"""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import pytorch_lightning as pl
import torch

from ganlens.callbacks.base import Monitor
from ganlens.callbacks.logging import log_evaluation
from ganlens.fit import main
from ganlens.report.run_summary import read_history_file

ROOT = Path(__file__).parents[1]
EPOCHS = 3


class _Point:
    """Where and when :class:`Killer` strikes (read by the probe monitor too)."""

    point: str = ""
    epoch: int = -1
    marker: str = ""


def _strike(point: str, epoch: int) -> None:
    if _Point.point == point and _Point.epoch == epoch and not Path(_Point.marker).exists():
        Path(_Point.marker).touch()
        os.kill(os.getpid(), signal.SIGKILL)


class Killer(pl.Callback):
    """SIGKILL this process once (a marker file remembers) at ``point`` of epoch ``epoch``.

    Points: ``mid_epoch`` (after the second batch), ``evaluation`` (inside the monitor, before
    it logs), ``after_record`` (the record is in history.jsonl; W&B and the checkpoint are not),
    ``checkpoint`` (while the epoch's checkpoint is being written).
    """

    def __init__(self, point: str, epoch: int, marker: str) -> None:
        _Point.point, _Point.epoch, _Point.marker = point, epoch, marker

    def on_train_batch_end(
        self, trainer: pl.Trainer, module: pl.LightningModule, outputs: Any, batch: Any, index: int
    ) -> None:
        if index == 1:
            _strike("mid_epoch", trainer.current_epoch)

    def on_save_checkpoint(self, trainer: pl.Trainer, *args: Any) -> None:
        _strike("checkpoint", trainer.current_epoch)


class ProbeMonitor(Monitor):
    """Logs the mean and spread of the EMA generator's images on a fixed latent bank."""

    def __init__(self) -> None:
        super().__init__(bank_size=8)

    def evaluate(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        images = pl_module.sample(8, self.latent_bank(pl_module.hparams["latent_size"]))
        scalars = {"probe/mean": float(images.mean()), "probe/std": float(images.std())}
        _strike("evaluation", trainer.current_epoch)
        log_evaluation(trainer, scalars, owner="ProbeMonitor")
        _strike("after_record", trainer.current_epoch)


CONFIG = """
seed_everything: 0
trainer:
  accelerator: cpu
  max_epochs: {epochs}
  default_root_dir: run
  limit_val_batches: 0
  enable_progress_bar: false
  enable_model_summary: false
  callbacks:
    - class_path: test_fault_injection_train.ProbeMonitor
    - class_path: test_fault_injection_train.Killer
      init_args: {{point: {point}, epoch: {epoch}, marker: killed}}
    - class_path: pytorch_lightning.callbacks.ModelCheckpoint
      init_args: {{save_last: true, enable_version_counter: false}}
model:
  resolution: 16
  latent_size: 16
  fmap_base: 64
  fmap_max: 16
  schedule:
    - {{resolution: 4, stabilise_images: 64}}
    - {{resolution: 8, fade_images: 32, stabilise_images: 32}}
    - {{resolution: 16, fade_images: 32, stabilise_images: 32}}
data:
  class_path: ganlens.data.SceneDataModule
  init_args: {{batch_size: 16, train_size: 64, val_size: 16, num_workers: 0}}
"""


def fit(
    folder: Path, point: str = "none", epoch: int = -1, *extra: str
) -> subprocess.CompletedProcess[str]:
    """``train.py fit --config run.yaml --ckpt_path last`` (and ``extra``) in ``folder``."""
    (folder / "run.yaml").write_text(CONFIG.format(epochs=EPOCHS, point=point, epoch=epoch))
    inherited = {k: v for k, v in os.environ.items() if k != "WANDB_SERVICE"}  # see test_train_cli
    env = {**inherited, "WANDB_MODE": "offline", "WANDB_SILENT": "true",
           "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT / "tests")])}  # fmt: skip
    command = [sys.executable, str(ROOT / "train.py"), "fit", "--config", "run.yaml"]
    command += ["--ckpt_path", "last", *extra]
    return subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True, timeout=600)


def numbers(folder: Path) -> list[dict[str, Any]]:
    rows = read_history_file(folder / "run" / "history.jsonl")
    return [row for row in rows if "event" not in row]


def run_ids(folder: Path) -> set[str]:
    return {path.stem for path in (folder / "run" / "wandb").glob("offline-run-*/run-*.wandb")}


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    """The clean run's history, trained in this process (no W&B) to save a process start."""
    folder = tmp_path_factory.mktemp("clean")
    (folder / "run.yaml").write_text(CONFIG.format(epochs=EPOCHS, point="none", epoch=-1))
    sys.path.insert(0, str(ROOT / "tests"))  # the config names this module's callbacks
    try:
        root = ["--trainer.default_root_dir", str(folder / "run"), "--trainer.logger", "false"]
        main(["fit", "--config", str(folder / "run.yaml"), *root])
    finally:
        sys.path.remove(str(ROOT / "tests"))
    rows = numbers(folder)
    assert [row["epoch"] for row in rows] == list(range(EPOCHS))
    return rows


def kill_and_resume(folder: Path, point: str, epoch: int, *extra: str) -> None:
    killed = fit(folder, point, epoch, *extra)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    assert (folder / "killed").exists()
    resumed = fit(folder, point, epoch, *extra)
    assert resumed.returncode == 0, resumed.stderr[-3000:]


def check_one_series(folder: Path, uninterrupted: list[dict[str, Any]], runs: int = 1) -> None:
    rows = numbers(folder)
    keys = [(row["monitor"], row["epoch"]) for row in rows]
    assert sorted(keys) == [("ProbeMonitor", e) for e in range(EPOCHS)]  # each exactly once
    assert sorted(rows, key=lambda row: row["epoch"]) == uninterrupted  # the same numbers
    assert read_history_file(folder / "run" / "history.jsonl")[-1]["event"] == "fit_end"
    assert len(run_ids(folder)) == runs  # the resumed process continues the W&B run
    last = torch.load(folder / "run" / "checkpoints" / "last.ckpt", weights_only=True)
    assert int(last["state_dict"]["images_shown"]) == EPOCHS * 64


def test_kill_after_the_record_before_the_checkpoint_then_resume(tmp_path, uninterrupted):
    # The epoch-1 record is on disk, its checkpoint is not: the resumed run evaluates epoch 1
    # again, and its record must replace the first one, not follow it. Without W&B, to stay
    # fast (the slow tests and the README test check that a resume continues the W&B run).
    kill_and_resume(tmp_path, "after_record", 1, "--trainer.logger", "false")
    check_one_series(tmp_path, uninterrupted, runs=0)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("point", "epoch"),
    [("mid_epoch", 0), ("mid_epoch", 2), ("evaluation", 1), ("checkpoint", 0), ("checkpoint", 2)],
)
def test_kill_anywhere_then_resume_gives_one_series(tmp_path, uninterrupted, point, epoch):
    kill_and_resume(tmp_path, point, epoch)
    # Killed before its first checkpoint, a run has nothing to resume: `--ckpt_path last` starts
    # it again as a new W&B run and sets the old history aside.
    restarted = point in ("mid_epoch", "checkpoint") and epoch == 0
    check_one_series(tmp_path, uninterrupted, runs=2 if restarted else 1)
    aside = tmp_path / "run" / "history-previous-1.jsonl"  # the epoch-0 record of the kill
    assert aside.exists() == (point == "checkpoint" and epoch == 0)


def test_history_lines_are_json_objects_with_epoch_step_and_monitor(tmp_path, uninterrupted):
    assert all({"epoch", "step", "monitor"} <= set(row) for row in uninterrupted)
    assert json.loads(json.dumps(uninterrupted)) == uninterrupted
