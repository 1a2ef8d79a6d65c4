"""``ganlens summary``: a run's table, status and dashboard from its history.jsonl alone."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from torchvision.io import write_png

from ganlens.cli import main as cli_main
from ganlens.report.run_summary import summarize_run


def write_history(folder: Path, rows: list[dict], finished: bool, cut: str = "") -> Path:
    lines = [json.dumps(row) for row in rows]
    if finished:
        end = {"epoch": len(rows), "step": 8 * len(rows), "monitor": "fit", "event": "fit_end"}
        lines.append(json.dumps(end))
    path = folder / "history.jsonl"
    path.write_text("".join(line + "\n" for line in lines) + cut)
    return path


def swd_rows(epochs: range) -> list[dict]:
    return [{"epoch": e, "step": 8 * e, "monitor": "Q", "quality/swd": 50.0 - e} for e in epochs]


def test_a_finished_run_gives_its_table_and_dashboard(tmp_path):
    write_history(tmp_path, swd_rows(range(3)), finished=True)
    text = summarize_run(tmp_path)
    assert "history.jsonl (3 evaluation records)" in text and "The run finished." in text
    assert "| 2 | 48 |" in text
    assert (tmp_path / "dashboard.html").is_file()


def test_a_killed_run_reads_what_was_logged(tmp_path):
    write_history(tmp_path, swd_rows(range(2)), finished=False, cut='{"epoch": 2, "qual')
    text = summarize_run(tmp_path)
    assert "did not finish" in text and "up to epoch 1" in text and "| 2 |" not in text


def test_the_dashboard_shows_the_lineage_picture_the_history_names(tmp_path):
    picture = torch.zeros(3, 4, 8, dtype=torch.uint8)
    (tmp_path / "lineage").mkdir()
    write_png(picture, str(tmp_path / "lineage" / "layer4.png"))
    rows = [{"epoch": 0, "monitor": "DissectionMonitor", "dissect/layer4/interpretable_units": 3,
             "dissect/layer4/lineage_image": "lineage/layer4.png"}]  # fmt: skip
    write_history(tmp_path, rows, finished=True)
    summarize_run(tmp_path)
    assert "data:image/png;base64," in (tmp_path / "dashboard.html").read_text()


def test_offline_wandb_folders_are_named_for_upload_and_never_read(tmp_path):
    write_history(tmp_path, swd_rows(range(1)), finished=True)
    offline = tmp_path / "wandb" / "offline-run-20260101_000000-abc"
    offline.mkdir(parents=True)
    (offline / "run-abc.wandb").write_bytes(b"not a W&B log")  # reading it would fail
    assert f"wandb sync {offline}" in summarize_run(tmp_path)


def test_user_errors_are_one_line_and_wait_is_deprecated(tmp_path, capsys):
    assert cli_main(["summary", str(tmp_path / "absent")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert cli_main(["summary", str(tmp_path)]) == 2
    assert "no history.jsonl under" in capsys.readouterr().err
    write_history(tmp_path, swd_rows(range(1)), finished=True)
    assert cli_main(["summary", str(tmp_path), "--wait", "5"]) == 0
    assert "--wait is deprecated and ignored" in capsys.readouterr().err


def test_a_failed_run_and_a_run_that_trained_nothing_say_so(tmp_path):
    failure = {"epoch": 1, "step": 12, "monitor": "fit", "event": "fit_failed",
               "error": "OSError: broken.jpg"}  # fmt: skip
    failed = [*swd_rows(range(2)), failure]
    write_history(tmp_path, failed, finished=False)
    text = summarize_run(tmp_path)
    assert "The run failed at epoch 1, step 12: OSError: broken.jpg." in text
    assert "finished" not in text
    idle = [{"epoch": 0, "step": 0, "monitor": "fit", "event": "fit_end"}]
    (tmp_path / "history.jsonl").write_text("".join(json.dumps(r) + "\n" for r in idle))
    assert "ended without training a step" in summarize_run(tmp_path)


def test_run_history_marks_a_failing_fit(tmp_path):
    import pytorch_lightning as pl
    from pytorch_lightning.demos.boring_classes import BoringModel

    from ganlens.callbacks.history import RunHistory
    from ganlens.report.run_summary import read_history_file

    class Failing(BoringModel):
        def training_step(self, batch, batch_idx):
            if batch_idx == 2:
                raise OSError("image file is truncated\nmore detail")
            return super().training_step(batch, batch_idx)

    trainer = pl.Trainer(default_root_dir=tmp_path, logger=False, enable_progress_bar=False,
                         enable_checkpointing=False, enable_model_summary=False, max_epochs=1,
                         callbacks=[RunHistory()])  # fmt: skip
    with pytest.raises(OSError):
        trainer.fit(Failing())
    events = [r for r in read_history_file(tmp_path / "history.jsonl") if "event" in r]
    assert [e["event"] for e in events] == ["fit_start", "fit_failed"]
    assert events[-1]["error"] == "OSError: image file is truncated" and events[-1]["step"] == 2
