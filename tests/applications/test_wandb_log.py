"""W&B logging of an application's results, offline."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from ganlens.applications.wandb_log import log_to_wandb


def test_log_to_wandb_offline(tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    picture = tmp_path / "p.png"
    Image.new("RGB", (4, 4)).save(picture)
    directory = log_to_wandb(
        "ganlens-test",
        "context-test",
        tmp_path,
        {"context/wall/success_rate": 0.5},
        {"context/table": (["context", "cells"], [["wall", 4], ["sky", 9]])},
        {"context/grid": picture},
        {"concept": "door"},
    )
    assert Path(directory).is_dir()
    runs = list((tmp_path / "wandb").glob("offline-run-*"))
    assert len(runs) == 1 and list(runs[0].glob("*.wandb"))
