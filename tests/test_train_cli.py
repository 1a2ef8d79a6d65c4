"""``train.py`` as a user runs it: help, every config, the tiny run and its resumption."""

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from ganlens.callbacks import DissectionMonitor
from ganlens.fit import main

ROOT = Path(__file__).parents[1]
CONFIGS = sorted((ROOT / "configs").glob("*.yaml"))


def train(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "train.py", *args], cwd=ROOT, capture_output=True, text=True, timeout=600
    )


def test_help_documents_the_options():
    done = train("fit", "--help")
    assert done.returncode == 0, done.stderr
    for option in ("--model.schedule", "--model.ema_decay", "--data CONFIG", "--trainer.logger"):
        assert option in done.stdout


@pytest.mark.parametrize("config", CONFIGS, ids=[c.stem for c in CONFIGS])
def test_every_config_instantiates_with_the_resolution_linked(config):
    cli = main(["--config", str(config), "--trainer.accelerator", "cpu"], run=False)
    assert cli.datamodule.resolution == cli.model.hparams["resolution"]
    assert cli.model.schedule.final_resolution == cli.model.hparams["resolution"]


def test_tiny_config_trains_writes_a_checkpoint_and_resumes(tmp_path):
    root = ["--trainer.default_root_dir", str(tmp_path)]
    done = train("fit", "--config", "configs/tiny_cpu.yaml", *root)
    assert done.returncode == 0, done.stderr[-3000:]
    (checkpoint,) = tmp_path.glob("ganlens/*/checkpoints/epoch=2-*.ckpt")
    assert len(list(checkpoint.parent.parent.glob("samples/epoch=*.png"))) == 3
    assert list(tmp_path.glob("wandb/offline-run-*/run-*.wandb"))
    state = torch.load(checkpoint, weights_only=True)
    assert int(state["state_dict"]["images_shown"]) == 3 * 512

    more = ["--trainer.max_epochs", "4", "--ckpt_path", str(checkpoint)]
    done = train("fit", "--config", "configs/tiny_cpu.yaml", *root, *more)
    assert done.returncode == 0, done.stderr[-3000:]
    (resumed,) = tmp_path.glob("ganlens/*/checkpoints/epoch=3-*.ckpt")
    assert int(torch.load(resumed, weights_only=True)["state_dict"]["images_shown"]) == 4 * 512


def test_a_bad_option_fails_with_a_message():
    done = train("fit", "--config", "configs/tiny_cpu.yaml", "--model.resolution", "24")
    assert done.returncode != 0
    assert "power of two" in done.stderr or "resolution" in done.stderr


@pytest.mark.parametrize("config", CONFIGS, ids=[c.stem for c in CONFIGS])
def test_presets_append_both_monitors_to_every_config(config):
    presets = ["--config", "callbacks/interpretability.yaml", "--config", "callbacks/quality.yaml"]
    cli = main(["--config", str(config), *presets, "--trainer.accelerator", "cpu"], run=False)
    kinds = [type(callback).__name__ for callback in cli.trainer.callbacks]
    assert {"DissectionMonitor", "ImageQualityMonitor", "SampleGridMonitor"} <= set(kinds)
    (dissection,) = [c for c in cli.trainer.callbacks if isinstance(c, DissectionMonitor)]
    assert dissection.layers == ["layer4", "layer6"] and dissection.threshold_mode == "iqr"
