"""The painting model and server on a dissection folder: its rankings, ACE and samples."""

import json
import logging

import pytest
from fastapi.testclient import TestClient

from ganlens.paint.app import create_app
from ganlens.paint.loading import open_dissection
from ganlens.paint.model import load_paint_model


@pytest.fixture(scope="module")
def dissection_folder(tmp_path_factory, shipped):
    """A dissect.json of layer4 (IoU rankings from a quick dissection) with one ACE result."""
    folder = tmp_path_factory.mktemp("dissection")
    from dataclasses import replace

    from ganlens.dissect import dissect
    from ganlens.dissect.record import write_dissection
    from ganlens.sources import weights_fingerprint

    result = dissect(shipped.generator, "layer4", shipped.segmenter, shipped.quick[:16])
    result = replace(
        result, settings=replace(result.settings, num_probe=20),
        model={"source": "scene", "fingerprint": weights_fingerprint(shipped.generator)},
        extra_settings={"seed": 3, "segmenter": "scene"},
    )  # fmt: skip
    write_dissection(result, folder / "dissect.json")
    ace = {"layer": "layer4", "concept": "tree", "num_units": 128, "alpha": [],
           "ranking": {"ace": [5, 9, 2]}, "curves": {"n": [1]}}  # fmt: skip
    (folder / "ace" / "layer4").mkdir(parents=True)
    (folder / "ace" / "layer4" / "tree.json").write_text(json.dumps(ace))
    return folder


def test_dissection_folder_gives_its_layers_rankings_ace_and_samples(dissection_folder):
    model = load_paint_model(None, None, open_dissection(dissection_folder), quick_samples=8)
    client = TestClient(create_app(model))
    info = client.get("/api/info").json()
    assert [layer["name"] for layer in info["layers"]] == ["layer4"]
    assert info["layer"] == "layer4" and info["num_samples"] == 20
    rankings = {r["name"]: r for r in client.get("/api/layers/layer4/rankings").json()}
    assert rankings["tree-ace"]["metric"] == "ace" and rankings["tree-ace"]["units"][:3] == [
        5,
        9,
        2,
    ]
    assert "tree-iou" in rankings
    mask = {"bits": "/w==", "width": 2, "height": 4}
    body = {"samples": [19], "strokes": [{"layer": "layer4", "ranking": "tree-ace", "top_n": 3,
                                          "action": "remove", "mask": mask}]}  # fmt: skip
    assert client.post("/api/generate", json=body).status_code == 200
    response = client.post("/api/generate", json={**body, "samples": [20]})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "samples", 0]


def test_dissection_of_other_weights_warns(dissection_folder, caplog):
    document = open_dissection(dissection_folder)
    document["model"]["fingerprint"] = "0" * 64
    with caplog.at_level(logging.WARNING, logger="ganlens.paint.model"):
        model = load_paint_model(None, None, document, quick_samples=8)
    assert "other weights than the dissection recorded" in caplog.text
    assert list(model.layers) == ["layer4"]
