"""SWD of the shipped scene generator against real scenes, beside the real-against-real floor.

Run: ``.venv/bin/python benchmarks/scene_model_quality.py [--count 1024] [--generator SOURCE]
[--framing church]``. Real sets are disjoint index ranges of a world seed the generator never
trained on (seed 12345; it trained on seed 0), at the generator's resolution, in the framing it
trained on (the shipped 64 px model: church; ``scene32``: default). Also writes a sample grid if
``--grid``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
import torch.nn.functional as F
from torchvision.utils import make_grid, save_image

from ganlens.data import SceneWorld
from ganlens.functional import sliced_wasserstein_distance
from ganlens.sources import load_generator


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=1024, help="images per set (N)")
    parser.add_argument("--generator", default="scene", help="generator source (ganlens units)")
    parser.add_argument("--framing", default="church", choices=["default", "church"],
                        help="the real scenes' framing (the generator's)")  # fmt: skip
    parser.add_argument("--grid", type=Path, help="also write an 8x8 sample grid PNG here")
    parser.add_argument("--seed", type=int, default=0, help="seed of latents and SWD randomness")
    args = parser.parse_args()
    generator = load_generator(args.generator)
    resolution, n = generator.resolution, args.count
    world = SceneWorld(resolution, seed=12345, framing=args.framing)
    real_a = world.batch(range(n))[0]
    real_b = world.batch(range(n, 2 * n))[0]
    z = torch.randn(n, generator.latent_size, generator=torch.Generator().manual_seed(args.seed))
    with torch.no_grad():
        fake = torch.cat([generator(chunk) for chunk in z.split(256)]).clamp(-1, 1)
    model = sliced_wasserstein_distance(real_a, fake, seed=args.seed)
    floor = sliced_wasserstein_distance(real_a, real_b, seed=args.seed)
    levels = " | ".join(f"{r} px" for r in model.resolutions)
    print(f"SWD x1e3 at N = {n}, {resolution} px, {args.framing} framing (levels highest first)")
    print(f"| set | {levels} | mean |")
    print("|---|" + "---:|" * (len(model.resolutions) + 1))
    for name, result in [("generator vs real", model), ("real vs real (floor)", floor)]:
        values = " | ".join(f"{v:.2f}" for v in result.levels.tolist())
        print(f"| {name} | {values} | {result.mean.item():.2f} |")
    if args.grid:
        shown = F.interpolate(fake[:64] * 0.5 + 0.5, scale_factor=2, mode="nearest")
        save_image(make_grid(shown, nrow=8, padding=2, pad_value=1.0), args.grid)
        print(f"wrote {args.grid}")


if __name__ == "__main__":
    main()
