"""Comparing two planted checkpoints reports exactly the planted differences."""

from __future__ import annotations

import json
import logging

import pytest
import torch

from ganlens.applications.compare import compare_dissections, layer_units
from ganlens.commands.compare import CompareSettings, run_compare
from ganlens.dissect import dissect
from ganlens.dissect.planted import PlantedSceneGenerator, SceneLabelSegmenter

A, B = ["sky", "grass", "door"], ["sky", "water", "door"]


@pytest.fixture(scope="module")
def dissections():
    segmenter, z = SceneLabelSegmenter(range(48)), torch.arange(48.0)[:, None]

    def run(planted):
        generator = PlantedSceneGenerator(planted)
        return dissect(generator, "layer1", segmenter, z[:24], z[24:], threshold_mode="iqr")

    return run(A), run(B)


def test_planted_differences_exactly(dissections):
    a, b = dissections
    report = compare_dissections(a, b)
    [layer] = report["layers"]
    assert layer["concept_changes"] == [
        {"concept": "grass", "a": 1, "b": 0, "delta": -1},
        {"concept": "water", "a": 0, "b": 1, "delta": 1},
    ]
    lineage = layer["lineage"]
    assert [(u["unit"], u["a"], u["b"]) for u in lineage["changed"]] == [(1, "grass", "water")]
    assert lineage["kept"] == 2 and lineage["gained"] == [] and lineage["lost"] == []
    assert lineage["stability"] == pytest.approx(2 / 3)
    assert layer["a"]["interpretable"] == layer["b"]["interpretable"] == 3
    assert layer["a"]["categories"] == {"object": 2, "part": 1}


def test_same_checkpoint_has_no_differences(dissections):
    a, _ = dissections
    [layer] = compare_dissections(a, a.to_dict())["layers"]
    assert layer["concept_changes"] == [] and layer["lineage"]["changed"] == []
    assert layer["lineage"]["stability"] == 1.0


def test_other_unit_counts_have_no_lineage_and_missing_layers_are_named(dissections):
    a, _ = dissections
    from dataclasses import replace

    one = a["layer1"].units[0]
    assert (one.concept, one.interpretable) == ("sky", True)
    small = replace(a["layer1"], units=(one,), iou_table=a["layer1"].iou_table[:1])
    doc = a.with_layers({"layer1": small}).to_dict()  # layer1 with one unit, a sky unit
    [layer] = compare_dissections(a, doc)["layers"]
    assert layer["lineage"] is None
    assert [(c["concept"], c["delta"]) for c in layer["concept_changes"]] == [
        ("door", -1),
        ("grass", -1),
    ]
    with pytest.raises(ValueError, match="layers \\['layer4'\\] are not in both"):
        compare_dissections(a, doc, ["layer4"])
    with pytest.raises(ValueError, match="expected 'ganlens-dissect/1'"):
        layer_units({"layers": [{"layer": "x", "units": [{"unit": 0}]}]})


def test_compare_command_on_planted_checkpoints(tmp_path, caplog):
    settings = CompareSettings(
        a="factories:checkpoint_a",
        b="factories:checkpoint_b",
        segmenter="factories:segmenter",
        layers=["layer1"],
        samples=64,
        out=str(tmp_path),
        quiet=True,
    )
    with caplog.at_level(logging.INFO, logger="ganlens"):
        assert run_compare(settings) == 0
    document = json.loads((tmp_path / "compare.json").read_text())
    assert document["format"] == "ganlens-compare/1"
    [layer] = document["layers"]
    assert [(c["concept"], c["delta"]) for c in layer["concept_changes"]] == [
        ("grass", -1),
        ("water", 1),
    ]
    assert [(u["unit"], u["a"], u["b"]) for u in layer["lineage"]["changed"]] == [
        (1, "grass", "water")
    ]
    assert document["images"] == {
        "units": "compare_units.svg",
        "lineage": {"layer1": "compare_lineage_layer1.png"},
    }
    for name in ("compare_units.svg", "compare_lineage_layer1.png", "a_dissection.json"):
        assert (tmp_path / name).is_file()
    assert "grass -1, water +1" in caplog.text
    # the saved dissections are valid sides of a later comparison
    again = CompareSettings(
        a=str(tmp_path / "a_dissection.json"),
        b=str(tmp_path / "b_dissection.json"),
        layers=["layer1"],
        out=str(tmp_path / "again"),
        quiet=True,
    )
    assert run_compare(again) == 0
    redone = json.loads((tmp_path / "again" / "compare.json").read_text())
    assert redone["layers"] == document["layers"]


@pytest.mark.slow  # two spawned processes (about 15 s)
def test_compare_on_two_processes_equals_one(tmp_path):
    common = {"a": "factories:checkpoint_a", "b": "factories:checkpoint_b",
              "segmenter": "factories:segmenter", "layers": ["layer1"], "samples": 64,
              "quiet": True}  # fmt: skip
    assert run_compare(CompareSettings(**common, out=str(tmp_path / "one"))) == 0
    assert run_compare(CompareSettings(**common, out=str(tmp_path / "two"), devices=2)) == 0
    one, two = (json.loads((tmp_path / n / "compare.json").read_text()) for n in ("one", "two"))
    assert two["layers"] == one["layers"] and two["layers"][0]["lineage"]["changed"]
    for name in ("a_dissection.json", "b_dissection.json"):
        assert (tmp_path / "two" / name).read_text() == (tmp_path / "one" / name).read_text()
