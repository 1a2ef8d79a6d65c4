"""Painting "tree" through the server moves the segmenter's tree pixels the right way.

Fixed seed set 1000..1031 of the shipped 64 px scene model, layer6, top 10 units of the quick
dissection's tree-iou ranking, a 32 x 48 px region in the lower middle (where the building and
the ground are). Measured on this setup (2026-12-02, CPU): tree pixels in the region 6.7 %
before, 3.1 % after "remove", 43.6 % after "draw" (``benchmarks/paint_effect.py`` measures the
same for door and layer4).
"""

import numpy as np
import torch

from .conftest import bits_mask, decode_image

SEEDS = list(range(1000, 1032))
REGION = np.zeros((64, 64), dtype=bool)
REGION[24:56, 8:56] = True


def tree_fraction(client, shipped, strokes) -> float:
    images = []
    for start in range(0, len(SEEDS), 16):
        body = {"seeds": SEEDS[start : start + 16], "strokes": strokes}
        response = client.post("/api/generate", json=body)
        assert response.status_code == 200, response.text
        images += [decode_image(url) for url in response.json()["images"]]
    pixels = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float() / 127.5 - 1.0
    labels = shipped.segmenter.segment(pixels, 64)[:, 0]
    tree = shipped.segmenter.vocabulary.names.index("tree")
    return float((labels == tree)[:, torch.from_numpy(REGION)].float().mean())


def test_remove_tree_lowers_and_draw_tree_raises_tree_pixels(client, shipped):
    stroke = {"layer": "layer6", "ranking": "tree-iou", "top_n": 10, "mask": bits_mask(REGION)}
    before = tree_fraction(client, shipped, [])
    removed = tree_fraction(client, shipped, [{**stroke, "action": "remove"}])
    drawn = tree_fraction(client, shipped, [{**stroke, "action": "draw"}])
    print(f"tree pixels in the region: before {before:.3f}, remove {removed:.3f}, draw {drawn:.3f}")
    assert before > 0.02  # the region holds trees to remove
    assert removed < before - 0.01
    assert drawn > before + 0.05
