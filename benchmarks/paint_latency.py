"""Latency of painting on the shipped scene model (64 px), on this machine's CPU.

Prints, side by side in one process (the machine is shared and noisy):

* startup: importing the server (after torch), loading the models, the quick dissection that
  ranks the default layer's units (``--quick-samples`` images) and their draw levels;
* one stroke as the page sends it (a 256 x 256 PNG mask, all earlier strokes resent): the whole
  ``POST /api/generate`` through FastAPI's test client (JSON, PNG decode, pooling, hooks, one
  generator forward, PNG encode), against the bare generator forward of one image;
* the segmentation overlay (``POST /api/segment``).

Usage: ``python benchmarks/paint_latency.py [--repeats 30] [--threads 1]``.
"""

from __future__ import annotations

import base64
import io
import statistics
import time

import numpy as np
import torch
from fastapi.testclient import TestClient
from jsonargparse import auto_cli
from PIL import Image


def _png(mask: np.ndarray) -> str:
    rgba = np.zeros((*mask.shape, 4), dtype=np.uint8)
    rgba[..., 3] = mask.astype(np.uint8) * 255
    buffer = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def _timed(functions: list, repeats: int) -> list[tuple[float, float]]:
    """(median, best) milliseconds of each function, run in turn within every repeat."""
    times: list[list[float]] = [[] for _ in functions]
    for _ in range(repeats):
        for function, spent in zip(functions, times, strict=True):
            start = time.perf_counter()
            function()
            spent.append((time.perf_counter() - start) * 1000.0)
    return [(statistics.median(spent), min(spent)) for spent in times]


def main(repeats: int = 30, threads: int = 1, quick_samples: int = 64, strokes: int = 1) -> None:
    """Measure and print the figures.

    Args:
        repeats: Timed runs per figure (median and best are printed).
        threads: torch intra-op threads.
        quick_samples: Images of the startup dissection (the server's default is 64).
        strokes: Strokes per request (the page resends every stroke of the image's history).
    """
    torch.set_num_threads(threads)
    begin = time.perf_counter()
    from ganlens.paint.app import create_app  # torchmetrics, torchvision, FastAPI
    from ganlens.paint.model import load_paint_model

    start = time.perf_counter()
    model = load_paint_model(None, None, None, quick_samples=quick_samples)
    loaded = time.perf_counter()
    layer = model.default_layer()
    model.rankings(layer)
    ranked = time.perf_counter()
    model.levels(layer)
    levelled = time.perf_counter()
    print(f"torch {torch.__version__}, {threads} thread(s), layer {layer}, {repeats} repeats")
    print(f"startup: imports after torch {start - begin:.2f} s, load {loaded - start:.2f} s, "
          f"rank units ({quick_samples} images) {ranked - loaded:.2f} s, "
          f"draw levels {levelled - ranked:.2f} s")  # fmt: skip

    client = TestClient(create_app(model))
    mask = np.zeros((256, 256), dtype=bool)
    rows, cols = np.ogrid[:256, :256]
    mask[(rows - 140) ** 2 + (cols - 90) ** 2 < 30**2] = True  # a 60 px dab
    stroke = {"layer": layer, "ranking": "tree-iou", "top_n": 10, "action": "draw",
              "mask": {"png": _png(mask)}}  # fmt: skip
    body = {"seeds": [7], "strokes": [stroke] * strokes}
    assert client.post("/api/generate", json=body).status_code == 200  # warm-up
    z = model.seed_latents([7])

    def forward() -> None:
        with torch.no_grad():
            model.generator(z)

    def request(path: str) -> None:
        response = client.post(path, json=body)
        assert response.status_code == 200, response.text

    (bare, bare_best), (stroke_ms, stroke_best), (segment_ms, segment_best) = _timed(
        [forward, lambda: request("/api/generate"), lambda: request("/api/segment")], repeats
    )
    print("| what | median ms | best ms | / bare forward |")
    print("|---|---:|---:|---:|")
    for name, median, best in (
        ("bare generator forward, 1 image", bare, bare_best),
        (f"POST /api/generate, {strokes} stroke(s)", stroke_ms, stroke_best),
        (f"POST /api/segment, {strokes} stroke(s)", segment_ms, segment_best),
    ):
        print(f"| {name} | {median:.1f} | {best:.1f} | {median / bare:.1f}x |")


if __name__ == "__main__":
    auto_cli(main)
