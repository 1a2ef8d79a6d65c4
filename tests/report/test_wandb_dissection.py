"""--wandb: the dissection's tables (with unit images), bar charts and counts in an offline run."""

import torch

from ganlens.dissect.planted import PlantedSceneGenerator, SceneLabelSegmenter
from ganlens.dissect.stages import DissectionOptions, run_units
from ganlens.report.wandb_dissection import UNIT_COLUMNS, log_dissection
from wandb_log_reader import find_run_files, read_table, wait_for_run


def test_an_offline_run_holds_unit_tables_with_images_charts_and_counts(tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")
    generator = PlantedSceneGenerator(["sky", "grass", "door"], resolution=32, feature_size=8)
    probe = torch.stack([torch.arange(24.0), torch.zeros(24)], dim=1)
    document = run_units(
        generator, ["layer1"], SceneLabelSegmenter(range(48), resolution=32), tmp_path,
        probe=probe, held_out=probe + torch.tensor([24.0, 0.0]),
        options=DissectionOptions(images_per_unit=2), model={"source": "planted"}, progress=False,
    ).to_dict()  # fmt: skip
    run_dir = log_dissection(document, tmp_path, project="ganlens-test")
    assert run_dir.parent == tmp_path / "wandb" and run_dir.name.startswith("offline-run-")
    [run_file] = find_run_files(run_dir)
    run = wait_for_run(run_file)  # wandb.finish() may return before the log is complete
    assert run.finished and run.project == "ganlens-test" and len(run.history) == 1
    summary = document["layers"][0]["summary"]
    assert run.summary["layer1/num_interpretable"] == summary["num_interpretable"]
    assert run.summary["layer1/part_units"] == summary["category_counts"]["part"]
    assert run.config["threshold_mode"] == "iqr"

    row = run.history[0]
    units = read_table(run_file, row["layer1/units"])
    assert units.columns == [*UNIT_COLUMNS, "image"]
    assert units.column("concept") == [u["concept"] for u in document["layers"][0]["units"]]
    assert units.column("iou") == [u["iou"] for u in document["layers"][0]["units"]]
    assert all(cell["_type"] == "image-file" for cell in units.column("image"))

    distribution = read_table(run_file, row["layer1/class_distribution_table"])
    assert distribution.rows == [[e["concept"], e["count"]] for e in summary["class_distribution"]]
    comparison = read_table(run_file, row["layers/comparison"])
    assert comparison.column("interpretable") == [summary["num_interpretable"]]
