"""A fit's output holds ganlens' lines and its progress, not other libraries' named chatter."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

from ganlens.console import HIDDEN_LINES, quiet_other_libraries

ROOT = Path(__file__).parents[1]
NOISE = (
    "LightningCLI's args parameter", "GPU available", "TPU available", "Tip: For seamless",
    "val_dataloader", "LeafSpec", "anonymous setting", "git root", "Seed set to",
    "You can sync this run",
)  # fmt: skip


def test_a_fit_into_a_file_prints_progress_and_no_named_noise(tmp_path, tiny_fit):
    run = tiny_fit(batches=4, WANDB_MODE="offline")
    assert run.returncode == 0, run.stderr
    output = run.stdout + run.stderr
    assert [noise for noise in NOISE if noise in output] == []
    assert "Epoch 0: 100%" in output  # tqdm's bar, also when the output is not a terminal
    [folder] = (tmp_path / "wandb").glob("offline-run-*")
    assert f"W&B offline run {folder}; upload it with: wandb sync {folder}" in run.stderr


def test_only_the_named_lines_and_warnings_are_hidden(caplog):
    quiet_other_libraries()
    log = logging.getLogger("lightning_fabric.utilities.seed")
    with caplog.at_level(logging.INFO):
        log.info("Seed set to 3")
        log.info("something else")
    assert [r.getMessage() for r in caplog.records] == ["something else"]
    assert "pytorch_lightning.utilities.rank_zero" in HIDDEN_LINES
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        quiet_other_libraries()  # the filters go in front of "always"
        warnings.warn(
            "You passed in a `val_dataloader` but have no `validation_step`.", stacklevel=1
        )
        warnings.warn("an unrelated warning", stacklevel=1)
    assert [str(w.message) for w in caught] == ["an unrelated warning"]
