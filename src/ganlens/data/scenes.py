"""Command line: render scenes of the scene world with label overlays and a legend to a PNG.

Usage: ``python -m ganlens.data.scenes --out grid.png`` (installed as ``ganlens-scenes``).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from ganlens.data.scene_world import LAYER_NAMES, SCENE_VOCABULARY, SceneWorld
from ganlens.data.visualize import scene_grid


def main(argv: Sequence[str] | None = None) -> Path:
    """Render a grid of scenes with label overlays and a legend; returns the PNG's path."""
    parser = argparse.ArgumentParser(
        prog="ganlens-scenes",
        description="Render scenes of the ganlens scene world with their label layers.",
    )
    parser.add_argument("--out", type=Path, default=Path("scenes.png"), help="PNG file to write.")
    parser.add_argument("--count", type=int, default=8, help="Number of scenes (columns).")
    parser.add_argument("--resolution", type=int, default=64, help="Scene size in pixels (32-256).")
    parser.add_argument("--seed", type=int, default=0, help="World seed.")
    parser.add_argument("--start", type=int, default=0, help="Index of the first scene.")
    parser.add_argument(
        "--tile", type=int, default=160, help="Displayed size of each scene in pixels."
    )
    args = parser.parse_args(argv)
    if args.count < 1:
        parser.error(f"--count must be at least 1; got {args.count}")
    try:
        world = SceneWorld(args.resolution, args.seed)
    except ValueError as error:
        parser.error(str(error))
    scenes = [world[i] for i in range(args.start, args.start + args.count)]
    picture = scene_grid(scenes, SCENE_VOCABULARY, LAYER_NAMES, tile=args.tile)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    picture.save(args.out)
    print(f"wrote {args.count} scenes at {args.resolution}px with label overlays to {args.out}")
    return Path(args.out)


if __name__ == "__main__":
    main()
