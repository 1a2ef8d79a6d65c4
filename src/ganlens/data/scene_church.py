"""The "church" framing of the scene world: one large building, trees at its sides, sky above.

LSUN churches (the data GAN Dissection studies most, Bau et al. 2019, section 3) frame one
building that fills about a third of the picture. The default framing of the scene world shows a
wide landscape where buildings cover about a tenth of the pixels, so at 64 px a door is 3x6 px.
This framing keeps every rule of :mod:`ganlens.data.scene_layout` and changes only the framing:

* exactly one building, horizontally near the centre, wall 56-74% of the frame wide and 40-52%
  tall, standing on the ground (on the road's far edge when there is a road); on average it
  covers 30-40% of the frame once trees have hidden part of it;
* its door touches the base line near the wall's centre; its windows form a coarse grid of larger
  cells inside the wall, never on the door; a dome sits only on a flat roof;
* one to four trees stand on grass at the building's sides (centre left of the wall's left edge +
  0.05 or right of its right edge - 0.05), larger than in the default framing;
* the roof's top stays below 12% of the frame height, so there is always sky above the building.
"""

from __future__ import annotations

import numpy as np

from ganlens.data.scene_layout import (
    Building,
    SceneLayout,
    _finish_building,
    _free_ground,
    _scenery,
    _tree,
    _wall_material,
    _windows,
)

__all__ = ["sample_church_layout"]

CHURCH_WINDOW_CELL = (0.1, 0.16, 0.12, 0.18)  # window grid cells: width range, height range


def _church(rng: np.random.Generator, base: float) -> Building:
    """The one building of a church-framed scene, standing on ``base``."""
    width, height = float(rng.uniform(0.56, 0.74)), float(rng.uniform(0.4, 0.52))
    x0 = float(np.clip(0.5 - width / 2 + rng.uniform(-0.06, 0.06), 0.02, 0.98 - width))
    wall = (x0, base - height, x0 + width, base)
    brick, wall_color = _wall_material(rng)
    flat = bool(rng.random() < 0.4)
    roof_height = float(rng.uniform(0.015, 0.025) if flat else rng.uniform(0.1, 0.18))
    roof_height = min(roof_height, wall[1] - 0.12)  # the roof's top stays below y = 0.12
    dome = None
    if flat and rng.random() < 0.7:
        rx = width * float(rng.uniform(0.18, 0.3))
        ry = min(rx * float(rng.uniform(0.7, 1.1)), wall[1] - roof_height - 0.12)
        dome = (x0 + width / 2 + float(rng.uniform(-0.3, 0.3)) * (width / 2 - rx), rx, ry)
    door_w, door_h = width * float(rng.uniform(0.12, 0.18)), height * float(rng.uniform(0.35, 0.5))
    door_x = x0 + width / 2 + float(rng.uniform(-0.15, 0.15)) * width - door_w / 2
    door = (door_x, base - door_h, door_x + door_w, base)
    windows = _windows(rng, wall, door, CHURCH_WINDOW_CELL)
    roof = "flat" if flat else "pitched"
    return _finish_building(rng, wall, wall_color, brick, roof, roof_height, dome, door, windows)


def sample_church_layout(rng: np.random.Generator) -> SceneLayout:
    """Draw one church-framed layout (see the module docstring for its rules).

    Args:
        rng: The random generator; the layout depends on nothing else.

    Returns:
        A :class:`~ganlens.data.scene_layout.SceneLayout` with exactly one building.

    Example:
        >>> layout = sample_church_layout(np.random.default_rng(0))
        >>> len(layout.buildings), 0.5 <= layout.buildings[0].wall[2] - layout.buildings[0].wall[0]
        (1, True)
    """
    horizon = float(rng.uniform(0.5, 0.64))
    layout = _scenery(rng, horizon, water_chance=0.2, water_depth=(0.03, 0.07), mountain_chance=0.3)
    base = float(rng.uniform(0.8, 0.9))
    if rng.random() < 0.4:
        layout.road = (base, min(0.99, base + float(rng.uniform(0.05, 0.09))))
    church = _church(rng, base)
    layout.buildings.append(church)
    x0, _, x1, _ = church.wall
    intervals = _free_ground(layout, 0.03)
    for i in range(int(rng.choice(4, p=[0.15, 0.35, 0.3, 0.2])) + 1 if intervals else 0):
        lo, hi = intervals[rng.integers(len(intervals))]
        tree_base = float(rng.uniform(lo, hi))
        left = (i % 2 == 0) == (rng.random() < 0.5)
        x = (
            rng.uniform(0.02, max(0.03, x0 + 0.05))
            if left
            else rng.uniform(min(0.97, x1 - 0.05), 0.98)
        )
        scale = 1.1 + 0.7 * (tree_base - horizon) / (1.0 - horizon)  # nearer is larger
        layout.trees.append(_tree(rng, float(x), tree_base, scale))
    return layout
