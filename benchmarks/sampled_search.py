"""What a sampled IQR search changes against the exhaustive one, on the shipped scene GAN.

Run: ``.venv/bin/python benchmarks/sampled_search.py [--held-out 1024] [--resolution 64]
[--layers layer4 layer6] [--generator PATH]``. The held-out set's candidate thresholds are taken
as :func:`ganlens.dissect.dissect` takes them (pass 1); then, from the same generated batches, one
:class:`~ganlens.metrics.UnitConceptIoU` counts every held-out pixel at the B levels and another
the stratified sample the runner uses (about 2^20 pixels per unit), each timed. Printed per layer:
the sampling rate, the units whose sampled search chose the exhaustive search's level, and the
exhaustive IQR of each unit's sampled choice (level and concept) relative to the exhaustive best
(minimum, 1st percentile and median over the units the exhaustive search found a candidate for).
Then ``dissect(exact=True)`` and ``dissect(exact=False)`` are run whole on the same latents and
their interpretable units and concepts compared, with the wall time of each.
"""

from __future__ import annotations

import argparse
import time

import torch

from ganlens.data.vocabulary import Vocabulary
from ganlens.dissect import dissect
from ganlens.dissect.runner import QUANTILE_SAMPLES, _pixels_per_image
from ganlens.functional.information_quality import (
    information_quality_ratio,
    iqr_threshold_search,
    iqr_top_fractions,
)
from ganlens.hooks import trace
from ganlens.metrics import UnitConceptIoU, UnitQuantile
from ganlens.sources import load_generator, load_segmenter


def search_quality(
    exhaustive: UnitConceptIoU, sampled: UnitConceptIoU, thresholds: torch.Tensor
) -> dict[str, float]:
    """How the sampled search's choices score on the exhaustive counts."""
    fractions = exhaustive.top_fractions
    assert fractions is not None
    counts = exhaustive.counts()
    best = iqr_threshold_search(counts, thresholds, fractions)
    chosen = iqr_threshold_search(sampled.counts(), thresholds, fractions)
    table = information_quality_ratio(
        counts.intersection, counts.activation.unsqueeze(-1), counts.concept, counts.pixels
    )  # [U, B, C]
    units = torch.arange(table.shape[0])
    ratio = (table[units, chosen.level, chosen.concept] / best.iqr.clamp(min=1e-12)).double()
    above = best.iqr > 0.01  # units that can be interpretable (IQR above the cut-off)
    return {
        "units": float(table.shape[0]),
        "same_level": float((chosen.level == best.level).sum()),
        "same_concept": float((chosen.concept == best.concept).sum()),
        "ratio_min": float(ratio[best.valid].min()),
        "ratio_p01": float(ratio[best.valid].quantile(0.01)),
        "ratio_median": float(ratio[best.valid].median()),
        "above": float(above.sum()),
        "above_min": float(ratio[above].min()) if bool(above.any()) else float("nan"),
        "below_99": float((ratio[best.valid] < 0.99).sum()),
        "below_99_max_iqr": float(
            torch.cat(
                [best.iqr[best.valid & (ratio < 0.99)], torch.zeros(1, dtype=best.iqr.dtype)]
            ).max()
        ),
    }


def main() -> None:
    """Measure and print."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--generator", default="scene", help="generator source (default: shipped)")
    parser.add_argument("--held-out", type=int, default=1024, help="held-out samples M")
    parser.add_argument("--probe", type=int, default=512, help="probe samples N")
    parser.add_argument("--resolution", type=int, default=64, help="segmentation side S")
    parser.add_argument("--layers", nargs="+", default=["layer4", "layer6"], help="layers")
    parser.add_argument("--batch-size", type=int, default=64, help="samples per forward pass")
    args = parser.parse_args()
    torch.manual_seed(0)
    generator, segmenter = load_generator(args.generator), load_segmenter("scene")
    vocabulary: Vocabulary = segmenter.vocabulary
    size, fractions = args.resolution, iqr_top_fractions(100)
    latents = torch.randn(args.probe + args.held_out, generator.latent_size)
    probe, held_out = latents[: args.probe], latents[args.probe :]
    sample = _pixels_per_image(args.held_out, size)
    pixels = args.held_out * size * size
    print(f"held-out {args.held_out} x {size}^2 = {pixels:,} pixels per unit; sample {sample} of "
          f"{size * size} per image (2^20 = {QUANTILE_SAMPLES:,} per unit)")  # fmt: skip

    def batches():
        for start in range(0, args.held_out, args.batch_size):
            z = held_out[start : start + args.batch_size]
            with torch.no_grad(), trace(generator, args.layers) as features:
                images = generator(z).clamp(-1, 1)
            yield torch.arange(start, start + z.shape[0]), images, features

    quantiles: dict[str, UnitQuantile] = {}
    for ids, _, features in batches():
        for name in args.layers:
            if name not in quantiles:
                quantiles[name] = UnitQuantile(features[name].shape[1], fractions, size,
                                               pixels_per_image=sample)  # fmt: skip
            quantiles[name].update(features[name], ids)
    thresholds = {n: q.compute().view(q.num_units, -1) for n, q in quantiles.items()}
    metrics = {
        (name, kind): UnitConceptIoU(vocabulary, thresholds[name], top_fractions=fractions,
                                     min_iqr=0.01, pixels_per_image=rate)
        for name in args.layers for kind, rate in (("exhaustive", None), ("sampled", sample))
    }  # fmt: skip
    seconds = dict.fromkeys(("exhaustive", "sampled"), 0.0)
    for ids, images, features in batches():
        labels = segmenter.segment(images, size)
        for (name, kind), metric in metrics.items():
            started = time.perf_counter()
            metric.update(features[name], labels, ids)
            seconds[kind] += time.perf_counter() - started
    full, part = seconds["exhaustive"], seconds["sampled"]
    print(f"held-out B-level counts: exhaustive {full:.1f} s, sampled {part:.1f} s "
          f"({full / part:.2f}x)")  # fmt: skip
    for name in args.layers:
        quality = search_quality(metrics[name, "exhaustive"], metrics[name, "sampled"],
                                 thresholds[name])  # fmt: skip
        print(f"{name}: {quality['same_level']:.0f} of {quality['units']:.0f} units chose the "
              f"exhaustive level ({quality['same_concept']:.0f} the same concept); exhaustive IQR "
              f"of the sampled choice / best: min {quality['ratio_min']:.4f}, 1st percentile "
              f"{quality['ratio_p01']:.4f}, median {quality['ratio_median']:.4f}; min over the "
              f"{quality['above']:.0f} units whose best IQR exceeds 0.01: "
              f"{quality['above_min']:.4f}; {quality['below_99']:.0f} units below 0.99, best IQR "
              f"at most {quality['below_99_max_iqr']:.4f}")  # fmt: skip
    results = {}
    for exact in (True, False):
        started = time.perf_counter()
        results[exact] = dissect(generator, args.layers, segmenter, probe, held_out,
                                 threshold_mode="iqr", resolution=size,
                                 batch_size=args.batch_size, exact=exact)  # fmt: skip
        print(f"dissect(exact={exact}): {time.perf_counter() - started:.1f} s")
    for name in args.layers:
        a, b = results[True][name].units, results[False][name].units
        interpretable = [sum(u.interpretable for u in units) for units in (a, b)]
        differ = [
            (x.unit, x.concept if x.interpretable else "-", y.concept if y.interpretable else "-",
             round(x.iou, 4), round(y.iou, 4))
            for x, y in zip(a, b, strict=True)
            if (x.interpretable, x.concept) != (y.interpretable, y.concept)
            and (x.interpretable or y.interpretable)
        ]  # fmt: skip
        print(f"{name}: interpretable exhaustive {interpretable[0]}, sampled {interpretable[1]}; "
              "units that differ (unit, exhaustive, sampled, IoU exhaustive, sampled): "
              f"{differ}")  # fmt: skip


if __name__ == "__main__":
    main()
