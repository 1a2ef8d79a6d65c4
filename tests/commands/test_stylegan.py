"""StyleGAN files through every door a user takes, on small random-weight files.

``load_generator``, ``layers``, ``units``, ``ace`` and the painting server, on files written in
the originals' formats by the tests' own writers (``tests/stylegan_writers.py``).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from fastapi.testclient import TestClient

from ganlens.cli import main
from ganlens.dissect.record import read_document, validate_dissect_json
from ganlens.models import ProgressiveGenerator
from ganlens.models.stylegan2 import StyleGAN2Generator
from ganlens.models.stylegan2_rosinality import RosinalityGenerator
from ganlens.models.stylegan3 import StyleGAN3Generator
from ganlens.paint.app import create_app
from ganlens.paint.edits import render
from ganlens.paint.images import to_uint8
from ganlens.paint.model import load_paint_model
from ganlens.sources import load_generator
from stylegan_writers import randomized, write_nvlabs, write_rosinality

from ..paint.conftest import bits_mask, decode_image

SG2 = dict(channel_base=256, channel_max=16)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A 32 px StyleGAN2-ADA pickle, a 16 px StyleGAN3-T pickle and a rosinality checkpoint."""
    folder = tmp_path_factory.mktemp("stylegan")
    torch.manual_seed(1)
    sg2 = StyleGAN2Generator(z_dim=16, w_dim=16, mapping_layers=2, resolution=32, **SG2)
    write_nvlabs(folder / "sg2.pkl", randomized(sg2), SG2)
    sg3_settings = dict(channel_base=128, channel_max=8, num_layers=4, margin_size=2)
    sg3 = StyleGAN3Generator(z_dim=8, w_dim=8, resolution=16, **sg3_settings)
    # (random weights on top of the initial ones would draw far outside [-1, 1] here)
    write_nvlabs(folder / "sg3.pkl", sg3.eval(), sg3_settings)
    channels = {4: 8, 8: 8, 16: 8, 32: 8}
    rosinality = RosinalityGenerator(32, style_dim=8, n_mlp=2, channels=channels).eval()
    with torch.no_grad():  # images in about [-1, 1], as a trained generator's are
        for name, parameter in rosinality.named_parameters():
            if name.startswith("to_rgb") and name.endswith("weight"):
                parameter.mul_(0.05)
    write_rosinality(folder / "rosinality.pt", rosinality, "train")
    proggan = ProgressiveGenerator(resolution=16, latent_size=8, fmap_base=16, fmap_max=8)
    torch.save(proggan.state_dict(), folder / "proggan.pth")
    return {"sg2": folder / "sg2.pkl", "sg3": folder / "sg3.pkl",
            "rosinality": folder / "rosinality.pt", "proggan": folder / "proggan.pth"}  # fmt: skip


def test_load_generator_tells_the_files_apart_by_content(files):
    assert isinstance(load_generator(str(files["sg2"])), StyleGAN2Generator)
    assert isinstance(load_generator(str(files["sg3"])), StyleGAN3Generator)
    assert isinstance(load_generator(str(files["rosinality"])), RosinalityGenerator)
    assert isinstance(load_generator(str(files["proggan"])), ProgressiveGenerator)
    truncated = load_generator(str(files["sg2"]), truncation=0.0)  # every z gives w_avg's image
    images = truncated(torch.randn(3, truncated.latent_size))
    assert truncated.truncation == 0.0 and torch.allclose(images[0], images[2], atol=1e-6)
    with pytest.raises(ValueError, match=r"--truncation 0.7 applies to StyleGAN files only"):
        load_generator(str(files["proggan"]), truncation=0.7)


def test_layers_lists_the_featuremaps_with_shapes_and_margins(files, capsys):
    assert main(["layers", "--generator", str(files["sg2"])]) == 0
    lines = capsys.readouterr().out.splitlines()
    rows = {line.split()[0]: line.split(None, 1)[1] for line in lines}
    assert rows["synthesis.b16.conv1"] == "[16, 16, 16]" and "synthesis.b4.conv0" not in rows
    assert main(["layers", "--generator", str(files["sg3"])]) == 0
    rows = dict(line.split(None, 1) for line in capsys.readouterr().out.splitlines())
    assert rows["synthesis.input"].endswith("(margin 2 px per side, cropped)")


def test_units_dissects_a_stylegan2_pickle_and_truncation_is_part_of_the_cache_key(
    files, tmp_path, capfd
):
    out = tmp_path / "out"
    args = ["units", "--generator", str(files["sg2"]), "--layers", "synthesis.b16.conv1",
            "--samples", "24", "--images-per-unit", "2", "--out", str(out)]  # fmt: skip
    assert main(args) == 0
    document = read_document(out)
    validate_dissect_json(document)
    (layer,) = document["layers"]
    assert layer["layer"] == "synthesis.b16.conv1" and len(layer["units"]) == 16
    assert (out / "dissect.html").is_file()
    capfd.readouterr()
    assert main([*args, "--truncation", "0.7"]) == 0  # other images: nothing is reused
    assert "reused cached dissection" not in capfd.readouterr().err
    settings = json.loads((out / "dissect.json").read_text())["settings"]
    assert settings["command"]["truncation"] == 0.7


def test_a_stylegan3_layer_is_dissected_without_its_margin(files, tmp_path):
    out = tmp_path / "out"
    generator = load_generator(str(files["sg3"]))
    layer = generator.featuremap_layers[1]
    margin = generator.featuremap_margin(layer)
    assert margin > 0
    assert main(["units", "--generator", str(files["sg3"]), "--layers", layer, "--samples", "16",
                 "--images-per-unit", "1", "--quiet", "--out", str(out)]) == 0  # fmt: skip
    (record,) = read_document(out)["layers"]
    assert record["layer"] == layer and len(record["units"]) == 8


def test_ace_fits_a_stylegan2_layer(files, tmp_path, capfd):
    assert main(["ace", "--generator", str(files["sg2"]), "--layer", "synthesis.b8.conv1",
                 "--concept", "sky", "--samples", "32", "--eval-samples", "16", "--steps", "5",
                 "--top-n", "4", "--dissect-samples", "32", "--quiet",
                 "--out", str(tmp_path)]) == 0  # fmt: skip
    record = json.loads((tmp_path / "ace" / "synthesis.b8.conv1" / "sky.json").read_text())
    assert sorted(record["ranking"]["ace"]) == list(range(16))
    assert capfd.readouterr() == ("", "")  # --quiet: not a line, Lightning's included


def test_the_painting_server_paints_with_a_rosinality_generators_units(files):
    model = load_paint_model(str(files["rosinality"]), None, None, quick_samples=16)
    assert list(model.layers)[:3] == ["conv1", "convs.0", "convs.1"]
    client = TestClient(create_app(model, layer="convs.2"))
    info = client.get("/api/info").json()
    assert info["resolution"] == 32 and info["latent_size"] == 8 and info["layer"] == "convs.2"
    ranking = client.get("/api/layers/convs.2/rankings").json()[0]["name"]
    plain = client.post("/api/generate", json={"seeds": [0]}).json()["images"][0]
    expected = to_uint8(render(model.generator, model.seed_latents([0]))).numpy()[0]
    np.testing.assert_array_equal(decode_image(plain), expected)  # the same latent, same image
    box = np.zeros((32, 32), dtype=bool)
    box[:, :16] = True
    stroke = {"layer": "convs.2", "ranking": ranking, "top_n": 8, "action": "remove",
              "mask": bits_mask(box)}  # fmt: skip
    edited = client.post("/api/generate", json={"seeds": [0], "strokes": [stroke]})
    assert edited.status_code == 200, edited.text
    changed = decode_image(edited.json()["images"][0]).astype(int) != expected
    assert changed.any()  # removing every unit of the layer on the left half changes the image
