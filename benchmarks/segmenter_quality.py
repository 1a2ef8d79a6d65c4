"""Scene-segmenter quality: per-concept IoU, mean IoU and pixel accuracy, clean and corrupted.

Run: ``.venv/bin/python benchmarks/segmenter_quality.py`` (defaults: the shipped weights, 1,000
held-out scenes of world seed 12345 -- training used seed 0 -- at 64 and 128 px, one CPU thread).
Each corruption is applied alone at a fixed strength (see ``CORRUPTIONS``) with a fixed seed;
IoU is accumulated over all pixels of all scenes, per concept in its own label layer; pixel accuracy
counts every (pixel, layer) label.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch import Tensor

from ganlens.data.scene_world import SCENE_VOCABULARY, SceneWorld
from ganlens.segment import augment
from ganlens.segment.evaluation import LabelAgreement
from ganlens.segment.scene_segmenter import load_scene_segmenter

Corruption = Callable[[Tensor, torch.Generator], Tensor]

CORRUPTIONS: dict[str, Corruption] = {
    "clean": lambda x, g: x,
    "blur σ=1px": lambda x, g: augment.gaussian_blur(x, 1.0),
    "noise σ=0.1": lambda x, g: augment.add_noise(x, 0.1, generator=g),
    "colour shift": lambda x, g: augment.shift_colour(
        x, brightness=0.1, contrast=0.8, saturation=0.7, gain=torch.tensor([1.1, 1.0, 0.9])
    ),
    "JPEG q=30": lambda x, g: augment.jpeg_compress(x, 30),
    "resample ½": lambda x, g: augment.resample(x, 0.5),
}


def evaluate(
    resolution: int,
    scenes: int,
    seed: int,
    batch_size: int,
    weights: Path | None,
    framing: str = "default",
) -> dict[str, dict]:
    """Scores of every corruption at one resolution."""
    segmenter = load_scene_segmenter(weights=weights)
    world = SceneWorld(resolution=resolution, seed=seed, framing=framing)
    agreement = {name: LabelAgreement(len(SCENE_VOCABULARY), 3) for name in CORRUPTIONS}
    generator = torch.Generator().manual_seed(0)
    for start in range(0, scenes, batch_size):
        images, labels = world.batch(range(start, min(scenes, start + batch_size)))
        for name, corrupt in CORRUPTIONS.items():
            predicted = segmenter.segment(corrupt(images, generator))  # [B, 3, R, R]
            agreement[name].update(predicted, labels)
    return {name: metric.compute() for name, metric in agreement.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenes", type=int, default=1000, help="held-out scenes (default 1000)")
    parser.add_argument("--seed", type=int, default=12345, help="world seed (default 12345)")
    parser.add_argument("--resolutions", type=int, nargs="+", default=[64, 128])
    parser.add_argument("--batch-size", type=int, default=50)
    parser.add_argument("--weights", type=Path, default=None, help="default: the shipped weights")
    parser.add_argument("--framing", default="default", help="scene framing: default or church")
    args = parser.parse_args()
    torch.set_num_threads(1)
    names = list(CORRUPTIONS)
    concepts = SCENE_VOCABULARY.names[1:]
    for resolution in args.resolutions:
        start = time.perf_counter()
        scores = evaluate(
            resolution, args.scenes, args.seed, args.batch_size, args.weights, args.framing
        )
        seconds = time.perf_counter() - start
        print(
            f"\n### {resolution} px, {args.framing} framing: {args.scenes} scenes of world "
            f"{args.seed} ({seconds:.0f} s)\n"
        )
        print(
            "| corruption | mean IoU | pixel accuracy | object acc. | part acc. | material acc. |"
        )
        print("|---|---:|---:|---:|---:|---:|")
        for name in names:
            s = scores[name]
            layers = " | ".join(f"{a:.4f}" for a in s["layer_accuracy"].tolist())
            print(f"| {name} | {s['mean_iou']:.4f} | {s['pixel_accuracy']:.4f} | {layers} |")
        print(f"\nPer-concept IoU at {resolution} px:\n")
        print("| concept | category | " + " | ".join(names) + " |")
        print("|---|---|" + "---:|" * len(names))
        for index, concept in enumerate(concepts, start=1):
            row = " | ".join(f"{scores[n]['iou'][index].item():.3f}" for n in names)
            print(f"| {concept} | {SCENE_VOCABULARY.category(index)} | {row} |")


if __name__ == "__main__":
    main()
