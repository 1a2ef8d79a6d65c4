"""SWD throughput: the torch implementation versus the numpy reference of the tests, one process.

Both run the full SWD (Karras et al. 2018, appendix D) on the same images with the same patch
positions and directions, so their outputs must agree; images/s counts real plus fake images.
Also prints the real-vs-real noise floor at two set sizes (it should shrink like 1/sqrt(N)) and
the effect of storing the metric's descriptors in float16 instead of float32.

Run: ``.venv/bin/python benchmarks/swd_throughput.py [--quick]``
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import numpy as np
import torch
import torch.nn.functional as F

from ganlens.functional import level_resolutions, sliced_wasserstein_distance
from ganlens.functional.sliced_wasserstein import (
    _random_directions,
    _random_patch_positions,
    _sliced_wasserstein_compute,
    _sliced_wasserstein_update,
)
from ganlens.metrics import SlicedWassersteinDistance

REFERENCE = Path(__file__).parents[1] / "tests" / "functional" / "test_sliced_wasserstein.py"


def load_reference() -> ModuleType:
    spec = importlib.util.spec_from_file_location("swd_reference", REFERENCE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def smooth_images(n: int, size: int, seed: int) -> torch.Tensor:
    """Random smooth images in [-1, 1]: upsampled coarse noise plus a little pixel noise."""
    generator = torch.Generator().manual_seed(seed)
    base = torch.rand(n, 3, 8, 8, generator=generator) * 2 - 1
    images = F.interpolate(base, size=size, mode="bilinear", align_corners=False)
    return (images + 0.1 * torch.randn(images.shape, generator=generator)).clamp(-1, 1)


def interleaved_medians(functions: list[Callable[[], object]], repeats: int) -> list[float]:
    """Median seconds of each function, run in turn so that all see the same machine load."""
    times: list[list[float]] = [[] for _ in functions]
    for _ in range(repeats):
        for function, record in zip(functions, times, strict=True):
            start = time.perf_counter()
            function()
            record.append(time.perf_counter() - start)
    return [statistics.median(record) for record in times]


def throughput(reference: ModuleType, n: int, size: int, repeats: int) -> None:
    real, fake = smooth_images(n, size, 0), smooth_images(n, size, 1)
    resolutions = level_resolutions(size)
    real_pos = _random_patch_positions(n, resolutions, torch.Generator().manual_seed(1))
    fake_pos = _random_patch_positions(n, resolutions, torch.Generator().manual_seed(2))
    directions = _random_directions(len(resolutions), torch.Generator().manual_seed(3))

    def run_torch(count: int = n) -> torch.Tensor:
        real_desc = _sliced_wasserstein_update(real[:count], [p[:count] for p in real_pos])
        fake_desc = _sliced_wasserstein_update(fake[:count], [p[:count] for p in fake_pos])
        return _sliced_wasserstein_compute(real_desc, fake_desc, directions)

    def run_numpy(count: int = n) -> np.ndarray:
        return reference.ref_sliced_wasserstein(
            real[:count].numpy(),
            fake[:count].numpy(),
            [p[:count].numpy() for p in real_pos],
            [p[:count].numpy() for p in fake_pos],
            directions.double().numpy(),
        )

    run_torch(8), run_numpy(8), sliced_wasserstein_distance(real[:8], fake[:8])  # warm-up
    torch_s, numpy_s, public_s = interleaved_medians(
        [run_torch, run_numpy, lambda: sliced_wasserstein_distance(real, fake)], repeats
    )
    levels, expected = run_torch().double().numpy(), run_numpy()[:-1]
    rel = float(np.max(np.abs(levels - expected) / expected))
    print(
        f"N={n:4d} at {size:3d}px ({2 * n} images): torch {2 * n / torch_s:7.1f} img/s "
        f"({torch_s:5.2f} s) | numpy reference {2 * n / numpy_s:6.1f} img/s ({numpy_s:5.2f} s) "
        f"| torch/numpy {numpy_s / torch_s:4.1f}x | public fn (incl. RNG) "
        f"{2 * n / public_s:7.1f} img/s | max rel diff {rel:.1e}"
    )
    print(f"    levels {resolutions}: torch {levels.round(3)} numpy {expected.round(3)}")


def noise_floor(sizes: tuple[int, ...], pairs: int, size: int = 64) -> None:
    print(f"real-vs-real noise floor at {size}px, {pairs} pairs of disjoint sets (x1e3):")
    means = []
    for n in sizes:
        values = []
        for pair in range(pairs):
            first = smooth_images(n, size, seed=1000 + 2 * pair)
            second = smooth_images(n, size, seed=1001 + 2 * pair)
            values.append(sliced_wasserstein_distance(first, second, seed=pair).levels)
        stacked = torch.stack(values)  # [pairs, L]
        means.append(stacked.mean(0))
        print(
            f"    N={n:5d}: levels {stacked.mean(0).numpy().round(2)} "
            f"(std over pairs {stacked.std(0).numpy().round(2)}), mean {stacked.mean():.2f}"
        )
    ratio = (means[0] / means[-1]).numpy().round(2)
    expected = (sizes[-1] / sizes[0]) ** 0.5
    print(
        f"    floor ratio N={sizes[0]} / N={sizes[-1]}: {ratio} (1/sqrt(N) predicts {expected:.2f})"
    )


def storage_precision(n: int, size: int = 64) -> None:
    real, fake = smooth_images(n, size, 2000), smooth_images(n, size, 2001)
    results = {}
    for dtype in (torch.float16, torch.float32):
        metric = SlicedWassersteinDistance(n, size, seed=0, descriptor_dtype=dtype)
        for chunk in real.split(256):
            metric.update(chunk, real=True)
        for chunk in fake.split(256):
            metric.update(chunk, real=False)
        results[dtype] = metric.compute().levels
        state_bytes = sum(v.numel() * v.element_size() for v in metric.metric_state.values())
        print(f"    {dtype}: state {state_bytes / 1e6:.1f} MB, levels {results[dtype].numpy()}")
    diff = (results[torch.float16] - results[torch.float32]).abs().max()
    print(f"    max |float16 - float32| over levels: {diff:.2e} (x1e3 units)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(
        f"{platform.processor() or platform.machine()}, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads, numpy {np.__version__}"
    )
    print("load average (1, 5, 15 min) at start: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    reference = load_reference()
    cases = [(64, 64), (32, 128)] if args.quick else [(512, 64), (256, 128)]
    for n, size in cases:
        throughput(reference, n, size, repeats=1 if args.quick else 3)
    noise_floor((64, 256) if args.quick else (256, 1024), pairs=2 if args.quick else 4)
    print("metric descriptor storage precision (real-vs-real at 64px):")
    storage_precision(64 if args.quick else 1024)
    print("load average (1, 5, 15 min) at end: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))


if __name__ == "__main__":
    main()
