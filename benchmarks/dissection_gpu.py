"""Dissection cost against the forward passes it needs, on a GPU (or any device): issue 14's table.

A ProgGAN of the LSUN-256 layout (``fmap_base=8192, fmap_max=512``: 23,036,995 parameters with a
final-only to-RGB block; random weights) is dissected with the shipped scene segmenter at
``--resolution`` px, ``--count`` probe and as many held-out latents, for each layer set and
threshold mode. Each :func:`ganlens.dissect.dissect` run is compared with the generator and
segmenter calls of the same passes, timed alone:

* ``quantile``: generator over the threshold (held-out) set, generator + segmenter over the probe;
* ``iqr``: generator over the held-out set, then generator + segmenter over it and over the probe.

Peak memory is ``torch.cuda.max_memory_allocated`` on CUDA, the process's peak resident set on CPU.

    python benchmarks/dissection_gpu.py --device cuda
    python benchmarks/dissection_gpu.py --device cpu --count 16 --batch 8 --resolution 64
        --image_resolution 64 --fmap_base 512 --fmap_max 64   (one line: a small CPU check)
"""

from __future__ import annotations

import platform
import resource
import time
from collections.abc import Callable

import torch
from jsonargparse import auto_cli

from ganlens.dissect import dissect
from ganlens.models import ProgressiveGenerator
from ganlens.segment import load_scene_segmenter


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _seconds(function: Callable[[], object], device: torch.device) -> float:
    _synchronize(device)
    start = time.perf_counter()
    function()
    _synchronize(device)
    return time.perf_counter() - start


def _peak_gib(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**30
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # kB -> GiB (Linux)


def main(
    device: str = "cuda",
    count: int = 1024,
    batch: int = 64,
    resolution: int = 128,
    image_resolution: int = 256,
    fmap_base: int = 8192,
    fmap_max: int = 512,
    layer_sets: tuple[str, ...] = ("layer4", "layer4,layer6,layer8"),
    modes: tuple[str, ...] = ("quantile", "iqr"),
    seed: int = 0,
) -> None:
    """Print the table: dissect() seconds against the same passes' forward seconds.

    Args:
        device: ``cuda``, ``cuda:1``, ``cpu``, ...
        count: Probe latents, and as many held-out latents.
        batch: Samples per forward pass.
        resolution: Segmentation resolution S.
        image_resolution: Generator resolution R (256: the LSUN layout).
        fmap_base: Channel schedule numerator of the generator.
        fmap_max: Channel cap of the generator.
        layer_sets: Comma-separated layer names, one dissection per entry and mode.
        modes: Threshold modes to run.
        seed: Seed of the random weights and latents.
    """
    where = torch.device(device)
    torch.manual_seed(seed)
    generator = ProgressiveGenerator(
        image_resolution, 512, fmap_base=fmap_base, fmap_max=fmap_max, rgb_outputs="final"
    )
    generator = generator.eval().requires_grad_(False).to(where)
    segmenter = load_scene_segmenter(where)
    latents = torch.randn(2 * count, 512, generator=torch.Generator().manual_seed(seed))
    probe, held_out = latents[:count], latents[count:]
    parameters = sum(p.numel() for p in generator.parameters())
    name = torch.cuda.get_device_name(where) if where.type == "cuda" else platform.processor()
    print(
        f"{name or platform.machine()}, torch {torch.__version__}, {torch.get_num_threads()} "
        f"CPU threads; generator {image_resolution} px, {parameters:,} parameters; segmenter "
        f"at {resolution} px; {count} probe + {count} held-out latents, batch {batch}"
    )

    def passes(segment: bool) -> None:
        with torch.no_grad():
            for z in torch.split(probe, batch):
                images = generator(z.to(where)).clamp(-1, 1)
                if segment:
                    segmenter.segment(images, resolution)

    def run(layers: list[str], mode: str, latents_probe: torch.Tensor) -> None:
        dissect(generator, layers, segmenter, latents_probe, held_out[: len(latents_probe)],
                batch_size=batch, threshold_mode=mode, resolution=resolution)  # fmt: skip

    run(["layer4"], "iqr", probe[: 2 * batch])  # warm-up: kernels, allocator, caches
    passes(True)
    generate = _seconds(lambda: passes(False), where)  # one pass over `count` images
    both = _seconds(lambda: passes(True), where)
    print(f"generator alone over {2 * count} images: {2 * generate:.2f} s; generator + "
          f"segmenter: {generate + both:.2f} s\n")  # fmt: skip
    forward = {"quantile": generate + both, "iqr": generate + 2 * both}
    print("| layers | mode | dissect() s | generator + segmenter for the same passes s | ratio "
          "| peak memory GiB |\n|---|---|---:|---:|---:|---:|")  # fmt: skip
    for layer_set in layer_sets:
        layers = [layer.strip() for layer in layer_set.split(",")]
        for mode in modes:
            if where.type == "cuda":
                torch.cuda.reset_peak_memory_stats(where)
            seconds = _seconds(lambda: run(layers, mode, probe), where)  # noqa: B023
            ratio, peak = seconds / forward[mode], _peak_gib(where)
            print(f"| {', '.join(layers)} | {mode} | {seconds:.2f} | {forward[mode]:.2f} | "
                  f"{ratio:.2f} | {peak:.1f} |", flush=True)  # fmt: skip


if __name__ == "__main__":
    auto_cli(main)
