"""``dissect.py ace`` as a user types it: on the planted toy (fast) and the shipped model (slow)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from ganlens import cli


def main(argv: list[str]) -> int:
    return cli.main(["ace", *argv])


PLANTED = "ganlens.ace.planted:"
TOY = ["--generator", f"{PLANTED}PlantedCausalGenerator", "--layer", "layer1",
       "--segmenter", f"{PLANTED}PlantedConceptSegmenter"]  # fmt: skip
KEYS = {"layer", "concept", "num_units", "alpha", "ranking", "curves", "settings", "fit", "units"}


def test_cli_end_to_end_on_the_planted_toy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [
        *TOY,
        "--concept",
        "tree",
        "--samples",
        "48",
        "--eval-samples",
        "32",
        "--steps",
        "80",
        "--top-n",
        "4",
        "--dissect-samples",
        "96",
        "--out",
        str(tmp_path),
    ]
    assert main(argv) == 0
    record = json.loads((tmp_path / "ace" / "layer1" / "tree.json").read_text())
    assert set(record) >= KEYS and record["num_units"] == 8 == len(record["alpha"])
    assert set(record["ranking"]["ace"][:3]) == {3, 4, 5}  # the planted causal units
    assert set(record["ranking"]["iou"][:3]) == {0, 1, 2}  # the decoys
    curves = record["curves"]
    assert curves["n"] == [1, 2, 3, 4]
    assert curves["ablation"]["ace"][2] > 0.99 and curves["ablation"]["iou"][2] == 0.0
    assert curves["insertion"]["ace"][2] > 0.99 and curves["insertion"]["iou"][2] == 0.0
    assert record["fit"]["steps"] == 80 and record["fit"]["seconds"] > 0
    picture = ET.parse(tmp_path / "ace" / "layer1" / "tree.svg").getroot()
    assert picture.tag == "{http://www.w3.org/2000/svg}svg"
    assert len(list(picture.iter("{http://www.w3.org/2000/svg}polyline"))) == 4  # 2 kinds x 2
    assert "layer1/tree: top units" in capsys.readouterr().err  # a message: --quiet hides it


def test_cli_reads_a_yaml_config_and_a_dissection(tmp_path: Path) -> None:
    import torch

    from ganlens.dissect.record import write_dissection
    from ganlens.dissect.result import (
        DissectionResult,
        DissectionSettings,
        LayerDissection,
        LayerSummary,
    )

    table = torch.zeros(8, 2)
    table[:, 1] = torch.arange(8) / 10  # IoU with tree grows with the unit index
    layer = LayerDissection("layer1", (), LayerSummary(8, 0, 0, {}, {}), table)
    settings = DissectionSettings("quantile", 0.01, "unrestricted", 8, 8, 8, 0.05, None, 1)
    dissection = DissectionResult({"layer1": layer}, settings, ("-", "tree"), ("none", "object"))
    write_dissection(dissection, tmp_path / "dissect.json")
    config = tmp_path / "ace.yaml"
    config.write_text(
        f"concept: [tree]\nsamples: 16\neval_samples: 16\nsteps: 3\ntop_n: 2\nquiet: true\n"
        f"dissection: {tmp_path / 'dissect.json'}\nout: {tmp_path / 'out'}\n"
    )
    assert main([*TOY, "--config", str(config)]) == 0
    record = json.loads((tmp_path / "out" / "ace" / "layer1" / "tree.json").read_text())
    assert record["ranking"]["iou"][:3] == [7, 6, 5]
    assert record["settings"]["iou_source"].endswith("dissect.json")
    assert record["fit"]["steps"] == 3


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--concept", "unicorn"], "unknown concept 'unicorn'"),
        (["--concept", "tree", "--layer", "layer9"], "unknown layer 'layer9'"),
        (["--concept", "tree", "--steps", "0"], "--steps must be a positive number; got 0"),
    ],
)
def test_cli_errors_name_the_problem(
    extra: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*TOY, *extra]) == 2
    assert message in capsys.readouterr().err


@pytest.mark.slow
def test_cli_on_the_shipped_scene_model(tmp_path: Path) -> None:
    argv = ["--concept", "tree", "--samples", "32", "--eval-samples", "16", "--steps", "10",
            "--top-n", "3", "--dissect-samples", "32", "--out", str(tmp_path),
            "--quiet"]  # fmt: skip
    assert main(argv) == 0
    record = json.loads((tmp_path / "ace" / "layer4" / "tree.json").read_text())
    assert record["num_units"] == 128 and len(record["curves"]["ablation"]["ace"]) == 3


@pytest.mark.slow  # a two-process spawn (about 20 s)
def test_two_processes_write_the_record_of_one(tmp_path: Path) -> None:
    argv = [*TOY, "--concept", "tree", "--samples", "48", "--eval-samples", "32", "--steps", "40",
            "--top-n", "4", "--dissect-samples", "96", "--quiet"]  # fmt: skip
    assert main([*argv, "--out", str(tmp_path / "one")]) == 0
    assert main([*argv, "--out", str(tmp_path / "two"), "--devices", "2"]) == 0
    one, two = (json.loads((tmp_path / side / "ace" / "layer1" / "tree.json").read_text())
                for side in ("one", "two"))  # fmt: skip
    for record in (one, two):
        del record["fit"]["seconds"]
    # the searches and curves are split and assembled exactly, the fit runs the same in both
    assert two == one
    assert set(one["ranking"]["ace"][:3]) == {3, 4, 5}  # and it is the planted answer
