"""Reading W&B offline run files written by wandb itself and by Lightning's WandbLogger."""

import json
import os
from pathlib import Path

import numpy as np
import pytest
import wandb
from pytorch_lightning.loggers import WandbLogger
from wandb.proto import wandb_internal_pb2 as pb

from ganlens.cli import main as cli_main
from ganlens.report import (
    find_run_files,
    read_history,
    read_records,
    read_run,
    read_table,
    wait_for_run,
)
from ganlens.report.run_summary import summarize_run
from ganlens.report.wandb_history import BLOCK_SIZE, _write_log

LONG = "".join(chr(ord("a") + i % 26) for i in range(100_000))  # spans 4 blocks


@pytest.fixture(scope="module")
def offline_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("wandb_run")
    run = wandb.init(mode="offline", dir=folder, project="t", config={"lr": 0.5, "g": {"k": 2}})
    for step in range(3):
        run.log({"loss": 1.0 / (step + 1), "group": {"acc": step * 0.25}, "epoch": step})
    run.log({"text": LONG, "epoch": 3})
    pixels = np.arange(8 * 8 * 3, dtype=np.uint8).reshape(8, 8, 3)
    table = wandb.Table(columns=["unit", "iou", "thumb"])
    table.add_data(3, 0.25, wandb.Image(pixels))
    table.add_data(7, 0.5, wandb.Image(255 - pixels))
    bars = wandb.Table(columns=["concept", "units"], data=[["tree", 4], ["sky", 2]])
    run.log(
        {
            "units": table,
            "grid": wandb.Image(pixels),
            "counts": wandb.plot.bar(bars, "concept", "units", title="units per concept"),
            "epoch": 4,
        }
    )
    run.summary["best"] = 0.125
    run.finish()
    (path,) = find_run_files(folder)
    assert wait_for_run(path, timeout=60).finished  # finish() returns before the last blocks
    return path


def test_history_rows_have_the_logged_values(offline_run):
    rows = read_history(offline_run)
    assert [row["_step"] for row in rows] == [0, 1, 2, 3, 4]
    assert [row["epoch"] for row in rows] == [0, 1, 2, 3, 4]
    assert [row.get("loss") for row in rows] == [1.0, 0.5, 1 / 3, None, None]
    assert [row.get("group/acc") for row in rows[:3]] == [0.0, 0.25, 0.5]
    assert rows[3]["text"] == LONG
    assert offline_run.stat().st_size > 3 * BLOCK_SIZE


def test_media_become_reference_dicts(offline_run):
    row = read_history(offline_run)[-1]
    assert row["grid"]["_type"] == "image-file"
    assert (row["grid"]["width"], row["grid"]["height"]) == (8, 8)
    assert (offline_run.parent / "files" / row["grid"]["path"]).is_file()
    assert row["units"]["_type"] == "table-file"
    assert (row["units"]["ncols"], row["units"]["nrows"]) == (3, 2)
    assert row["counts_table"]["_type"] == "table-file"


def test_tables_load_with_their_rows(offline_run):
    row = read_history(offline_run)[-1]
    table = read_table(offline_run, row["units"])
    assert table.columns == ["unit", "iou", "thumb"]
    assert table.column("unit") == [3, 7]
    assert table.column("iou") == [0.25, 0.5]
    for cell in table.column("thumb"):  # the staged artifact copy keeps image references
        assert cell["_type"] == "image-file" and cell["width"] == 8
    bars = read_table(offline_run, row["counts_table"])
    assert bars.rows == [["tree", 4], ["sky", 2]]
    with pytest.raises(ValueError, match="columns"):
        table.column("area")


def test_run_config_summary_and_chart(offline_run):
    run = read_run(offline_run)
    assert run.path.name == f"run-{run.run_id}.wandb" and run.project == "t"
    assert (run.config["lr"], run.config["g"]) == (0.5, {"k": 2})
    chart = run.config["_wandb"]["visualize"]["counts"]["panel_config"]
    assert chart["panelDefId"] == "wandb/bar/v0"
    assert chart["fieldSettings"] == {"label": "concept", "value": "units"}
    assert run.summary["best"] == 0.125 and run.summary["epoch"] == 4
    assert run.history == read_history(offline_run)


def test_a_corrupted_byte_raises_naming_the_offset(offline_run, tmp_path):
    data = bytearray(offline_run.read_bytes())
    data[data.index(LONG[:200].encode()) + 50_000] ^= 0x01
    broken = tmp_path / "run-broken.wandb"
    broken.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"corrupt .* at offset \d+: CRC mismatch"):
        read_history(broken)


def test_a_wrong_header_raises(tmp_path):
    path = tmp_path / "run-x.wandb"
    path.write_bytes(b"LEVELDB" + bytes(20))
    with pytest.raises(ValueError, match="not a W&B run file"):
        list(read_records(path))


def test_a_truncated_file_yields_the_complete_rows_only(offline_run, tmp_path):
    data = offline_run.read_bytes()
    full = read_history(offline_run)
    cut = tmp_path / "run-cut.wandb"
    cut.write_bytes(data[: data.index(LONG[:200].encode()) + 40_000])  # inside the long row
    assert read_history(cut) == full[:3]
    lengths = set()
    for end in range(0, len(data), 1_499):  # any prefix reads as a prefix of the history
        cut.write_bytes(data[:end])
        rows = read_history(cut)
        assert rows == full[: len(rows)]
        lengths.add(len(rows))
    assert lengths >= {0, 3, 4}
    assert not read_run(cut).finished and read_run(offline_run).finished
    with pytest.raises(TimeoutError, match="no exit record"):
        wait_for_run(cut, timeout=0.2)


@pytest.mark.parametrize("room", range(-2, 10))
def test_records_round_trip_across_block_boundaries(tmp_path, room):
    # The first record (21 bytes of framing around the string) leaves `room` bytes in block 0:
    # < 7 is zero padding, 7 an empty FIRST chunk, negative a record split across blocks.
    records = []
    for index, length in enumerate([BLOCK_SIZE - 35 - room, 10, 3 * BLOCK_SIZE, 0]):
        record = pb.Record(num=index)
        record.history.item.add(key="text", value_json=json.dumps("x" * length))
        records.append(record)
    path = tmp_path / "run-edge.wandb"
    _write_log(path, records)
    assert len(records[0].SerializeToString()) == BLOCK_SIZE - 14 - room
    assert list(read_records(path)) == records


def test_bad_arguments_raise(offline_run, tmp_path):
    with pytest.raises(ValueError, match="folder must be an existing directory"):
        find_run_files(tmp_path / "absent")
    with pytest.raises(ValueError, match="table-file"):
        read_table(offline_run, {"_type": "image-file", "path": "x.png"})
    with pytest.raises(ValueError, match="missing"):
        read_table(offline_run, {"_type": "table-file", "path": "media/table/none.table.json"})


def test_lightning_wandb_logger_offline_run(tmp_path):
    logger = WandbLogger(offline=True, save_dir=str(tmp_path), project="t")
    for step in range(3):
        logger.log_metrics({"quality/swd": 10.0 - step, "epoch": step}, step=step * 8)
    logger.log_hyperparams({"model": {"resolution": 16}})
    logger.experiment.finish()  # Lightning never calls it (the process's exit does)
    (path,) = find_run_files(tmp_path)
    wait_for_run(path, timeout=60)
    rows = [row for row in read_history(path) if "quality/swd" in row]
    assert [row["quality/swd"] for row in rows] == [10.0, 9.0, 8.0]
    assert [row["trainer/global_step"] for row in rows] == [0, 8, 16]
    assert read_run(path).config["model"] == {"resolution": 16}


def _monitor_run(folder: Path, run_id: str, epochs: range, finished: bool) -> Path:
    """A W&B offline log of quality/swd rows, as Lightning's WandbLogger writes them."""
    records = [pb.Record(run=pb.RunRecord(run_id=run_id, project="ganlens"))]
    for epoch in epochs:
        record = pb.Record()
        for key, value in (("epoch", epoch), ("quality/swd", 50.0 - epoch), ("_step", epoch)):
            record.history.item.add(key=key, value_json=json.dumps(value))
        records.append(record)
    records += [pb.Record(exit=pb.RunExitRecord())] if finished else []
    path = folder / "wandb" / f"offline-run-2026010{epochs.start}_000000-{run_id}"
    path.mkdir(parents=True)
    _write_log(path / f"run-{run_id}.wandb", records)
    return path / f"run-{run_id}.wandb"


def test_summary_of_a_killed_run_reads_what_was_logged_without_waiting(tmp_path):
    # Why 1: a SIGKILLed run's log has no exit record; summary waited 60 s, then TimeoutError.
    path = _monitor_run(tmp_path, "abc", range(3), finished=False)
    data = path.read_bytes()
    path.write_bytes(data[:-5])  # the last record cut short, as a kill leaves it
    text = summarize_run(tmp_path)
    assert "did not finish" in text and "| 1 | 49 |" in text and "| 2 |" not in text
    path.write_bytes(data[:-5] + b"\xff" * 40)  # garbage after the last complete record
    assert "| 1 | 49 |" in summarize_run(tmp_path)
    assert "The run finished." not in text


def test_summary_joins_every_log_of_a_resumed_wandb_run_and_can_wait(tmp_path):
    first = _monitor_run(tmp_path, "abc", range(2), finished=False)
    second = _monitor_run(tmp_path, "abc", range(2, 4), finished=True)
    os.utime(first, (1, 1))
    text = summarize_run(tmp_path, wait=0.5)
    assert "The run finished." in text and "| 0 | 50 |" in text and "| 3 | 47 |" in text
    assert second.parent.joinpath("dashboard.html").is_file()


def test_summary_prefers_the_run_history_file(tmp_path):
    _monitor_run(tmp_path, "abc", range(1), finished=False)
    rows = [{"epoch": e, "step": 8 * e, "monitor": "Q", "quality/swd": 9.0 - e} for e in range(3)]
    rows.append({"epoch": 3, "step": 24, "monitor": "fit", "event": "fit_end"})
    (tmp_path / "history.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    text = summarize_run(tmp_path)
    assert "history.jsonl (3 evaluation records)" in text and "The run finished." in text
    assert "| 2 | 7 |" in text and "| 0 | 50 |" not in text


def test_summary_user_errors_are_one_line(tmp_path, capsys):
    assert cli_main(["summary", str(tmp_path / "absent")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert cli_main(["summary", str(tmp_path)]) == 2
    assert "no history.jsonl and no W&B run file" in capsys.readouterr().err
    assert cli_main(["summary", str(tmp_path), "--wait", "-1"]) == 2
    assert "--wait must be" in capsys.readouterr().err
