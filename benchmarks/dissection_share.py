"""Share of dissection time spent in the statistics, on the shipped scene GAN and segmenter.

Run: ``.venv/bin/python benchmarks/dissection_share.py [--count 512] [--generator PATH]
[--baseline SRC]``. A whole :func:`ganlens.dissect.dissect` run is timed in each threshold mode,
then the generator and segmenter calls of the same passes alone (``quantile``: generator over the
held-out threshold set, generator + segmenter over the probe set; ``iqr``: generator over the
held-out set, generator + segmenter over it and over the probe set); the difference is the
statistics' time. The earlier definition (generator + segmenter once over both sets, for either
mode) is printed too.

``--baseline SRC`` also times another copy of the package (e.g. the base commit's ``src`` from
``git archive``): this script runs alternately with each copy first on ``PYTHONPATH``,
``--rounds`` times, and prints the median figures of each.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

from ganlens.dissect import dissect
from ganlens.models import load_proggan_generator, load_scene_generator
from ganlens.segment import load_scene_segmenter

LAYERS = ["layer2", "layer4", "layer6", "layer8"]


def measure(args: argparse.Namespace) -> dict[str, float]:
    """Seconds of the forward passes and of dissect() in both modes (one process)."""
    generator = load_proggan_generator(args.generator) if args.generator else load_scene_generator()
    generator.eval()
    segmenter = load_scene_segmenter()
    latents = torch.randn(
        2 * args.count, generator.latent_size, generator=torch.Generator().manual_seed(0)
    )
    probe, held_out = latents[: args.count], latents[args.count :]

    def forward(latents: torch.Tensor, segment: bool) -> float:
        start = time.perf_counter()
        with torch.no_grad():
            for batch in torch.split(latents, args.batch):
                images = generator(batch).clamp(-1, 1)
                if segment:
                    segmenter.segment(images)
        return time.perf_counter() - start

    forward(probe[: args.batch], True)  # warm-up
    seconds = {
        "generate": forward(held_out, False),
        "both": forward(probe, True),
        "all_once": forward(latents, True),
    }
    for mode in ("quantile", "iqr"):
        start = time.perf_counter()
        result = dissect(generator, LAYERS, segmenter, probe, held_out, batch_size=args.batch,
                         threshold_mode=mode)  # fmt: skip
        seconds[mode] = time.perf_counter() - start
        seconds[f"{mode}_units"] = float(
            sum(result[layer].summary.num_interpretable for layer in LAYERS)
        )
        seconds[f"{mode}_iou_sum"] = sum(u.iou for layer in LAYERS for u in result[layer].units)
    return seconds


def table(runs: list[dict[str, float]], label: str) -> None:
    """Print one package's medians."""

    def median(key: str) -> float:
        return statistics.median(run[key] for run in runs)

    forward = {
        "quantile": median("generate") + median("both"),
        "iqr": median("generate") + 2 * median("both"),
    }
    print(f"\n{label}: median of {len(runs)} run(s)")
    print("| mode | total s | generator + segmenter, same passes s | statistics s | statistics "
          "share | share, earlier definition | interpretable units | sum of unit IoUs |"
          )  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for mode in ("quantile", "iqr"):
        total = median(mode)
        shares = [(run[mode] - run["generate"] - run["both"] * (1 if mode == "quantile" else 2))
                  / run[mode] for run in runs]  # fmt: skip
        earlier = [(run[mode] - run["all_once"]) / run[mode] for run in runs]
        stats = total - forward[mode]
        print(f"| {mode} | {total:.1f} | {forward[mode]:.1f} | {stats:.1f} | "
              f"{statistics.median(shares):.0%} | {statistics.median(earlier):.0%} | "
              f"{median(mode + '_units'):.0f} | {median(mode + '_iou_sum'):.6f} |")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--count", type=int, default=512, help="probe latents (and as many held out)"
    )
    parser.add_argument("--batch", type=int, default=64, help="samples per forward pass")
    parser.add_argument("--generator", type=Path, help=".pth file (default: the shipped one)")
    parser.add_argument("--baseline", help="src folder of the package to compare with")
    parser.add_argument("--rounds", type=int, default=1, help="alternating runs per package")
    parser.add_argument("--json", action="store_true", help="print only the seconds as JSON")
    args = parser.parse_args()
    print(f"{args.count} probe + {args.count} held-out samples, layers {', '.join(LAYERS)}, "
          f"{torch.get_num_threads()} threads", flush=True)  # fmt: skip
    if args.json or not args.baseline:
        seconds = measure(args)
        if args.json:
            print(json.dumps(seconds))
        else:
            table([seconds], "this package")
        return
    current = str(Path(__file__).resolve().parents[1] / "src")
    passed = ["--count", str(args.count), "--batch", str(args.batch)]
    passed += ["--generator", str(args.generator)] if args.generator else []
    runs: dict[str, list[dict[str, float]]] = {"baseline": [], "current": []}
    for _ in range(args.rounds):
        for name, source in (("baseline", args.baseline), ("current", current)):
            command = [sys.executable, __file__, "--json", *passed]
            env = {**os.environ, "PYTHONPATH": source}
            out = subprocess.run(command, env=env, capture_output=True, text=True)
            if out.returncode:
                raise RuntimeError(f"{name} run failed:\n{out.stderr}")
            runs[name].append(json.loads(out.stdout.strip().splitlines()[-1]))
    table(runs["baseline"], f"baseline ({args.baseline})")
    table(runs["current"], "current")


if __name__ == "__main__":
    main()
