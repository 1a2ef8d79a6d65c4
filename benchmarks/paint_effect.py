"""What painting does on the shipped scene model: remove and draw tree and door on fixed samples.

GAN Dissection (Bau et al., ICLR 2019, section 4, GANPaint): a stroke sets a concept's top units
inside the stroke to 0 (remove) or to their 99th-percentile activation (draw). This measures the
segmenter's concept pixels inside the stroke's region before and after, on a fixed seed set, the
way the painting page does it (:class:`ganlens.paint.PaintModel`: rankings from its quick
dissection, draw levels, :func:`ganlens.paint.edits.render`). Prints a markdown table. Example::

    OMP_NUM_THREADS=1 python benchmarks/paint_effect.py --layers layer4 layer6 --top-n 10
"""

from __future__ import annotations

import argparse

import torch

from ganlens.paint.edits import Stroke, render, stroke_intervention
from ganlens.paint.model import load_paint_model


def region_mask(resolution: int) -> torch.Tensor:
    """The lower middle of the frame (rows 3/8 .. 7/8, columns 1/8 .. 7/8): buildings and ground."""
    mask = torch.zeros(resolution, resolution, dtype=torch.bool)
    eighth = resolution // 8
    mask[3 * eighth : 7 * eighth, eighth : 7 * eighth] = True
    return mask


def run() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--generator", default=None, help="generator source (default: shipped)")
    parser.add_argument("--concepts", nargs="+", default=["tree", "door"])
    parser.add_argument("--layers", nargs="+", default=["layer4", "layer6"])
    parser.add_argument("--top-n", type=int, default=10, help="units painted per stroke")
    parser.add_argument("--seeds", type=int, default=32, help="fixed samples: seeds 1000..")
    parser.add_argument("--quick-samples", type=int, default=64, help="the page's ranking set")
    args = parser.parse_args()
    model = load_paint_model(args.generator, None, None, quick_samples=args.quick_samples)
    latents = model.seed_latents(list(range(1000, 1000 + args.seeds)))
    resolution = int(model.resolution or 64)
    region = region_mask(resolution)
    names = list(model.segmenter.vocabulary.names)

    def concept_share(images: torch.Tensor, concept: str) -> float:
        labels = model.segmenter.segment(images, resolution)  # [N, K, S, S]
        hit = (labels == names.index(concept)).any(dim=1)  # [N, S, S]
        return float(hit[:, region].float().mean())

    before = render(model.generator, latents)
    print(f"{args.seeds} samples (seeds 1000..), {resolution} px, region rows "
          f"{3 * resolution // 8}..{7 * resolution // 8 - 1}, top {args.top_n} IoU units of the "
          f"page's quick dissection ({args.quick_samples} samples)\n")  # fmt: skip
    print("| layer | concept | units | before | remove | draw |")
    print("|---|---|---|---:|---:|---:|")
    for layer in args.layers:
        rankings = {ranking.name: ranking for ranking in model.rankings(layer)}
        levels = model.levels(layer)
        for concept in args.concepts:
            units = rankings[f"{concept}-iou"].order[: args.top_n]
            shares = []
            for action in ("remove", "draw"):
                stroke = Stroke(layer, tuple(units), action, region.float())
                edit = stroke_intervention(stroke, model.layers[layer].grid, levels)
                shares.append(concept_share(render(model.generator, latents, [edit]), concept))
            listed = ", ".join(map(str, units))
            share = concept_share(before, concept)
            print(f"| {layer} | {concept} | {listed} | {share:.3f} | {shares[0]:.3f} | "
                  f"{shares[1]:.3f} |")  # fmt: skip


if __name__ == "__main__":
    run()
