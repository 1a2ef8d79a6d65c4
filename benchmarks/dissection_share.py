"""Share of dissection time spent in the statistics, on the shipped scene GAN and segmenter.

Run: ``.venv/bin/python benchmarks/dissection_share.py [--count 512] [--generator PATH]``.
A whole :func:`ganlens.dissect.dissect` run is timed, then the same generator and segmenter calls
alone (two passes, as the runner makes); the difference is the statistics' time.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from ganlens.dissect import dissect
from ganlens.models import load_proggan_generator, load_scene_generator
from ganlens.segment import load_scene_segmenter

LAYERS = ["layer2", "layer4", "layer6", "layer8"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--count", type=int, default=512, help="probe latents (and as many held out)"
    )
    parser.add_argument("--batch", type=int, default=64, help="samples per forward pass")
    parser.add_argument("--generator", type=Path, help=".pth file (default: the shipped one)")
    args = parser.parse_args()
    generator = load_proggan_generator(args.generator) if args.generator else load_scene_generator()
    generator.eval()
    segmenter = load_scene_segmenter()
    latents = torch.randn(
        2 * args.count, generator.latent_size, generator=torch.Generator().manual_seed(0)
    )
    probe, held_out = latents[: args.count], latents[args.count :]
    print(f"{args.count} probe + {args.count} held-out samples, {generator.resolution} px, layers "
          f"{', '.join(LAYERS)}, {torch.get_num_threads()} threads")  # fmt: skip
    print("| mode | total s | generator + segmenter s | statistics s | statistics share |")
    print("|---|---:|---:|---:|---:|")
    with torch.no_grad():
        start = time.perf_counter()
        for batch in latents.split(args.batch):
            segmenter.segment(generator(batch).clamp(-1, 1))
        base = time.perf_counter() - start
    for mode in ("quantile", "iqr"):
        start = time.perf_counter()
        result = dissect(generator, LAYERS, segmenter, probe, held_out, batch_size=args.batch,
                         threshold_mode=mode)  # fmt: skip
        total = time.perf_counter() - start
        stats = total - base
        print(f"| {mode} | {total:.1f} | {base:.1f} | {stats:.1f} | {stats / total:.0%} |")
    print("\ninterpretable units per layer (iqr mode):")
    for layer in LAYERS:
        summary = result[layer].summary
        print(f"  {layer}: {summary}")


if __name__ == "__main__":
    main()
