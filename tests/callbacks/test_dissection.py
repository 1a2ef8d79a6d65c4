"""DissectionMonitor: a real Trainer run on planted units, the lineage, state and errors."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch
from pytorch_lightning.loggers import CSVLogger

from ganlens.callbacks import DissectionMonitor
from ganlens.dissect import SceneLabelSegmenter, dissect

sys.path.insert(0, str(Path(__file__).parent))  # the planted module, shared with the DDP worker
from planted_module import NUM_SAMPLES, PLANTED, PlantedModule, scene_bank


def planted_monitor(**overrides) -> DissectionMonitor:
    segmenter = SceneLabelSegmenter(range(2 * NUM_SAMPLES))
    settings = dict(layers=["layer1"], num_samples=NUM_SAMPLES, min_resolution=16,
                    segmenter=segmenter, batch_size=8)  # fmt: skip
    monitor = DissectionMonitor(**(settings | overrides))
    monitor.latents = torch.cat(scene_bank())  # probe, then held-out latents
    return monitor


def run(tmp_path: Path, monitor: DissectionMonitor, epochs: int = 2) -> list[dict[str, str]]:
    logger = CSVLogger(tmp_path, name="run", version=0)
    trainer = pl.Trainer(accelerator="cpu", max_epochs=epochs, logger=logger,
                         default_root_dir=tmp_path, enable_progress_bar=False,
                         enable_model_summary=False,
                         enable_checkpointing=False, callbacks=[monitor])  # fmt: skip
    trainer.fit(PlantedModule())
    metrics = Path(logger.log_dir) / "metrics.csv"
    if not metrics.exists():  # nothing was logged
        return []
    with open(metrics) as file:
        return [
            row for row in csv.DictReader(file) if row.get("dissect/layer1/interpretable_units")
        ]


def test_logs_the_planted_units_every_epoch_as_dissect_finds_them(tmp_path):
    monitor = planted_monitor()
    rows = run(tmp_path, monitor)
    assert [int(float(r["epoch"])) for r in rows] == [0, 1]
    probe, held_out = scene_bank()
    expected = dissect(PlantedModule().generator_ema, "layer1",
                       SceneLabelSegmenter(range(2 * NUM_SAMPLES)), probe, held_out,
                       threshold_mode="iqr")["layer1"]  # fmt: skip
    for row in rows:
        assert (
            int(float(row["dissect/layer1/interpretable_units"]))
            == expected.summary.num_interpretable
        )
        for concept in PLANTED:  # each planted unit is found
            assert int(float(row[f"dissect/layer1/class/{concept}"])) >= 1
        categories = sum(
            int(float(row[f"dissect/layer1/units_{c}"])) for c in ("object", "part", "material")
        )
        assert categories == expected.summary.num_interpretable
        assert 0.05 < float(row["dissect/layer1/mean_iou"]) <= 1.0
    assert (
        "dissect/layer1/concept_stability" not in rows[0]
        or rows[0]["dissect/layer1/concept_stability"] == ""
    )
    assert (
        float(rows[1]["dissect/layer1/concept_stability"]) == 1.0
    )  # same generator, same concepts
    entries = monitor.lineage.entries["layer1"]
    assert [e.epoch for e in entries] == [0, 1]
    planted = [u.unit for u in expected.units[: len(PLANTED)]]
    assert entries[0].interpretable[planted].all()


def test_state_round_trip_keeps_bank_and_lineage(tmp_path):
    monitor = planted_monitor()
    run(tmp_path, monitor, epochs=1)
    restored = planted_monitor()
    restored.latents = None
    restored.load_state_dict(torch.load(_save(tmp_path, monitor.state_dict()), weights_only=True))
    assert torch.equal(restored.latents_probe, monitor.latents_probe)
    assert torch.equal(restored.lineage.entries["layer1"][0].concept,
                       monitor.lineage.entries["layer1"][0].concept)  # fmt: skip


def _save(tmp_path: Path, state: dict) -> Path:
    path = tmp_path / "state.pt"
    torch.save(state, path)
    return path


def test_skips_images_below_min_resolution_and_every_n_epochs(tmp_path):
    assert run(tmp_path / "a", planted_monitor(min_resolution=64)) == []
    rows = run(tmp_path / "b", planted_monitor(every_n_epochs=2), epochs=2)
    assert [int(float(r["epoch"])) for r in rows] == [1]


def test_every_n_images_dissects_after_the_batch_that_passes_each_multiple(tmp_path):
    monitor = planted_monitor(every_n_images=3)  # 2 images per batch, 4 per epoch
    rows = run(tmp_path, monitor, epochs=2)  # images 2, 4 | 6, 8: multiples of 3 passed at 4, 6
    assert [int(float(r["dissect/images_shown"])) for r in rows] == [4, 6]
    assert [e.images_shown for e in monitor.lineage.entries["layer1"]] == [4, 6]
    assert [e.epoch for e in monitor.lineage.entries["layer1"]] == [0, 1]
    assert monitor.state_dict()["images_block"] == 2


def test_bank_is_drawn_from_the_seed():
    a, b = DissectionMonitor(num_samples=8, seed=3), DissectionMonitor(num_samples=8, seed=3)
    assert torch.equal(a._bank(4)[0], b._bank(4)[0])
    probe, held_out = a._bank(4)
    assert held_out is not None and not torch.equal(probe, held_out)
    assert DissectionMonitor(num_samples=8, threshold_mode="quantile")._bank(4)[1] is None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"layers": []}, "at least one"),
        ({"num_samples": 0}, "num_samples"),
        ({"threshold_mode": "median"}, "threshold_mode"),
        ({"every_n_images": 0}, "every_n_images"),
    ],
)
def test_bad_arguments_raise(kwargs, message):
    with pytest.raises(ValueError, match=message):
        DissectionMonitor(**kwargs)


def test_the_lineage_picture_is_written_beside_the_history_and_named_in_it(tmp_path):
    from torchvision.io import read_image

    from ganlens.callbacks.history import RunHistory
    from ganlens.report.run_summary import read_history_file

    monitor = planted_monitor()
    trainer = pl.Trainer(accelerator="cpu", max_epochs=2, logger=False, default_root_dir=tmp_path,
                         enable_progress_bar=False, enable_model_summary=False,
                         enable_checkpointing=False, callbacks=[monitor, RunHistory()])  # fmt: skip
    trainer.fit(PlantedModule())
    rows = [r for r in read_history_file(tmp_path / "history.jsonl") if "dissect/images_shown" in r]
    assert [r["dissect/layer1/lineage_image"] for r in rows] == ["lineage/layer1.png"] * 2
    picture = read_image(str(tmp_path / "lineage" / "layer1.png"))
    names = monitor.last_result.concept_names
    expected = monitor.lineage.heatmap("layer1", len(names), column=16, names=names)
    assert torch.equal(picture, expected)  # the lineage after both evaluations


@pytest.mark.parametrize(
    ("overrides", "message"),
    [({"layers": ["layer99"]}, "unknown layer 'layer99'"),
     ({"segmenter": "no.such.module:factory"}, "cannot import segmenter factory"),
     ({"generator_attribute": "missing"}, "has no generator attribute 'missing'")],
)  # fmt: skip
def test_a_monitor_mistake_fails_at_fit_start_before_any_step(tmp_path, overrides, message):
    monitor = planted_monitor(**overrides)
    if "segmenter" in overrides:
        monitor.segmenter_source = overrides["segmenter"]
    module = PlantedModule()
    trainer = pl.Trainer(accelerator="cpu", max_epochs=1, logger=False, default_root_dir=tmp_path,
                         enable_progress_bar=False, enable_model_summary=False,
                         enable_checkpointing=False, callbacks=[monitor])  # fmt: skip
    with pytest.raises(ValueError, match=message):
        trainer.fit(module)
    assert trainer.global_step == 0
