"""dissect.json, the one record format: schema, round trips, rankings, ACE folding, the cache."""

import copy
import json
import re

import jsonschema
import pytest
import torch

from ganlens.dissect.cache import LayerCache
from ganlens.dissect.planted import PlantedSceneGenerator, SceneLabelSegmenter
from ganlens.dissect.record import (
    FORMAT,
    SCHEMA_PATH,
    fold_ace,
    load_schema,
    read_dissection,
    read_document,
    validate_dissect_json,
    write_dissection,
)
from ganlens.dissect.result import DissectionResult
from ganlens.dissect.stages import DissectionOptions, run_units

read_dissect_json = read_document


def fold_document(document, directory):
    return fold_ace(DissectionResult.from_dict(document), directory).to_dict()


PLANTED = ("sky", "cloud", "mountain", "water", "grass", "road", "roof", "door", "dome", "trunk")


@pytest.fixture(scope="module")
def dissected(tmp_path_factory):
    out = tmp_path_factory.mktemp("dissect")
    generator = PlantedSceneGenerator(PLANTED, resolution=32, feature_size=8, num_noise=3)
    probe = torch.stack([torch.arange(40.0), torch.zeros(40)], dim=1)
    segmenter = SceneLabelSegmenter(range(80), resolution=32)
    result = run_units(
        generator, ["layer1"], segmenter, out, probe=probe,
        held_out=probe + torch.tensor([40.0, 0.0]), options=DissectionOptions(images_per_unit=2),
        model={"source": "planted"}, progress=False,
    )  # fmt: skip
    write_dissection(result, out / "dissect.json")
    return out, result.to_dict(), result


def ace_record(layer="layer1", concept="door", num_units=14):
    return {
        "layer": layer, "concept": concept, "num_units": num_units,
        "alpha": [0.0] * 7 + [0.9] + [0.0] * 6,
        "ranking": {"ace": [7, 6, 0], "iou": [7, 0, 6]},
        "curves": {"n": [1, 2, 3], "ablation": {"ace": [0.5, 0.6, 0.62], "iou": [0.5, 0.52, 0.55]},
                   "insertion": {"ace": [0.2, 0.3, 0.31], "iou": [0.2, 0.21, 0.25]}},
        "settings": {}, "fit": {"steps": 10},
    }  # fmt: skip


def test_the_schema_is_a_valid_draft_2020_12_schema_shipped_in_the_package():
    assert SCHEMA_PATH.is_file() and SCHEMA_PATH.parent.name == "dissect"
    jsonschema.Draft202012Validator.check_schema(load_schema())


def test_a_written_document_validates_and_matches_the_dissection(dissected):
    out, document, _ = dissected
    on_disk = read_dissect_json(out)
    assert on_disk == json.loads(json.dumps(document))
    validate_dissect_json(on_disk)
    assert on_disk["format"] == FORMAT and len(on_disk["model"]["fingerprint"]) == 64
    layer = on_disk["layers"][0]
    names = [unit["concept"] for unit in layer["units"][: len(PLANTED)]]
    assert names == list(PLANTED)
    summary = layer["summary"]
    interpretable = [u for u in layer["units"] if u["interpretable"]]
    assert summary["num_interpretable"] == len(interpretable)
    assert sum(e["count"] for e in summary["class_distribution"]) == len(interpretable)
    assert sum(summary["category_counts"].values()) == len(interpretable)
    for unit in layer["units"]:
        assert unit["image"] is None or (out / unit["image"]).is_file()


def test_iou_rankings_are_lower_is_better_and_pick_the_planted_unit(dissected):
    _, document, _ = dissected
    layer = document["layers"][0]
    rankings = {r["concept"]: r for r in layer["rankings"] if r["metric"] == "iou"}
    for unit, concept in enumerate(PLANTED):
        score = rankings[concept]["score"]
        assert len(score) == layer["num_units"]
        assert min(range(len(score)), key=score.__getitem__) == unit  # lowest score = best unit
        assert score[unit] == pytest.approx(-layer["units"][unit]["iou"], abs=1e-6)


@pytest.mark.parametrize(
    "break_it, where",
    [
        (lambda d: d.pop("vocabulary"), "(root): 'vocabulary' is a required"),
        (lambda d: d["layers"][0]["units"][0].update(iou=1.5), "layers/0/units/0/iou"),
        (lambda d: d["settings"].update(threshold_mode="median"), "settings/threshold_mode"),
        (lambda d: d["layers"][0]["rankings"][0].update(metric="auc"), "layers/0/rankings/0"),
        (lambda d: d["model"].update(fingerprint="abc"), "model/fingerprint"),
    ],
)
def test_broken_documents_fail_validation_naming_the_place(dissected, break_it, where):
    document = copy.deepcopy(dissected[1])
    break_it(document)
    with pytest.raises(ValueError, match="invalid at " + re.escape(where)):
        validate_dissect_json(document)


def test_cross_field_rules_catch_short_rankings_and_missing_units(dissected):
    document = copy.deepcopy(dissected[1])
    document["layers"][0]["rankings"][0]["score"].pop()
    with pytest.raises(ValueError, match="expected one per unit"):
        validate_dissect_json(document)
    document = copy.deepcopy(dissected[1])
    del document["layers"][0]["units"][3]
    with pytest.raises(ValueError, match=r"units must be 0\.\.13 in order"):
        validate_dissect_json(document)


def test_ace_results_fold_in_as_rank_position_rankings_idempotently(dissected, tmp_path):
    document = copy.deepcopy(dissected[1])
    (tmp_path / "ace" / "layer1").mkdir(parents=True)
    (tmp_path / "ace" / "layer1" / "door.json").write_text(json.dumps(ace_record()))
    (tmp_path / "ace" / "layer1" / "door.svg").write_text("<svg/>")
    (tmp_path / "ace" / "layer9").mkdir()
    (tmp_path / "ace" / "layer9" / "sky.json").write_text(json.dumps(ace_record("layer9", "sky")))
    folded = fold_document(document, tmp_path)
    validate_dissect_json(folded)
    layer = folded["layers"][0]
    ace = [r for r in layer["rankings"] if r["metric"] == "ace"]
    assert [r["name"] for r in ace] == ["door-ace"]
    score = ace[0]["score"]
    assert score[7] == 0 and score[6] == 1 and score[0] == 2 and score[1] == 14
    assert sorted(range(14), key=score.__getitem__)[:3] == [7, 6, 0]
    assert layer["ace"][0]["file"] == "ace/layer1/door.json"
    assert layer["ace"][0]["image"] == "ace/layer1/door.svg"
    assert fold_document(copy.deepcopy(folded), tmp_path) == folded


def test_a_malformed_ace_file_is_an_error_naming_it(dissected, tmp_path):
    (tmp_path / "ace" / "layer1").mkdir(parents=True)
    broken = ace_record()
    del broken["curves"]
    (tmp_path / "ace" / "layer1" / "door.json").write_text(json.dumps(broken))
    with pytest.raises(ValueError, match=r"door\.json lacks keys \['curves'\]"):
        fold_document(copy.deepcopy(dissected[1]), tmp_path)


def test_reading_something_else_is_a_clear_error(tmp_path):
    (tmp_path / "dissect.json").write_text(json.dumps({"format": "netdissect"}))
    with pytest.raises(ValueError, match="expected 'ganlens-dissect/1'"):
        read_dissect_json(tmp_path)


def test_the_document_reads_back_as_the_same_dissection(dissected, tmp_path):
    out, document, result = dissected
    again = read_dissection(out)
    assert again.to_dict() == document
    layer, read = result["layer1"], again["layer1"]
    assert read.units == layer.units or [u.iou for u in read.units] == pytest.approx(
        [u.iou for u in layer.units], abs=1e-6
    )
    torch.testing.assert_close(read.iou_table, layer.iou_table, atol=1e-6, rtol=0)
    assert again.settings == result.settings and again.concept_names == result.concept_names


def test_the_layer_cache_stores_the_same_format(dissected, tmp_path):
    _, document, result = dissected
    cache = LayerCache(tmp_path)
    cache.save("layer1", "key", result)
    stored = json.loads(cache.path("layer1", "key").read_text())["dissection"]
    assert stored["layers"] == document["layers"] and stored["vocabulary"] == document["vocabulary"]
    validate_dissect_json(stored)
    assert cache.load("layer1", "key").to_dict() == document
    assert cache.load("layer1", "other") is None
