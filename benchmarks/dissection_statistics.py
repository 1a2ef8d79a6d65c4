"""Dissection statistics throughput: the streaming metrics versus a plain per-label loop.

At gandissect-like sizes (512 units, 8x8 featuremaps upsampled to 128x128, 150 concepts in
three label layers) this times, in unit-pixels per second (N * U * S * S per second):

* pass 1, :class:`~ganlens.metrics.UnitQuantile` (one fixed histogram per unit);
* pass 2, :class:`~ganlens.metrics.UnitConceptIoU` at one threshold per unit (``quantile``
  mode) and at B = 100 levels per unit (the ``iqr`` search);
* the baseline: threshold the upsampled maps, then for each label build its mask and count
  ``|A_u AND S_c|`` for all units with one matrix-vector product (one pass over the
  unit-pixels per label), at one threshold.

The baseline's counts are checked against the metric's. It also prints the realised top
fraction of the pass-1 thresholds on 10^6 pixels per unit (all pixels, and sampled as
:func:`ganlens.dissect.dissect` samples them) and the state sizes. Pass 1 is timed counting every
pixel and, where the package can, counting ``--pixels-per-image`` stratified samples per image
(1024 = 1/16 of 128 x 128: what ``dissect`` uses for a 1,024-image threshold set).

``--baseline SRC`` compares with another copy of the package (e.g. ``git archive 5fdfe9b src | tar
-x -C /tmp/base``, then ``--baseline /tmp/base/src``): this script is run alternately with each
copy first on ``PYTHONPATH``, ``--rounds`` times, and the median rates and their ratios printed.

Run: ``OMP_NUM_THREADS=1 .venv/bin/python benchmarks/dissection_statistics.py [--batches 3]``
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F

from ganlens.data.vocabulary import Vocabulary
from ganlens.functional.information_quality import iqr_top_fractions
from ganlens.metrics.unit_concept_iou import UnitConceptIoU
from ganlens.metrics.unit_quantile import UnitQuantile


def vocabulary(concepts: int) -> Vocabulary:
    """``concepts - 1`` labels: two thirds objects, the rest parts, one material."""
    objects = (2 * concepts) // 3
    kinds = ["object"] * objects + ["part"] * (concepts - objects - 2) + ["material"]
    return Vocabulary([(f"c{i}", kind) for i, kind in enumerate(kinds, start=1)])


def synthetic_batch(
    n: int, units: int, feature: int, size: int, vocab: Vocabulary, seed: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Rectified smooth featuremaps [n, U, f, f] and blobby labels [n, 3, S, S]."""
    generator = torch.Generator().manual_seed(seed)
    features = torch.randn(n, units, feature, feature, generator=generator).relu()
    objects = torch.tensor(vocab.in_category("object"))
    parts = torch.tensor(vocab.in_category("part"))

    def blobs(choices: torch.Tensor, cells: int, keep: float) -> torch.Tensor:
        pick = torch.randint(0, len(choices), (n, 1, cells, cells), generator=generator)
        coarse = choices[pick].float()
        coarse[torch.rand(coarse.shape, generator=generator) > keep] = 0
        return F.interpolate(coarse, size=size, mode="nearest").long()  # [n, 1, S, S]

    material = torch.full((n, 1, size, size), vocab.in_category("material")[0])
    material[blobs(parts, 8, 1.0) % 3 != 0] = 0
    labels = torch.cat([blobs(objects, 8, 1.0), blobs(parts, 16, 0.3), material], dim=1)
    return features, labels


def baseline_counts(
    features: torch.Tensor, labels: torch.Tensor, thresholds: torch.Tensor, concepts: int
) -> torch.Tensor:
    """|A_u AND S_c| for every unit and label, one label at a time: [U, C].

    Each label's mask is built and multiplied into the thresholded maps of all units (a
    matrix-vector product over the n * S * S pixels), as a direct implementation would.
    """
    size = labels.shape[-2:]
    up = F.interpolate(features, size=size, mode="bilinear", align_corners=False)
    active = (up > thresholds.view(1, -1, 1, 1)).float().flatten(2)  # [n, U, P]
    active = active.transpose(0, 1).reshape(features.shape[1], -1)  # [U, n * P]
    counts = torch.zeros(features.shape[1], concepts, dtype=torch.long)
    for c in range(1, concepts):
        mask = (labels == c).any(dim=1).flatten().float()  # [n * P]
        counts[:, c] = (active @ mask).round().long()  # exact: sums < 2^24
    return counts


def timed(function: Callable[[], object]) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


STEPS = {
    "quantile": "pass 1, UnitQuantile, every pixel",
    "quantile_sampled": "pass 1, UnitQuantile, sampled pixels",
    "single": "pass 2, UnitConceptIoU, 1 threshold",
    "levels": "pass 2, UnitConceptIoU, B levels",
    "loop": "baseline per-label loop, 1 threshold",
}


def measure(
    args: argparse.Namespace, vocab: Vocabulary, batches: list[tuple[torch.Tensor, torch.Tensor]]
) -> dict[str, float]:
    """Seconds of each step over all batches (only the steps this package supports)."""
    seconds: dict[str, float] = {}
    quantile = UnitQuantile(args.units, 0.01, resolution=args.resolution)
    levels = UnitQuantile(args.units, iqr_top_fractions(args.levels), resolution=args.resolution)
    seconds["quantile"] = timed(lambda: [quantile.update(f) for f, _ in batches])
    if "pixels_per_image" in inspect.signature(UnitQuantile.__init__).parameters:
        sampled = UnitQuantile(
            args.units, 0.01, resolution=args.resolution, pixels_per_image=args.pixels_per_image
        )
        seconds["quantile_sampled"] = timed(lambda: [sampled.update(f) for f, _ in batches])
    for features, _ in batches:
        levels.update(features)
    thresholds, candidates = quantile.compute(), levels.compute()  # [U], [U, B]
    single = UnitConceptIoU(vocab, thresholds)
    seconds["single"] = timed(lambda: [single.update(f, s) for f, s in batches])
    search = UnitConceptIoU(vocab, candidates)
    seconds["levels"] = timed(lambda: [search.update(f, s) for f, s in batches])
    totals: list[torch.Tensor] = []
    seconds["loop"] = timed(
        lambda: totals.extend(baseline_counts(f, s, thresholds, len(vocab)) for f, s in batches)
    )
    counts = single.counts()
    assert torch.equal(counts.intersection[:, 0], sum(totals)), "baseline disagrees"
    return seconds


def compare(args: argparse.Namespace, unit_pixels: int) -> None:
    """Run this script with the baseline and the current package alternately; print ratios."""
    current = str(Path(__file__).resolve().parents[1] / "src")
    runs: dict[str, list[dict[str, float]]] = {"baseline": [], "current": []}
    command = [sys.executable, __file__, "--json", *sys.argv[1:]]
    command = [
        c
        for i, c in enumerate(command)
        if c != "--baseline" and (i == 0 or command[i - 1] != "--baseline")
    ]
    for _ in range(args.rounds):
        for name, source in (("baseline", args.baseline), ("current", current)):
            env = {**os.environ, "PYTHONPATH": source}
            out = subprocess.run(command, env=env, check=True, capture_output=True, text=True)
            runs[name].append(json.loads(out.stdout.strip().splitlines()[-1]))
    print(f"median of {args.rounds} alternating runs each; baseline {args.baseline}\n")
    print("| step | baseline M unit-pixels/s | current M unit-pixels/s | current / baseline |")
    print("|---|---:|---:|---:|")
    for key, label in STEPS.items():
        if not all(key in r for r in runs["current"]):
            continue
        new = statistics.median(unit_pixels / r[key] / 1e6 for r in runs["current"])
        base_key = "quantile" if key == "quantile_sampled" else key  # against every pixel
        old = statistics.median(unit_pixels / r[base_key] / 1e6 for r in runs["baseline"])
        print(f"| {label} | {old:.1f} | {new:.1f} | {new / old:.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--units", type=int, default=512)
    parser.add_argument("--feature", type=int, default=8)
    parser.add_argument("--resolution", type=int, default=128)
    parser.add_argument("--concepts", type=int, default=150, help="vocabulary size C (with 0)")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--batches", type=int, default=3)
    parser.add_argument("--levels", type=int, default=100)
    parser.add_argument("--pixels-per-image", type=int, default=1024)
    parser.add_argument("--baseline", help="src folder of the package to compare with")
    parser.add_argument("--rounds", type=int, default=2, help="alternating runs per package")
    parser.add_argument("--json", action="store_true", help="print only the seconds as JSON")
    args = parser.parse_args()

    vocab = vocabulary(args.concepts)
    unit_pixels = args.batches * args.batch * args.units * args.resolution**2
    if args.baseline:
        compare(args, unit_pixels)
        return
    batches = [
        synthetic_batch(args.batch, args.units, args.feature, args.resolution, vocab, seed=i)
        for i in range(args.batches)
    ]
    seconds = measure(args, vocab, batches)
    if args.json:
        print(json.dumps(seconds))
        return
    print(
        f"torch {torch.__version__}, {platform.processor() or platform.machine()}, "
        f"{torch.get_num_threads()} thread(s)"
    )
    print(
        f"{args.batches} batches x {args.batch} images, U={args.units}, "
        f"{args.feature}x{args.feature} -> {args.resolution}x{args.resolution}, C={len(vocab)}"
    )
    for key, label in STEPS.items():
        if key in seconds:
            rate = unit_pixels / seconds[key] / 1e6
            print(f"{label:40s} {rate:8.1f} M unit-pixels/s  ({seconds[key]:6.2f} s)")
    print("baseline counts equal the metric's: yes")

    big = [
        torch.randn(31, 8, args.feature, args.feature, generator=torch.Generator().manual_seed(i))
        for i in range(2)
    ]  # 62 images: > 10^6 pixels per unit at 128x128
    for q in (0.005, 0.01):
        metric = UnitQuantile(8, q, resolution=128)
        for features in big:
            metric.update(features)
        up = F.interpolate(torch.cat(big), size=128, mode="bilinear", align_corners=False)
        realised = (up > metric.compute().view(1, -1, 1, 1)).double().mean(dim=(0, 2, 3))
        error = float((realised / q - 1).abs().max())
        print(
            f"q={q}: realised top fraction within {100 * error:.2f} % of q "
            f"({up[:, 0].numel()} pixels per unit, 8 Gaussian units)"
        )
    many = torch.randn(
        512, 8, args.feature, args.feature, generator=torch.Generator().manual_seed(7)
    )
    for q in (0.005, 0.01):  # 512 images x 2048 sampled pixels: about 10^6 samples per unit
        metric = UnitQuantile(8, q, resolution=128, pixels_per_image=2048)
        for features in torch.split(many, 64):
            metric.update(features)
        threshold = metric.compute().view(1, -1, 1, 1)
        above = torch.zeros(8, dtype=torch.float64)
        for features in torch.split(many, 64):
            up = F.interpolate(features, size=128, mode="bilinear", align_corners=False)
            above += (up > threshold).double().sum(dim=(0, 2, 3))
        error = float((above / (512 * 128 * 128) / q - 1).abs().max())
        print(
            f"q={q}, 2048 sampled pixels per image of 512: realised top fraction on all "
            f"{512 * 128 * 128} pixels per unit within {100 * error:.2f} % of q"
        )
    quantile = UnitQuantile(args.units, 0.01, resolution=args.resolution)
    single = UnitConceptIoU(vocab, torch.zeros(args.units))
    search = UnitConceptIoU(vocab, torch.zeros(args.units, args.levels))
    print(
        f"state: UnitQuantile {quantile.state_size_bytes() / 1e6:.1f} MB, "
        f"UnitConceptIoU {single.state_size_bytes() / 1e6:.2f} MB (1 threshold), "
        f"{search.state_size_bytes() / 1e6:.1f} MB (B={args.levels})"
    )


if __name__ == "__main__":
    main()
