"""Bilinear upsampling of featuremaps to the segmentation size: two matrix products vs the kernel.

Run: ``.venv/bin/python benchmarks/upsampling.py``. Times, side by side on one thread (best of 5),
:func:`torch.nn.functional.interpolate` (``bilinear``, ``align_corners=False``) against
:func:`ganlens.functional.dissection.upsample_featuremaps`, which writes it as ``A_h r A_w^T``
for featuremaps of at most ``MATMUL_UPSAMPLING_MAX`` pixels a side, at the shapes a 64 px
ProgGAN's layers have (batch 64, upsampled to 64 x 64), and prints the largest difference.
"""

from __future__ import annotations

import time

import torch
import torch.nn.functional as F

from ganlens.functional.dissection import MATMUL_UPSAMPLING_MAX, upsample_featuremaps

SHAPES = [(64, 128, 4), (64, 128, 8), (64, 64, 16), (64, 32, 32)]  # (N, U, h), to 64 px


def best(function: object, repeats: int = 5) -> float:
    """Fastest of ``repeats`` calls, in seconds."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()  # type: ignore[operator]
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    """Print the table."""
    torch.set_num_threads(1)
    print(f"| featuremaps [N, U, h, h] -> 64 px | interpolate ms | two products ms | speed-up | "
          f"max abs difference |  (products up to {MATMUL_UPSAMPLING_MAX} px)")  # fmt: skip
    print("|---|---:|---:|---:|---:|")
    for n, units, side in SHAPES:
        features = torch.randn(n, units, side, side, generator=torch.Generator().manual_seed(0))

        def kernel(features: torch.Tensor = features) -> torch.Tensor:
            return F.interpolate(features, size=64, mode="bilinear", align_corners=False)

        def products(features: torch.Tensor = features) -> torch.Tensor:
            return upsample_featuremaps(features, 64)

        difference = float((kernel() - products()).abs().max())
        slow, fast = best(kernel), best(products)
        print(f"| [{n}, {units}, {side}, {side}] | {slow * 1e3:.1f} | {fast * 1e3:.1f} | "
              f"{slow / fast:.2f}x | {difference:.1e} |")  # fmt: skip


if __name__ == "__main__":
    main()
