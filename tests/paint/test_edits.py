"""Server edits equal the same interventions done directly with ganlens.hooks; masks and pooling."""

import numpy as np
import pytest
import torch

from ganlens.hooks import Intervention, intervene
from ganlens.paint.masks import decode_bits, decode_png, pool_mask

from .conftest import bits_mask, decode_image, png_mask


def direct_uint8(images: torch.Tensor) -> np.ndarray:
    """Independent float -> 8-bit conversion of [N, 3, H, W] images in [-1, 1]."""
    pixels = np.rint((images.clamp(-1, 1).numpy() + 1.0) * 127.5).astype(np.uint8)
    return pixels.transpose(0, 2, 3, 1)


def test_server_strokes_equal_direct_hooks(client, shipped):
    ranking = next(r for r in client.get("/api/layers/layer6/rankings").json()
                   if r["name"] == "tree-iou")  # fmt: skip
    draw = np.zeros((32, 32), dtype=bool)
    draw[4:14, 2:12] = True
    soft = np.zeros((64, 64))
    soft[40:64, 20:60] = 128 / 255  # exactly representable in an 8-bit PNG
    strokes = [
        {"layer": "layer6", "ranking": "tree-iou", "top_n": 8, "action": "draw",
         "strength": 0.75, "mask": bits_mask(draw)},
        {"layer": "layer4", "units": [3, 7, 9], "action": "remove", "pool": "mean",
         "mask": png_mask(soft)},
    ]  # fmt: skip
    response = client.post("/api/generate", json={"seeds": [11, 12], "strokes": strokes})
    assert response.status_code == 200
    served = np.stack([decode_image(url) for url in response.json()["images"]])

    # The same edits by hand: 2x2 max pooling of the 32 px mask to layer6's 16 x 16 grid, 4x4
    # mean pooling of the 64 px mask to layer4's 8 x 8 grid, draw level = 99th percentile.
    units = ranking["units"][:8]
    grid6 = torch.from_numpy(draw).reshape(16, 2, 16, 2).amax(dim=(1, 3)).float()
    grid4 = torch.from_numpy(soft).float().reshape(8, 8, 8, 8).mean(dim=(1, 3))
    edits = [
        Intervention(
            "layer6", units=units, mask=0.75 * grid6, value=shipped.levels("layer6")[units]
        ),
        Intervention("layer4", units=[3, 7, 9], mask=grid4, value=0.0),
    ]
    with torch.no_grad(), intervene(shipped.generator, *edits):
        edited = shipped.generator(shipped.seed_latents([11, 12]))
    with torch.no_grad():
        original = shipped.generator(shipped.seed_latents([11, 12]))
    np.testing.assert_array_equal(served, direct_uint8(edited))
    assert (served != direct_uint8(original)).any()


def test_draw_levels_are_99th_percentiles(shipped):
    from ganlens.hooks import trace

    with torch.no_grad(), trace(shipped.generator, "layer6") as features:
        shipped.generator(shipped.quick)
    values = features["layer6"].transpose(0, 1).reshape(64, -1)
    exact = values.quantile(0.99, dim=1)
    torch.testing.assert_close(shipped.levels("layer6"), exact, rtol=0.02, atol=1e-3)


def test_mask_decoding_and_pooling():
    mask = np.zeros((5, 7), dtype=bool)
    mask[1, 2] = mask[4, 6] = True
    assert torch.equal(decode_bits(bits_mask(mask)["bits"], 7, 5), torch.from_numpy(mask))
    grey = decode_png(png_mask(mask * 1.0)["png"])
    alpha = decode_png(png_mask(mask * 1.0, "RGBA")["png"])
    assert torch.equal(grey, torch.from_numpy(mask).float()) and torch.equal(alpha, grey)
    big = torch.zeros(6, 6)
    big[0, 0] = 1.0
    assert pool_mask(big, (3, 3)).tolist()[0] == [1.0, 0.0, 0.0]
    assert pool_mask(big, (3, 3), "mean")[0, 0].item() == pytest.approx(0.25)
    assert pool_mask(torch.ones(2, 2), (4, 4)).eq(1).all()  # smaller than the grid: repeated
    with pytest.raises(ValueError, match="pool must be one of"):
        pool_mask(big, (3, 3), "median")


def test_strokes_compose_in_order(client):
    region = np.zeros((32, 32), dtype=bool)
    region[10:26, 6:22] = True
    draw = {"layer": "layer6", "units": [1, 4, 9], "action": "draw", "mask": bits_mask(region)}
    remove = {**draw, "action": "remove"}

    def image(strokes):
        response = client.post("/api/generate", json={"seeds": [21], "strokes": strokes})
        assert response.status_code == 200
        return decode_image(response.json()["images"][0])

    # Full-strength strokes on the same units and cells: the later one wins.
    np.testing.assert_array_equal(image([draw, remove]), image([remove]))
    np.testing.assert_array_equal(image([remove, draw]), image([draw]))
    assert (image([draw]) != image([remove])).any()
