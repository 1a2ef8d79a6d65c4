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
fraction of the pass-1 thresholds on 10^6 pixels per unit and the state sizes.

Run: ``OMP_NUM_THREADS=1 .venv/bin/python benchmarks/dissection_statistics.py [--batches 3]``
"""

from __future__ import annotations

import argparse
import platform
import time
from collections.abc import Callable

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--units", type=int, default=512)
    parser.add_argument("--feature", type=int, default=8)
    parser.add_argument("--resolution", type=int, default=128)
    parser.add_argument("--concepts", type=int, default=150, help="vocabulary size C (with 0)")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--batches", type=int, default=3)
    parser.add_argument("--levels", type=int, default=100)
    args = parser.parse_args()

    vocab = vocabulary(args.concepts)
    batches = [
        synthetic_batch(args.batch, args.units, args.feature, args.resolution, vocab, seed=i)
        for i in range(args.batches)
    ]
    unit_pixels = args.batches * args.batch * args.units * args.resolution**2
    print(
        f"torch {torch.__version__}, {platform.processor() or platform.machine()}, "
        f"{torch.get_num_threads()} thread(s)"
    )
    print(
        f"{args.batches} batches x {args.batch} images, U={args.units}, "
        f"{args.feature}x{args.feature} -> {args.resolution}x{args.resolution}, C={len(vocab)}"
    )

    def rate(seconds: float) -> str:
        return f"{unit_pixels / seconds / 1e6:8.1f} M unit-pixels/s  ({seconds:6.2f} s)"

    quantile = UnitQuantile(args.units, 0.01, resolution=args.resolution)
    levels = UnitQuantile(args.units, iqr_top_fractions(args.levels), resolution=args.resolution)
    seconds = timed(lambda: [quantile.update(f) for f, _ in batches])
    for features, _ in batches:
        levels.update(features)
    thresholds, candidates = quantile.compute(), levels.compute()  # [U], [U, B]
    print(f"pass 1  UnitQuantile                    {rate(seconds)}")

    single = UnitConceptIoU(vocab, thresholds)
    seconds_single = timed(lambda: [single.update(f, s) for f, s in batches])
    print(f"pass 2  UnitConceptIoU, 1 threshold     {rate(seconds_single)}")
    search = UnitConceptIoU(vocab, candidates)
    seconds_search = timed(lambda: [search.update(f, s) for f, s in batches])
    print(f"pass 2  UnitConceptIoU, B={args.levels} levels    {rate(seconds_search)}")
    totals: list[torch.Tensor] = []
    seconds_base = timed(
        lambda: totals.extend(baseline_counts(f, s, thresholds, len(vocab)) for f, s in batches)
    )
    print(f"baseline per-label loop, 1 threshold    {rate(seconds_base)}")
    print(
        f"speed-up at 1 threshold: {seconds_base / seconds_single:.1f}x; at B={args.levels}: "
        f"{args.levels * seconds_base / seconds_search:.0f}x over {args.levels} baseline runs"
    )

    counts = single.counts()
    assert torch.equal(counts.intersection[:, 0], sum(totals)), "baseline disagrees"
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
    print(
        f"state: UnitQuantile {quantile.state_size_bytes() / 1e6:.1f} MB, "
        f"UnitConceptIoU {single.state_size_bytes() / 1e6:.2f} MB (1 threshold), "
        f"{search.state_size_bytes() / 1e6:.1f} MB (B={args.levels})"
    )


if __name__ == "__main__":
    main()
