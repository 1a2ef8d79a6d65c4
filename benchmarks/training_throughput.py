"""ProgGAN training throughput: real images per second for one critic + one generator step.

Run: ``.venv/bin/python benchmarks/training_throughput.py [--device cuda] [--config NAME]
[--bf16] [--channels-last] [--batch N]``. Each resolution of the chosen network is timed at alpha
0.5 (both fade paths run) on random images, excluding data loading; the figure is the best of
several repeats. ``--bf16`` runs the step under bf16 autocast (as ``precision: bf16-mixed``);
``--channels-last`` stores weights and images NHWC (as ``model.channels_last``); the batch is each
phase's batch of the network's config unless ``--batch`` overrides it.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import time

import torch

from ganlens.training import GrowthPhase, ProgressiveGAN
from ganlens.training.losses import critic_loss, generator_loss, gradient_penalty

NETWORKS = {  # name: (final resolution, latent size, fmap_base, fmap_max, batch size per phase)
    "tiny_cpu": (16, 32, 128, 32, (16, 16, 16)),
    "scene_cpu_32": (32, 128, 512, 128, (32,) * 4),
    "scene_cpu_64": (64, 128, 512, 128, (32,) * 5),
    "scene_cpu_64_narrow": (64, 128, 256, 128, (32,) * 5),
    "scene_gpu_64": (64, 256, 2048, 256, (256, 256, 256, 128, 128)),
    "scene_gpu_128": (128, 512, 4096, 512, (64, 64, 64, 64, 32, 32)),
    "lsun_256": (256, 512, 8192, 512, (16,) * 7),
}


def step_seconds(
    gan: ProgressiveGAN,
    resolution: int,
    batch: int,
    repeats: int,
    bf16: bool = False,
    channels_last: bool = False,
) -> float:
    generator, critic = gan.generator, gan.discriminator
    opt_g = torch.optim.Adam(generator.parameters(), 1e-3, (0.0, 0.99))
    opt_d = torch.optim.Adam(critic.parameters(), 1e-3, (0.0, 0.99))
    device = next(generator.parameters()).device
    real = torch.randn(batch, 3, resolution, resolution, device=device)
    if channels_last:
        real = real.contiguous(memory_format=torch.channels_last)

    def autocast() -> contextlib.AbstractContextManager[None]:
        if not bf16:
            return contextlib.nullcontext()
        return torch.autocast(device.type, dtype=torch.bfloat16)

    def step() -> None:
        with autocast():
            _step()

    def _step() -> None:
        z = torch.randn(batch, generator.latent_size, device=device)
        with torch.no_grad():
            fake = generator(z, resolution, 0.5)
        score = lambda x: critic(x, alpha=0.5)  # noqa: E731
        penalty = gradient_penalty(score, real, fake, torch.rand(batch, device=device))
        loss = critic_loss(score(real), score(fake), penalty, 10.0, 0.001)
        opt_d.zero_grad()
        loss.backward()
        opt_d.step()
        opt_g.zero_grad()
        generator_loss(score(generator(z, resolution, 0.5))).backward()
        opt_g.step()

    step()
    best = float("inf")
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--config", default="scene_cpu_32", choices=sorted(NETWORKS),
                        help="which network to time")  # fmt: skip
    parser.add_argument("--repeats", type=int, default=3, help="timed steps per resolution")
    parser.add_argument("--bf16", action="store_true", help="bf16 autocast")
    parser.add_argument("--channels-last", action="store_true", help="NHWC weights and images")
    parser.add_argument("--batch", type=int, default=None, help="one batch size for all phases")
    args = parser.parse_args()
    final, latent, base, cap, batches = NETWORKS[args.config]
    phases = [GrowthPhase(4, 0, 1)]
    while phases[-1].resolution < final:
        phases.append(GrowthPhase(phases[-1].resolution * 2, 1, 1))
    gan = ProgressiveGAN(final, latent, base, cap, phases).to(args.device)
    if args.channels_last:
        gan = gan.to(memory_format=torch.channels_last)
    if args.device.startswith("cuda"):
        torch.backends.cudnn.benchmark = True
        print(torch.cuda.get_device_name())
    threads = torch.get_num_threads()
    print(f"{args.config} on {args.device} ({os.cpu_count()} cores, {threads} torch threads), "
          f"bf16 {args.bf16}, channels_last {args.channels_last}, "
          f"torch {torch.__version__}")  # fmt: skip
    print("| resolution | batch | ms/step | images/s |")
    print("|---:|---:|---:|---:|")
    for phase, batch in zip(phases, batches, strict=True):
        batch = args.batch or batch
        seconds = step_seconds(
            gan, phase.resolution, batch, args.repeats, args.bf16, args.channels_last
        )
        print(f"| {phase.resolution} | {batch} | {1000 * seconds:.0f} | {batch / seconds:.0f} |")


if __name__ == "__main__":
    main()
