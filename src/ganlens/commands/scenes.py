"""``ganlens scenes``: render scenes of the scene world with label overlays and a legend."""

from __future__ import annotations

from dataclasses import dataclass

from ganlens.options import Settings, check_output, check_positive

__all__ = ["ScenesSettings", "run_scenes_command"]


@dataclass(frozen=True, kw_only=True)
class ScenesSettings(Settings):
    """Render scenes of the ganlens scene world with their label layers to a PNG.

    Args:
        out: PNG file to write.
        count: Number of scenes (columns).
        resolution: Scene size in pixels, 16 to 1024 (32 to 256 tested).
        seed: World seed.
        start: Index of the first scene.
        tile: Displayed size of each scene in pixels.
    """

    out: str = "scenes.png"
    count: int = 8
    resolution: int = 64
    seed: int = 0
    start: int = 0
    tile: int = 160

    def check(self) -> None:
        """Check the values before rendering."""
        from ganlens.data.scene_world import MAX_RESOLUTION, MIN_RESOLUTION

        check_positive(count=self.count, resolution=self.resolution, tile=self.tile)
        if not MIN_RESOLUTION <= self.resolution <= MAX_RESOLUTION:
            raise ValueError(f"--resolution must lie in [{MIN_RESOLUTION}, {MAX_RESOLUTION}] "
                             f"(32 to 256 tested); got {self.resolution}")  # fmt: skip
        if self.start < 0:
            raise ValueError(f"--start must be 0 or more; got {self.start}")
        check_output("out", self.out, folder=False)


def run_scenes_command(settings: ScenesSettings) -> int:
    """Render the grid; returns the exit status.

    Example:
        >>> import tempfile
        >>> out = f"{tempfile.mkdtemp()}/grid.png"
        >>> run_scenes_command(ScenesSettings(out=out, count=2, resolution=32, tile=32))
        wrote 2 scenes at 32px with label overlays to ...grid.png
        0
    """
    from pathlib import Path

    from ganlens.data.scene_world import LAYER_NAMES, SCENE_VOCABULARY, SceneWorld
    from ganlens.data.visualize import scene_grid

    world = SceneWorld(settings.resolution, settings.seed)
    scenes = [world[i] for i in range(settings.start, settings.start + settings.count)]
    picture = scene_grid(scenes, SCENE_VOCABULARY, LAYER_NAMES, tile=settings.tile)
    out = Path(settings.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    picture.save(out)
    print(f"wrote {settings.count} scenes at {settings.resolution}px with label overlays to {out}")
    return 0
