"""Scene-world throughput: scenes rendered per second on one core, and through the data module.

Run: ``.venv/bin/python benchmarks/scene_throughput.py``. Single-core figures pin torch and BLAS
to one thread and report the best of several repeats (this machine is shared and noisy).
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import platform
import time

import torch

from ganlens.data.datamodules import SceneDataModule
from ganlens.data.scene_world import render_scene


def scenes_per_second(resolution: int, count: int, repeats: int = 5) -> float:
    render_scene(0, 0, resolution)  # warm the texture caches
    best = float("inf")
    for r in range(repeats):
        start = time.perf_counter()
        for i in range(count):
            render_scene(0, r * count + i, resolution)
        best = min(best, time.perf_counter() - start)
    return count / best


def loader_scenes_per_second(resolution: int, workers: int, batches: int = 20) -> float:
    dm = SceneDataModule(resolution=resolution, batch_size=64, train_size=64 * (batches + 2),
                         num_workers=workers)  # fmt: skip
    dm.setup("fit")
    loader = iter(dm.train_dataloader())
    next(loader)  # worker start-up is not throughput
    start = time.perf_counter()
    for _ in range(batches):
        next(loader)
    return batches * 64 / (time.perf_counter() - start)


def main() -> None:
    torch.set_num_threads(1)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"torch {torch.__version__}")  # fmt: skip
    print("\nrender_scene on one core (best of 5):")
    print("| resolution | scenes/s | ms/scene |")
    print("|---:|---:|---:|")
    for resolution, count in [(32, 400), (64, 400), (128, 150), (256, 50)]:
        rate = scenes_per_second(resolution, count)
        print(f"| {resolution} | {rate:.0f} | {1000 / rate:.2f} |")
    print("\nSceneDataModule train loader, 64 px, batches of 64:")
    print("| workers | scenes/s |")
    print("|---:|---:|")
    for workers in (0, 2):
        print(f"| {workers} | {loader_scenes_per_second(64, workers):.0f} |")


if __name__ == "__main__":
    main()
