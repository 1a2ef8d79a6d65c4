"""Command line: dissect the shipped scene GAN (or a ``.pth`` ProgGAN) and print each layer.

Usage: ``python -m ganlens.dissect --layers layer4 layer6 --count 512``. Offline: it uses the
generator and segmenter that ship with ganlens unless given other weights.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import torch

from ganlens.dissect.result import DissectionResult
from ganlens.dissect.runner import dissect
from ganlens.models import load_proggan_generator, load_scene_generator
from ganlens.segment import load_scene_segmenter


def format_result(result: DissectionResult, layers: Sequence[str]) -> str:
    """A plain-text table of each layer's summary and its class distribution."""
    lines = ["| layer | units | interpretable | concepts | object / part / material |",
             "|---|---:|---:|---:|---|"]  # fmt: skip
    for layer in layers:
        s = result[layer].summary
        cats = " / ".join(str(s.category_counts.get(c, 0)) for c in ("object", "part", "material"))
        lines.append(
            f"| {layer} | {s.num_units} | {s.num_interpretable} | {s.num_concepts} | {cats} |"
        )
    for layer in layers:
        ranked = sorted(result[layer].summary.units_per_concept.items(), key=lambda kv: -kv[1])
        lines.append(f"{layer}: " + ", ".join(f"{name} {count}" for name, count in ranked))
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> DissectionResult:
    """Parse arguments, dissect, print the summary table; returns the result."""
    parser = argparse.ArgumentParser(prog="python -m ganlens.dissect", description=__doc__)
    parser.add_argument("--generator", type=Path, help="ProgGAN .pth file (default: shipped model)")
    parser.add_argument("--layers", nargs="+", default=["layer2", "layer4", "layer6", "layer8"],
                        help="generator layers to dissect")  # fmt: skip
    parser.add_argument("--count", type=int, default=512, help="probe samples (and held-out)")
    parser.add_argument("--mode", choices=["iqr", "quantile"], default="iqr",
                        help="threshold policy (DESIGN.md 4.2)")  # fmt: skip
    parser.add_argument("--batch-size", type=int, default=64, help="samples per forward pass")
    parser.add_argument("--seed", type=int, default=0, help="seed of the latents")
    parser.add_argument("--device", default="cpu", help="torch device, e.g. cuda")
    args = parser.parse_args(argv)
    if args.count < 1:
        parser.error(f"--count must be positive; got {args.count}")
    generator = load_proggan_generator(args.generator) if args.generator else load_scene_generator()
    generator = generator.to(args.device).eval()
    z = torch.randn(2 * args.count, generator.latent_size,
                    generator=torch.Generator().manual_seed(args.seed))  # fmt: skip
    try:
        result = dissect(generator, args.layers, load_scene_segmenter(args.device), z[: args.count],
                         z[args.count :], batch_size=args.batch_size, threshold_mode=args.mode,
                         progress=True)  # fmt: skip
    except ValueError as error:
        parser.error(str(error))
    print(f"dissected {args.count} samples ({args.mode} thresholds) of a "
          f"{generator.resolution} px generator:")  # fmt: skip
    print(format_result(result, args.layers))
    return result


if __name__ == "__main__":
    main()
