"""Both monitors in a real tiny ProgGAN run with WandbLogger(offline=True), read back from .wandb.

The run's ``run-*.wandb`` transaction log is read with the tests' ``wandb_log_reader`` and
every documented key is checked for every evaluated epoch; then the run is resumed from its
checkpoint and the lineage must continue.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch
import wandb
from pytorch_lightning.callbacks import ModelCheckpoint
from pytorch_lightning.loggers import WandbLogger

from ganlens.callbacks import DissectionMonitor, ImageQualityMonitor
from ganlens.callbacks.history import RunHistory
from ganlens.cli import main as ganlens_main
from ganlens.data import SCENE_VOCABULARY
from ganlens.data.datamodules import SceneDataModule
from ganlens.training import GrowthPhase, ProgressiveGAN
from wandb_log_reader import find_run_files, read_table, wait_for_run

PHASES = [GrowthPhase(4, 0, 32), GrowthPhase(8, 32, 32), GrowthPhase(16, 64, 64)]
LAYERS = {"layer4": 16, "layer6": 16}  # name: units
CATEGORIES = ("object", "part", "material")


def monitors() -> list[pl.Callback]:
    return [DissectionMonitor(list(LAYERS), num_samples=32, batch_size=32, table_units=4,
                              thumbnails=2),
            ImageQualityMonitor(num_images=32, batch_size=32)]  # fmt: skip


def fit(folder: Path, epochs: int, ckpt_path: str | None = None) -> tuple[pl.Trainer, list]:
    gan = ProgressiveGAN(resolution=16, latent_size=16, fmap_base=64, fmap_max=16, schedule=PHASES)
    data = SceneDataModule(16, 16, train_size=64, val_size=16, num_workers=0)
    logger = WandbLogger(save_dir=folder, project="ganlens-test", offline=True)
    callbacks = [*monitors(), ModelCheckpoint(dirpath=folder / "ckpt", save_last=True),
                 RunHistory()]  # fmt: skip  # as ganlens fit adds it: the summary reads it
    trainer = pl.Trainer(accelerator="cpu", max_epochs=epochs, logger=logger, callbacks=callbacks,
                         default_root_dir=folder, limit_val_batches=0, enable_progress_bar=False,
                         enable_model_summary=False)  # fmt: skip
    trainer.fit(gan, datamodule=data, ckpt_path=ckpt_path)
    wandb.finish()  # Lightning's WandbLogger leaves the run open
    return trainer, callbacks


def history(folder: Path) -> tuple[Path, list[dict]]:
    """The run's rows, once W&B's service has written the run's exit record."""
    (run,) = find_run_files(folder)
    return run, wait_for_run(run).history


def dissection_keys(layer: str) -> list[str]:
    prefix = f"dissect/{layer}"
    keys = [f"{prefix}/{name}" for name in ("interpretable_units", "concepts", "mean_iou")]
    keys += [f"{prefix}/units_{category}" for category in CATEGORIES]
    keys += [f"{prefix}/class/{name}" for name in SCENE_VOCABULARY.names[1:]]
    return [*keys, f"{prefix}/units", f"{prefix}/lineage", f"{prefix}/class_distribution_table"]


@pytest.fixture(scope="module")
def first_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("run")
    trainer, callbacks = fit(folder, epochs=3)
    return folder, trainer, callbacks


def test_every_documented_key_is_logged_for_every_evaluated_epoch(first_run):
    folder, _, callbacks = first_run
    run, rows = history(folder)
    evaluated = [e.epoch for e in callbacks[0].lineage.entries["layer4"]]
    assert evaluated == [1, 2]  # 16 px images from epoch 1 on
    records = {row["epoch"]: row for row in rows if "dissect/layer4/concepts" in row}
    assert sorted(records) == evaluated
    for epoch, row in records.items():
        for layer, units in LAYERS.items():
            prefix = f"dissect/{layer}"
            for key in dissection_keys(layer):
                assert key in row, (epoch, key)
            counts = [row[k] for k in dissection_keys(layer)[:2] + dissection_keys(layer)[3:6]]
            assert all(isinstance(c, int) and 0 <= c <= units for c in counts), counts
            assert (
                sum(row[f"{prefix}/units_{c}"] for c in CATEGORIES)
                == row[f"{prefix}/interpretable_units"]
            )
            assert 0.0 <= row[f"{prefix}/mean_iou"] <= 1.0
            assert row[f"{prefix}/lineage"]["_type"] == "image-file"
            table = read_table(run, row[f"{prefix}/units"])
            assert table.columns[:3] == ["unit", "concept", "category"] and len(table.rows) == 4
        for layer in LAYERS:  # defined from the second evaluation, when a unit was kept
            stability = callbacks[0].lineage.stability(layer) if epoch == evaluated[1] else None
            assert row.get(f"dissect/{layer}/concept_stability") == stability


def test_quality_keys_are_logged_for_every_evaluated_epoch(first_run):
    folder, _, _ = first_run
    _, rows = history(folder)
    records = {row["epoch"]: row for row in rows if "quality/swd" in row}
    assert sorted(records) == [1, 2]  # from the 16 px stage on
    for row in records.values():
        assert row["quality/resolution"] == 16 and row["quality/images_shown"] > 0
        for key in (
            "quality/swd",
            "quality/swd_16px",
            "quality/swd_floor",
            "quality/swd_floor_16px",
        ):
            assert row[key] > 0, key
        assert row["quality/swd"] > row["quality/swd_floor"]  # an untrained GAN is far from real
        assert 0 < row["quality/fsd"] < float("inf") and "quality/fid" not in row


def test_resuming_continues_the_lineage_on_the_same_bank(first_run, tmp_path):
    folder, _, callbacks = first_run
    _, resumed = fit(tmp_path, epochs=4, ckpt_path=str(folder / "ckpt" / "last.ckpt"))
    before, after = callbacks[0], resumed[0]
    assert torch.equal(after.latents_probe, before.latents_probe)
    for layer in LAYERS:
        epochs = [e.epoch for e in after.lineage.entries[layer]]
        assert epochs == [1, 2, 3]
        for old, new in zip(
            before.lineage.entries[layer], after.lineage.entries[layer][:2], strict=True
        ):
            assert torch.equal(old.concept, new.concept) and torch.equal(old.iou, new.iou)
    _, rows = history(tmp_path)
    assert [row["epoch"] for row in rows if "dissect/layer4/concepts" in row] == [3]


def test_run_summary_prints_the_epochs_and_writes_the_dashboard(first_run, tmp_path, capsys):
    folder, _, _ = first_run
    assert ganlens_main(["summary", str(folder), "--html", str(tmp_path / "dashboard.html")]) == 0
    out = capsys.readouterr().out
    assert "| epoch | layer4 units | layer6 units | SWD | SWD floor | FSD |" in out
    assert [line.split("|")[1].strip() for line in out.splitlines() if line.startswith("| ")][
        1:
    ] == ["1", "2"]
    page = (tmp_path / "dashboard.html").read_text()
    assert page.count("data:image/png;base64,") == 2  # the lineage of both layers
    assert page.count("<polyline") >= 2 + 2 * 4 and "https://" not in page
