"""The tests' reader of W&B offline run files, on files written by wandb and WandbLogger."""

import json
from pathlib import Path

import numpy as np
import pytest
import wandb
from pytorch_lightning.loggers import WandbLogger
from wandb.proto import wandb_internal_pb2 as pb

from wandb_log_reader import (
    BLOCK_SIZE,
    _write_log,
    find_run_files,
    read_history,
    read_records,
    read_run,
    read_table,
    wait_for_run,
)

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
    logger = WandbLogger(save_dir=str(tmp_path), project="t", mode="offline")
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
