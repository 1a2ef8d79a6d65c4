"""run_paint's settings checks, the loopback warning, and serving a dissection folder."""

import json
import logging
import subprocess
import sys

import pytest
from fastapi.testclient import TestClient

from ganlens.paint import command
from ganlens.paint.app import create_app
from ganlens.paint.command import check_settings, is_loopback, run_paint
from ganlens.paint.loading import open_dissection
from ganlens.paint.model import load_paint_model
from ganlens.paint.settings import PaintSettings


def test_settings_module_imports_only_the_standard_library():
    code = (
        "import sys, ganlens.paint.settings as s; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'fastapi', 'numpy'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    assert "open_browser:" in PaintSettings.__doc__ and "quick_samples:" in PaintSettings.__doc__


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"port": 0}, "port must lie in 1..65535; got 0"),
        ({"port": 70000}, "port must lie in 1..65535; got 70000"),
        ({"samples": 65}, "samples must lie in 1..64; got 65"),
        ({"quick_samples": 4}, "quick_samples must lie in 8..4096; got 4"),
        ({"top_n": 0}, "top_n must lie in 1..4096; got 0"),
        ({"seed": -1}, "seed must lie in"),
        ({"host": " "}, "host must be an address"),
        ({"dissection": "/nonexistent"}, "dissection '/nonexistent' is neither"),
        ({"layer": ""}, "layer must be a layer name"),
        ({"device": "tpu:x"}, "device 'tpu:x' is not a torch device"),
    ],
)
def test_bad_settings_raise_before_anything_runs(monkeypatch, changes, message):
    monkeypatch.setattr("uvicorn.run", lambda *a, **k: pytest.fail("served despite bad settings"))
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(".", r"\.")):
        run_paint(PaintSettings(open_browser=False, **changes))


def test_loopback_hosts():
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.2")
    assert not is_loopback("example.org")


def test_run_paint_serves_with_uvicorn_and_warns_off_loopback(monkeypatch, caplog):
    served = {}
    monkeypatch.setattr("uvicorn.run", lambda app, **kwargs: served.update(kwargs, app=app))
    settings = PaintSettings(host="0.0.0.0", port=9123, layer="layer4", quick_samples=16,
                             open_browser=False)  # fmt: skip
    with caplog.at_level(logging.WARNING, logger=command.__name__):
        assert run_paint(settings) == 0
    assert served["host"] == "0.0.0.0" and served["port"] == 9123
    assert "not loopback" in caplog.text
    client = TestClient(served["app"])
    assert client.get("/api/info").json()["layer"] == "layer4"
    check_settings(PaintSettings())  # the defaults are valid


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


def test_paint_is_a_subcommand_of_the_one_command_line(capsys):
    from ganlens.cli import main

    try:
        main(["paint", "--help"])
    except SystemExit as exit_info:
        assert exit_info.code == 0
    out = capsys.readouterr().out
    for flag in ("--generator", "--dissection", "--layer", "--host", "--port", "--open-browser"):
        assert flag in out
    assert main(["paint", "--port", "0", "--no-open-browser"]) == 2
    assert (
        capsys.readouterr().err.strip() == "ganlens paint: error: port must lie in 1..65535; got 0"
    )
