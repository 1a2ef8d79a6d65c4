"""The B-level count of the IQR search: a binary search per pixel against the value-cell table.

Run: ``OMP_NUM_THREADS=1 .venv/bin/python benchmarks/level_count.py [--generator PATH]
[--repeats 7]``. Times, interleaved in one process on one thread (best and median of
``--repeats`` calls each), the former ``_count_levels`` (``searchsorted`` per pixel, copied
below as :func:`searchsorted_count`) against
:func:`ganlens.functional.unit_concept_kernels._count_levels`, on the inputs a 64 px IQR
dissection gives it: the 128 units of ``layer4`` of a 64 px scene generator (default: the
shipped one) upsampled to 64 x 64
for 16 and 32 images, each unit's B = 100 thresholds its own quantiles at the IQR top fractions,
the scene segmenter's three label layers. Two random cases prove exactness where it is hardest:
values drawn from the thresholds themselves (every pixel a tie) and thresholds with many equal
values. Both outputs are checked with ``torch.equal`` (values, dtypes and strides) before the
markdown table is printed.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch import Tensor

from ganlens.functional.dissection import upsample_featuremaps
from ganlens.functional.information_quality import iqr_top_fractions
from ganlens.functional.unit_concept_kernels import _count_levels, _dedupe_labels
from ganlens.sources import load_generator, load_segmenter

Case = tuple[Tensor, Tensor, Tensor, int]  # up [U, n, P], thresholds [U, B], labels, C


def searchsorted_count(
    up: Tensor, thresholds: Tensor, labels: Tensor, num_concepts: int
) -> tuple[Tensor, Tensor]:
    """The former ``_count_levels``: ``searchsorted`` per pixel, a dense/sparse bincount a layer."""
    num_units, n, pixels = up.shape
    levels = thresholds.shape[1] + 1
    bins = num_units * levels * num_concepts
    small = bins < 2**31 and up.numel() < 2**31 and n * num_units * levels < 2**31
    dtype = torch.int32 if small else torch.long
    level = torch.searchsorted(thresholds, up.view(num_units, -1), out_int32=small)
    level = level.view(num_units, n, pixels)
    rows = torch.arange(num_units * n, device=up.device, dtype=dtype).view(num_units, n, 1)
    per_image = torch.bincount((level + rows * levels).view(-1), minlength=num_units * n * levels)
    per_image = per_image.view(num_units, n, levels).transpose(0, 1)
    unit = torch.arange(num_units, device=up.device, dtype=dtype).view(-1, 1, 1)
    code = (level * num_concepts).add_(unit * (levels * num_concepts))
    histogram = torch.zeros(bins, dtype=torch.long, device=up.device)
    for k in range(labels.shape[1]):
        label = labels[:, k].to(dtype)
        mask = label != 0
        if 2 * int(mask.sum()) >= mask.numel():
            index = code + label.unsqueeze(0)
        else:
            where = mask.view(-1).nonzero().view(-1)
            index = code.view(num_units, -1).index_select(1, where) + label.view(-1)[where]
        histogram += torch.bincount(index.view(-1), minlength=bins)
    histogram = histogram.view(num_units, levels, num_concepts)
    histogram[:, :, 0] = 0
    return per_image, histogram


def quantile_thresholds(up: Tensor, num_levels: int = 100) -> Tensor:
    """Each unit's quantiles at the IQR top fractions, ascending: ``[U, B]`` float32."""
    q = (1 - iqr_top_fractions(num_levels)).clamp(0, 1)
    values = up.reshape(up.shape[0], -1).double()
    return torch.quantile(values, q, dim=1).T.float().sort(dim=1).values.contiguous()


def generated_cases(source: str, counts: list[int]) -> dict[str, Case]:
    """``layer4`` of the generator upsampled to 64 px, for each image count."""
    generator, segmenter = load_generator(source), load_segmenter("scene")
    grabbed: dict[str, Tensor] = {}
    hook = generator.layer4.register_forward_hook(lambda m, i, o: grabbed.update(maps=o))
    cases = {}
    with torch.no_grad():
        for n in counts:
            latents = torch.randn(
                n, generator.latent_size, generator=torch.Generator().manual_seed(n)
            )
            images = generator(latents)
            labels = segmenter.segment(images.clamp(-1, 1))  # [n, K, S, S]
            if labels.shape[-1] != 64:
                labels = torch.nn.functional.interpolate(labels.float(), size=64).long()
            maps = grabbed["maps"]  # [n, U, h, w]
            up = upsample_featuremaps(maps.transpose(0, 1), 64)  # [U, n, 64, 64]
            up = up.reshape(maps.shape[1], n, -1).contiguous()
            labels = _dedupe_labels(labels.long().view(n, labels.shape[1], -1))
            name = f"{Path(source).name} layer4, U {up.shape[0]}, n {n}, P 64^2"
            cases[name] = (up, quantile_thresholds(up), labels, len(segmenter.vocabulary.names))
    hook.remove()
    return cases


def random_cases() -> dict[str, Case]:
    """Every pixel a tie with a threshold of its unit (or outside them); repeated thresholds."""
    g = torch.Generator().manual_seed(0)
    units, n, pixels, num_levels, concepts = 128, 16, 64 * 64, 100, 18
    thresholds = torch.randn(units, num_levels, generator=g).sort(dim=1).values
    pick = torch.randint(0, num_levels + 2, (units, n * pixels), generator=g)
    extended = torch.cat([thresholds, thresholds[:, :1] - 1, thresholds[:, -1:] + 1], dim=1)
    ties = extended.gather(1, pick).view(units, n, pixels)  # values == thresholds, or outside
    repeated = thresholds.round(decimals=1).sort(dim=1).values.contiguous()  # runs of equal t
    near = torch.randn(units, n, pixels, generator=g).round(decimals=2)
    labels = torch.randint(0, concepts, (n, 3, pixels), generator=g)
    labels[:, 1:][torch.rand(n, 2, pixels, generator=g) < 0.7] = 0  # two sparse layers
    labels = _dedupe_labels(labels)
    return {
        "random, values = thresholds (ties)": (ties, thresholds, labels, concepts),
        "random, repeated thresholds": (near, repeated, labels, concepts),
    }


def timed(function: Callable[..., object], case: Case) -> float:
    """Seconds of one call on ``case``."""
    started = time.perf_counter()
    function(*case)
    return time.perf_counter() - started


def main() -> None:
    """Print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--generator", default="scene", help="generator source (ganlens units)")
    parser.add_argument("--images", type=int, nargs="+", default=[16, 32], help="images per chunk")
    parser.add_argument("--repeats", type=int, default=7, help="timed calls of each function")
    args = parser.parse_args()
    torch.set_num_threads(1)
    cases = {**generated_cases(args.generator, args.images), **random_cases()}
    print(f"one thread, best / median of {args.repeats} interleaved calls each")
    print("| case | searchsorted best ms | median ms | cell table best ms | median ms | speed-up "
          "(best) | equal |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|---|")
    for name, (up, thresholds, labels, concepts) in cases.items():
        old = searchsorted_count(up, thresholds, labels, concepts)
        new = _count_levels(up, thresholds, labels, concepts)
        equal = all(
            torch.equal(a, b) and a.dtype == b.dtype and a.stride() == b.stride()
            for a, b in zip(old, new, strict=True)
        )
        assert equal, name
        slow, fast = [], []
        for _ in range(args.repeats):
            slow.append(timed(searchsorted_count, (up, thresholds, labels, concepts)))
            fast.append(timed(_count_levels, (up, thresholds, labels, concepts)))
        print(f"| {name} | {min(slow) * 1e3:.1f} | {statistics.median(slow) * 1e3:.1f} | "
              f"{min(fast) * 1e3:.1f} | {statistics.median(fast) * 1e3:.1f} | "
              f"{min(slow) / min(fast):.2f}x | {equal} |")  # fmt: skip


if __name__ == "__main__":
    main()
