"""The artifacts and context commands end to end on planted toys: JSON shape and pictures."""

from __future__ import annotations

import json
import logging
import xml.etree.ElementTree as ET

import pytest

from ganlens.commands.artifacts import ArtifactsSettings, run_artifacts
from ganlens.commands.context import ContextSettings, run_context

ARTIFACT_TOY = "ganlens.applications.planted:PlantedArtifactGenerator"


@pytest.mark.slow  # about 15 s on a quiet 2-core CPU (SWD per unit, the repair curve's FSD)
def test_artifacts_command_on_the_planted_toy(tmp_path, caplog):
    settings = ArtifactsSettings(
        generator=ARTIFACT_TOY,
        layer="layer1",
        samples=24,
        top_k=6,
        real=24,
        quality="swd",
        repair_quality=["fsd"],
        repair_units=2,
        control=True,
        show_units=2,
        out=str(tmp_path),
        quiet=True,
    )
    with caplog.at_level(logging.INFO, logger="ganlens"):
        assert run_artifacts(settings) == 0
    document = json.loads((tmp_path / "artifacts.json").read_text())
    assert document["format"] == "ganlens-artifacts/1"
    assert document["real"]["framing"] == "default"  # "auto": a factory trained on no framing
    assert document["scores"]["units"][0]["unit"] == 2  # the planted artifact unit
    assert document["summary"]["worst_units"][0] == 2
    repair = document["repair"]
    assert repair["n"] == [0, 1, 2] and repair["units"][0] == 2
    assert repair["values"]["fsd"][1] < repair["values"]["fsd"][0]
    assert document["summary"]["change"]["fsd"] < 0
    assert len(repair["control"]["fsd"]) == 3 and "fsd" in repair["floor"]
    for name in document["images"].values():
        assert (tmp_path / name).is_file()
    assert "layer1: worst units [2," in caplog.text


def test_context_command_on_the_planted_toy(tmp_path):
    settings = ContextSettings(
        generator="ganlens.applications.planted:PlantedContextGenerator",
        segmenter="ganlens.applications.planted:LabelImageSegmenter",
        layer="layer1",
        concept="door",
        top_n=1,
        samples=4,
        k_samples=32,
        dissect_samples=32,
        radius=0,
        spacing=2,
        show_images=2,
        out=str(tmp_path),
        quiet=True,
    )
    assert run_context(settings) == 0
    document = json.loads((tmp_path / "context.json").read_text())
    assert document["format"] == "ganlens-context/1"
    assert document["ranking"] == {"source": "quick-iou", "units": [0], "k": [1.0]}
    rows = {r["context"]: r for r in document["table"]}
    assert rows["wall"]["success_rate"] > 0.9
    assert rows["sky"]["success_rate"] < 0.05
    assert document["cells_tried"] == 4 * 16
    assert sorted(document["images"]) == ["grid", "rates"]
    chart = ET.parse(tmp_path / document["images"]["rates"]).getroot()  # an SVG document
    assert chart.tag == "{http://www.w3.org/2000/svg}svg"
    assert {"wall", "sky", "success rate"} <= {
        t.text for t in chart.iter() if t.tag.endswith("text")
    }


def test_context_ranking_from_a_dissection_folder(tmp_path):
    from ganlens.applications.context import rank_units

    (tmp_path / "ace" / "layer4").mkdir(parents=True)
    fit = {
        "layer": "layer4",
        "concept": "door",
        "num_units": 3,
        "ranking": {"ace": [2, 0]},
        "curves": {"n": [1]},
    }  # as `ganlens ace` writes it (the keys the record reads)
    (tmp_path / "ace" / "layer4" / "door.json").write_text(json.dumps(fit))
    import torch

    from ganlens.dissect.record import write_dissection
    from ganlens.dissect.result import (
        DissectionResult,
        DissectionSettings,
        LayerDissection,
        LayerSummary,
    )

    table = torch.tensor([[0.0, 0.1, 0.0], [0.0, 0.3, 0.0], [0.0, 0.0, 0.0]])  # units x concepts
    layer = LayerDissection("layer4", (), LayerSummary(3, 0, 0, {}, {}), table)
    settings = DissectionSettings("quantile", 0.01, "unrestricted", 8, 4, 4, 0.05, None, 1)
    names, categories = ("-", "door", "tree"), ("none", "part", "object")
    write_dissection(DissectionResult({"layer4": layer}, settings, names, categories),
                     tmp_path / "dissect.json")  # fmt: skip
    assert rank_units(str(tmp_path), "layer4", "door", "auto") == ([2, 0], "ace")
    assert rank_units(str(tmp_path), "layer4", "door", "iou") == ([1, 0, 2], "iou")
    with pytest.raises(ValueError, match="no IoU ranking for 'tree'"):
        rank_units(str(tmp_path), "layer4", "tree", "iou")
    with pytest.raises(ValueError, match="ranking 'ace' needs"):
        rank_units(str(tmp_path), "layer4", "tree", "ace")
    with pytest.raises(ValueError, match="ranking 'ace' needs a dissection folder"):
        rank_units(None, "layer4", "door", "ace")


@pytest.mark.slow  # two spawned processes (about 15 s)
def test_context_on_two_processes_equals_one(tmp_path):
    common = {"generator": "ganlens.applications.planted:PlantedContextGenerator",
              "segmenter": "ganlens.applications.planted:LabelImageSegmenter", "layer": "layer1",
              "concept": "door", "top_n": 1, "samples": 4, "k_samples": 32,
              "dissect_samples": 32, "radius": 0, "spacing": 2, "show_images": 2,
              "quiet": True}  # fmt: skip
    assert run_context(ContextSettings(**common, out=str(tmp_path / "one"))) == 0
    assert run_context(ContextSettings(**common, out=str(tmp_path / "two"), devices=2)) == 0
    one, two = (json.loads((tmp_path / n / "context.json").read_text()) for n in ("one", "two"))
    assert two["ranking"] == one["ranking"] and two["cells_tried"] == one["cells_tried"]
    for a, b in zip(two["table"], one["table"], strict=True):
        assert {k: v for k, v in a.items() if k != "mean_added"} == {
            k: v for k, v in b.items() if k != "mean_added"
        }
        assert a["mean_added"] == pytest.approx(b["mean_added"], abs=1e-9)  # summation order
    assert (tmp_path / "two" / "context_grid.png").is_file()


@pytest.mark.slow  # two spawned processes (about 20 s)
def test_artifacts_on_two_processes_equal_one(tmp_path):
    common = {"generator": ARTIFACT_TOY, "layer": "layer1", "samples": 24, "top_k": 6,
              "real": 24, "quality": "swd", "repair_quality": ["fsd", "swd"], "repair_units": 2,
              "control": True, "show_units": 2, "quiet": True}  # fmt: skip
    assert run_artifacts(ArtifactsSettings(**common, out=str(tmp_path / "one"))) == 0
    assert run_artifacts(ArtifactsSettings(**common, out=str(tmp_path / "two"), devices=2)) == 0
    one, two = (json.loads((tmp_path / n / "artifacts.json").read_text()) for n in ("one", "two"))
    assert [u["unit"] for u in two["scores"]["units"]] == [
        u["unit"] for u in one["scores"]["units"]
    ]
    assert [u["top_samples"] for u in two["scores"]["units"]] == [
        u["top_samples"] for u in one["scores"]["units"]
    ]
    for a, b in zip(two["scores"]["units"], one["scores"]["units"], strict=True):
        assert a["score"] == pytest.approx(b["score"], rel=1e-6)
    for kind in ("values", "control"):
        for name, values in one["repair"][kind].items():
            assert two["repair"][kind][name] == pytest.approx(values, rel=1e-6)
    assert two["repair"]["units"] == one["repair"]["units"]
