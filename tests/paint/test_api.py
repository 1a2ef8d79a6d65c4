"""The painting API through FastAPI's test client: every endpoint, every class of bad payload."""

import json
import re

import numpy as np
import pytest

from ganlens.images import concept_colors
from ganlens.paint.edits import render
from ganlens.paint.images import to_uint8

from .conftest import bits_mask, decode_image, png_mask

BOX = np.zeros((64, 64), dtype=bool)
BOX[16:40, 8:32] = True


def stroke(**changes):
    base = {"layer": "layer6", "ranking": "tree-iou", "top_n": 10, "action": "draw",
            "mask": bits_mask(BOX)}  # fmt: skip
    return {**base, **changes}


def test_info_lists_layers_defaults_and_concepts(client, shipped):
    info = client.get("/api/info").json()
    assert info["source"] == "scene" and info["resolution"] == 64 and info["latent_size"] == 128
    assert [layer["name"] for layer in info["layers"]] == [f"layer{i}" for i in range(1, 11)]
    assert info["layers"][5] == {"name": "layer6", "num_units": 64, "grid": [16, 16]}
    assert info["layer"] == "layer6" and info["seeds"] == list(range(8))
    names = [c["name"] for c in info["concepts"]]
    assert names == list(shipped.segmenter.vocabulary.names)
    assert all(re.fullmatch(r"#[0-9a-f]{6}", c["color"]) for c in info["concepts"])
    # the package's one palette: a concept has the page's colour in every other picture too
    palette = ["#{:02x}{:02x}{:02x}".format(*rgb) for rgb in concept_colors(len(names))]
    assert [c["color"] for c in info["concepts"]] == palette


def test_rankings_are_permutations_sorted_by_iou(client, shipped):
    rankings = client.get("/api/layers/layer6/rankings").json()
    tree = next(r for r in rankings if r["name"] == "tree-iou")
    assert tree["concept"] == "tree" and tree["metric"] == "iou"
    for ranking in rankings:
        assert sorted(ranking["units"]) == list(range(64))
    response = client.get("/api/layers/layer11/rankings")
    assert response.status_code == 404
    assert response.json()["detail"][0]["loc"] == ["path", "layer"]


def test_generate_by_seed_and_sample_id_matches_direct_rendering(client, shipped):
    response = client.post("/api/generate", json={"seeds": [5, 6]})
    assert response.status_code == 200
    images = [decode_image(url) for url in response.json()["images"]]
    direct = to_uint8(render(shipped.generator, shipped.seed_latents([5, 6]))).numpy()
    assert images[0].shape == (64, 64, 3)
    np.testing.assert_array_equal(np.stack(images), direct)
    by_id = client.post("/api/generate", json={"samples": [3]}).json()["images"][0]
    expected = to_uint8(render(shipped.generator, shipped.sample_latents([3]))).numpy()[0]
    np.testing.assert_array_equal(decode_image(by_id), expected)


def test_segment_returns_overlays_and_pixel_counts(client, shipped):
    response = client.post("/api/segment", json={"seeds": [1], "strokes": [stroke()]})
    assert response.status_code == 200
    body = response.json()
    overlay = decode_image(body["images"][0])
    assert overlay.shape == (64, 64, 4)
    labelled = int((overlay[..., 3] > 0).sum())
    assert sum(c["pixels"] for c in body["concepts"]) == labelled > 0
    colours = {tuple(int(c["color"][i : i + 2], 16) for i in (1, 3, 5)) for c in body["concepts"]}
    assert {tuple(p) for p in overlay[overlay[..., 3] > 0][:, :3].tolist()} <= colours
    names = set(shipped.segmenter.vocabulary.names)
    assert {c["name"] for c in body["concepts"]} <= names


def test_page_and_static_files_reference_no_network(client):
    page = client.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    for path in ("/", "/static/paint.js", "/static/paint.css"):
        text = client.get(path).text
        assert text and not re.search(r"https?://|//cdn|@import", text), path
    assert client.get("/openapi.json").json()["info"]["title"] == "ganlens paint"


BAD = [
    ({"seeds": [1], "strokes": [stroke(layer="layer99")]}, ["body", "strokes", 0, "layer"]),
    ({"seeds": [1], "strokes": [stroke(ranking="unicorn-iou")]}, ["body", "strokes", 0, "ranking"]),
    (
        {"seeds": [1], "strokes": [stroke(ranking=None, units=[64])]},
        ["body", "strokes", 0, "units"],
    ),
    (
        {"seeds": [1], "strokes": [stroke(ranking=None, units=[-1])]},
        ["body", "strokes", 0, "units", 0],
    ),
    ({"seeds": [1], "strokes": [stroke(ranking=None, units=[])]}, ["body", "strokes", 0, "units"]),
    ({"seeds": [1], "strokes": [stroke(units=[1])]}, ["body", "strokes", 0]),
    ({"seeds": [1], "strokes": [stroke(top_n=65)]}, ["body", "strokes", 0, "top_n"]),
    ({"seeds": [1], "strokes": [stroke(top_n=0)]}, ["body", "strokes", 0, "top_n"]),
    ({"seeds": [1], "strokes": [stroke(action="paint")]}, ["body", "strokes", 0, "action"]),
    ({"seeds": [1], "strokes": [stroke(strength=1.5)]}, ["body", "strokes", 0, "strength"]),
    ({"seeds": [1], "strokes": [stroke(strength="high")]}, ["body", "strokes", 0, "strength"]),
    ({"seeds": [1], "strokes": [stroke(pool="median")]}, ["body", "strokes", 0, "pool"]),
    ({"seeds": [1], "strokes": [stroke(brush=3)]}, ["body", "strokes", 0, "brush"]),
    (
        {"seeds": [1], "strokes": [stroke(mask={"png": "%%%"})]},
        ["body", "strokes", 0, "mask", "png"],
    ),
    (
        {"seeds": [1], "strokes": [stroke(mask={"png": "aGVsbG8="})]},
        ["body", "strokes", 0, "mask", "png"],
    ),
    (
        {"seeds": [1], "strokes": [stroke(mask={"png": png_mask(np.zeros((8, 1100)))["png"]})]},
        ["body", "strokes", 0, "mask", "png"],
    ),
    (
        {"seeds": [1], "strokes": [stroke(mask={**bits_mask(BOX), "width": 31})]},
        ["body", "strokes", 0, "mask", "bits"],
    ),
    ({"seeds": [1], "strokes": [stroke(mask={"bits": "AA=="})]}, ["body", "strokes", 0, "mask"]),
    (
        {"seeds": [1], "strokes": [stroke(mask={**bits_mask(BOX), "width": 2048})]},
        ["body", "strokes", 0, "mask", "width"],
    ),
    (
        {"seeds": [1], "strokes": [stroke(mask={**bits_mask(BOX), **png_mask(BOX * 1.0)})]},
        ["body", "strokes", 0, "mask"],
    ),
    ({"seeds": [1], "strokes": [stroke(mask="everywhere")]}, ["body", "strokes", 0, "mask"]),
    ({"seeds": [1], "strokes": [stroke()] * 65}, ["body", "strokes"]),
    ({"seeds": list(range(17))}, ["body", "seeds"]),
    ({"seeds": ["1"]}, ["body", "seeds", 0]),
    ({"seeds": [True]}, ["body", "seeds", 0]),
    ({"seeds": [2**31]}, ["body", "seeds", 0]),
    ({"seeds": 3}, ["body", "seeds"]),
    ({"samples": [64]}, ["body", "samples", 0]),
    ({"seeds": [1], "samples": [1]}, ["body"]),
    ({}, ["body"]),
    ([1, 2], ["body"]),
]


@pytest.mark.parametrize("endpoint", ["/api/generate", "/api/segment"])
@pytest.mark.parametrize(("body", "loc"), BAD, ids=[str(i) for i in range(len(BAD))])
def test_bad_payload_gets_422_naming_the_field(client, endpoint, body, loc):
    response = client.post(endpoint, json=body)
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert detail and detail[0]["loc"][: len(loc)] == loc, detail
    assert all(d["msg"] for d in detail) and "Traceback" not in response.text


def test_malformed_json_oversized_body_and_wrong_routes(client):
    response = client.post("/api/generate", content=b'{"seeds": [1', headers={
        "content-type": "application/json"})  # fmt: skip
    assert response.status_code == 422 and response.json()["detail"][0]["loc"][0] == "body"
    response = client.post("/api/generate", content=b" " * (5 << 20))
    assert response.status_code == 413 and response.json()["detail"][0]["loc"] == ["body"]

    def chunks():  # no Content-Length: the limit is enforced while the body streams
        for _ in range(5):
            yield b" " * (1 << 20)

    assert client.post("/api/generate", content=chunks()).status_code == 413
    response = client.post("/api/generate", content=b"seeds=1", headers={
        "content-type": "application/x-www-form-urlencoded"})  # fmt: skip
    assert response.status_code == 422
    nan = json.dumps({"seeds": [1], "strokes": [stroke(strength=float("nan"))]}).encode()
    response = client.post(
        "/api/generate", content=nan, headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "strokes", 0, "strength"]
    response = client.post("/api/generate", content=b"[" * 100_000 + b"]" * 100_000,
                           headers={"content-type": "application/json"})  # fmt: skip
    assert response.status_code == 400 and response.json()["detail"][0]["loc"] == ["body"]
    response = client.get("/api/generate")
    assert response.status_code == 405 and response.json()["detail"][0]["loc"] == ["method"]
    response = client.get("/api/nothing")
    assert response.status_code == 404 and response.json()["detail"][0]["loc"] == ["path"]


def test_large_mask_within_limits_is_accepted(client):
    mask = np.zeros((1024, 1024))
    mask[100:300, 100:300] = 1.0
    body = {"seeds": [1], "strokes": [stroke(mask=png_mask(mask, "RGBA"), pool="mean")]}
    response = client.post("/api/generate", json=body)
    assert response.status_code == 200 and len(response.json()["images"]) == 1
