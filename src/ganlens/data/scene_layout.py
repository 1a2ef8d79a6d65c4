"""Random layouts of the scene world, in resolution-free coordinates.

A layout is pure geometry and colour: x runs from 0 (left) to 1 (right) and y from 0 (top) to 1
(bottom). :mod:`ganlens.data.scene_render` rasterises it at any resolution. Layouts obey the rules
a generator has to learn (the context rules behind the paper's section 4.4):

* clouds lie wholly above the horizon; mountains rise from the horizon;
* water is a lake band directly below the horizon; a road is a band across the ground;
* buildings stand on the ground (on the road's far edge when there is a road); doors touch the
  building's base line; windows lie inside the wall and never on a door; domes sit on flat roofs;
* trees stand on grass (never in the lake or on the road) and their crowns touch their trunks;
* farther things (base nearer the horizon) are smaller and drawn first.

(Over 300 lines: the layout rules a generator must learn read best in one place.)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

Color = tuple[float, float, float]
Box = tuple[float, float, float, float]  # (x0, y0, x1, y1), half-open


def _hsv(
    rng: np.random.Generator, h: tuple[float, float], s: tuple[float, float], v: tuple[float, float]
) -> Color:
    """A random colour from hue/saturation/value ranges (hue in degrees, may wrap past 360)."""
    hue = (rng.uniform(*h) % 360.0) / 60.0
    sat, val = rng.uniform(*s), rng.uniform(*v)
    sector, frac = int(hue), hue - int(hue)
    p, q, t = val * (1 - sat), val * (1 - sat * frac), val * (1 - sat * (1 - frac))
    rgb = [(val, t, p), (q, val, p), (p, val, t), (p, q, val), (t, p, val), (val, p, q)][sector]
    return (float(rgb[0]), float(rgb[1]), float(rgb[2]))


@dataclass
class Cloud:
    """A cloud: a cluster of ellipses ``(cx, cy, rx, ry)``."""

    puffs: list[tuple[float, float, float, float]]
    color: Color


@dataclass
class Mountains:
    """A mountain ridge rising from the horizon: peaks ``(x, height, half_width)``."""

    peaks: list[tuple[float, float, float]]
    color: Color
    snow: bool


@dataclass
class Building:
    """A building standing on its base line ``y1`` of ``wall`` = (x0, y0, x1, y1).

    ``roof`` is ``"flat"`` (a thin cornice band ``roof_height`` tall) or ``"pitched"`` (a triangle
    of that height). ``dome`` is ``(cx, rx, ry)`` on top of a flat roof, or ``None``.
    """

    wall: Box
    wall_color: Color
    brick: bool
    roof: str
    roof_height: float
    roof_color: Color
    dome: tuple[float, float, float] | None
    dome_color: Color
    door: Box | None
    door_color: Color
    windows: list[Box]
    window_color: Color
    frame_color: Color

    @property
    def base(self) -> float:
        """The y of the ground line the building stands on."""
        return self.wall[3]


@dataclass
class Tree:
    """A tree standing at ``(x, base)``: trunk box and crown ellipses ``(cx, cy, rx, ry)``."""

    x: float
    base: float
    trunk: Box
    crown: list[tuple[float, float, float, float]]
    conifer: bool
    trunk_color: Color
    foliage_color: Color


@dataclass
class SceneLayout:
    """Everything needed to render one scene, resolution-free."""

    horizon: float
    sky_top: Color
    sky_bottom: Color
    clouds: list[Cloud]
    mountains: Mountains | None
    grass_color: Color
    water: tuple[float, float] | None  # (y0, y1) band below the horizon
    water_color: Color
    road: tuple[float, float] | None  # (y0, y1) band
    road_color: Color
    buildings: list[Building] = field(default_factory=list)
    trees: list[Tree] = field(default_factory=list)
    light: tuple[float, float, float] = (1.0, 0.0, 0.0)  # (brightness, slope x, slope y)
    noise: float = 0.0
    texture_offset: tuple[float, float] = (0.0, 0.0)

    @property
    def ground_top(self) -> float:
        """The y where standable ground (grass) begins: below the lake when there is one."""
        return self.water[1] if self.water else self.horizon


def _sky(rng: np.random.Generator) -> tuple[Color, Color, Color]:
    """Sky top/bottom colours and a matching cloud colour: day, dusk or overcast."""
    kind = rng.choice(3, p=[0.6, 0.2, 0.2])
    if kind == 0:
        top = _hsv(rng, (200, 225), (0.45, 0.8), (0.65, 0.95))
        return (
            top,
            _hsv(rng, (190, 215), (0.1, 0.35), (0.85, 1.0)),
            _hsv(rng, (0, 360), (0, 0.05), (0.82, 0.9)),
        )
    if kind == 1:
        top = _hsv(rng, (230, 270), (0.35, 0.6), (0.35, 0.6))
        return (
            top,
            _hsv(rng, (15, 40), (0.45, 0.75), (0.85, 1.0)),
            _hsv(rng, (330, 360), (0.1, 0.3), (0.75, 0.88)),
        )
    grey = _hsv(rng, (190, 230), (0.02, 0.12), (0.55, 0.75))
    return (
        grey,
        _hsv(rng, (190, 230), (0.02, 0.1), (0.75, 0.9)),
        _hsv(rng, (0, 360), (0, 0.04), (0.8, 0.88)),
    )


def _clouds(rng: np.random.Generator, horizon: float, color: Color) -> list[Cloud]:
    clouds = []
    for _ in range(rng.choice(5, p=[0.2, 0.3, 0.25, 0.15, 0.1])):
        rx, ry = rng.uniform(0.05, 0.12), rng.uniform(0.02, 0.045)
        top_room = horizon - 0.03 - 2.2 * ry  # keep every puff strictly above the horizon
        if top_room <= 0.04:
            break
        cx, cy = rng.uniform(0.0, 1.0), rng.uniform(0.04 + ry, top_room)
        puffs = [(cx, cy, rx, ry)]
        for _ in range(rng.integers(2, 5)):
            prx, pry = rx * rng.uniform(0.4, 0.7), ry * rng.uniform(0.8, 1.2)
            puffs.append(
                (cx + rng.uniform(-0.8, 0.8) * rx, cy - rng.uniform(0.2, 0.9) * ry, prx, pry)
            )
        clouds.append(Cloud(puffs, color))
    return clouds


def _mountains(rng: np.random.Generator) -> Mountains:
    peaks = [
        (
            float(rng.uniform(-0.1, 1.1)),
            float(rng.uniform(0.06, 0.22)),
            float(rng.uniform(0.15, 0.4)),
        )
        for _ in range(rng.integers(1, 4))
    ]
    color = _hsv(rng, (200, 280), (0.1, 0.35), (0.35, 0.65))
    return Mountains(peaks, color, bool(rng.random() < 0.4))


def _finish_building(
    rng: np.random.Generator,
    wall: tuple[float, float, float, float],
    wall_color: Color,
    brick: bool,
    roof: str,
    roof_height: float,
    dome: tuple[float, float, float] | None,
    door: tuple[float, float, float, float] | None,
    windows: list[tuple[float, float, float, float]],
) -> Building:
    """A building from its geometry, drawing its remaining colours (shared by every framing)."""
    window_color = (
        _hsv(rng, (40, 55), (0.4, 0.7), (0.85, 1.0))
        if rng.random() < 0.25
        else _hsv(rng, (190, 230), (0.3, 0.6), (0.15, 0.45))
    )
    return Building(
        wall=wall,
        wall_color=wall_color,
        brick=brick,
        roof=roof,
        roof_height=roof_height,
        roof_color=_hsv(rng, (0, 30), (0.3, 0.7), (0.25, 0.55)),
        dome=dome,
        dome_color=_hsv(
            rng, (35, 55) if rng.random() < 0.5 else (150, 190), (0.4, 0.8), (0.55, 0.9)
        ),
        door=door,
        door_color=_hsv(rng, (0, 360) if rng.random() < 0.3 else (15, 35), (0.4, 0.8), (0.2, 0.5)),
        windows=windows,
        window_color=window_color,
        frame_color=_hsv(rng, (0, 360), (0.0, 0.1), (0.85, 1.0)),
    )


def _wall_material(rng: np.random.Generator) -> tuple[bool, Color]:
    """Brick (red-brown, 45% of walls) or plaster (pale, any hue), and the wall's colour."""
    brick = bool(rng.random() < 0.45)
    if brick:
        return brick, _hsv(rng, (5, 25), (0.5, 0.75), (0.45, 0.7))
    return brick, _hsv(rng, (20, 220), (0.05, 0.35), (0.6, 0.95))


def _building(rng: np.random.Generator, x0: float, width: float, base: float) -> Building:
    height = min(rng.uniform(0.16, 0.4), base - 0.14)
    wall = (x0, base - height, x0 + width, base)
    brick, wall_color = _wall_material(rng)
    roof = "flat" if rng.random() < 0.5 else "pitched"
    roof_height = rng.uniform(0.012, 0.02) if roof == "flat" else rng.uniform(0.05, 0.11)
    roof_height = min(roof_height, wall[1] - 0.02)
    dome = None
    if roof == "flat" and rng.random() < 0.55:
        rx = width * rng.uniform(0.2, 0.4)
        ry = min(rx * rng.uniform(0.7, 1.2), wall[1] - roof_height - 0.01)
        dome = (x0 + width / 2 + rng.uniform(-0.5, 0.5) * (width / 2 - rx), rx, ry)
    door = None
    if rng.random() < 0.9:
        door_w = max(0.03, width * rng.uniform(0.12, 0.22))
        door_h = min(max(0.05, height * rng.uniform(0.3, 0.45)), height - 0.03)
        door_x = rng.uniform(x0 + 0.15 * width, x0 + 0.85 * width - door_w)
        door = (door_x, base - door_h, door_x + door_w, base)
    return _finish_building(rng, wall, wall_color, brick, roof, roof_height, dome, door,
                            _windows(rng, wall, door))  # fmt: skip


def _windows(
    rng: np.random.Generator,
    wall: Box,
    door: Box | None,
    cell: tuple[float, float, float, float] = (0.05, 0.09, 0.06, 0.1),
) -> list[Box]:
    """A regular grid of windows inside the wall, skipping cells that would touch the door.

    ``cell`` bounds the grid's cell width and height: ``(w_lo, w_hi, h_lo, h_hi)``.
    """
    x0, y0, x1, y1 = wall
    cols = max(1, int((x1 - x0) / rng.uniform(cell[0], cell[1])))
    rows = max(1, int((y1 - y0) / rng.uniform(cell[2], cell[3])))
    cell_w, cell_h = (x1 - x0) / cols, (y1 - y0) / rows
    fill_w, fill_h = rng.uniform(0.45, 0.65), rng.uniform(0.45, 0.6)
    windows = []
    for r in range(rows):
        for c in range(cols):
            wx0 = x0 + (c + (1 - fill_w) / 2) * cell_w
            wy0 = y0 + (r + (1 - fill_h) / 2) * cell_h
            box = (wx0, wy0, wx0 + fill_w * cell_w, wy0 + fill_h * cell_h)
            if (
                door
                and box[0] < door[2] + 0.01
                and box[2] > door[0] - 0.01
                and box[3] > door[1] - 0.01
            ):
                continue
            if box[3] > y1 - 0.015:  # keep a sill of wall below every window
                continue
            windows.append(box)
    return windows


def _tree(rng: np.random.Generator, x: float, base: float, scale: float) -> Tree:
    trunk_w, trunk_h = rng.uniform(0.012, 0.028) * scale, rng.uniform(0.04, 0.1) * scale
    trunk = (x - trunk_w / 2, base - trunk_h, x + trunk_w / 2, base)
    radius = rng.uniform(0.045, 0.1) * scale
    conifer = bool(rng.random() < 0.3)
    if conifer:  # stacked flattened ellipses narrowing upwards
        crown = [
            (x, base - trunk_h - (0.5 + 0.9 * i) * radius, radius * (1 - 0.25 * i), radius * 0.7)
            for i in range(3)
        ]
    else:
        cy = base - trunk_h - 0.75 * radius  # crown overlaps the trunk top: nothing floats
        crown = [(x, cy, radius, radius * rng.uniform(0.85, 1.1))]
        for _ in range(rng.integers(2, 5)):
            r = radius * rng.uniform(0.5, 0.75)
            crown.append(
                (x + rng.uniform(-0.7, 0.7) * radius, cy + rng.uniform(-0.6, 0.2) * radius, r, r)
            )
    foliage = (
        _hsv(rng, (20, 45), (0.6, 0.9), (0.5, 0.8))
        if rng.random() < 0.15
        else _hsv(rng, (85, 140), (0.45, 0.8), (0.2, 0.5))
    )
    return Tree(
        x, base, trunk, crown, conifer, _hsv(rng, (15, 35), (0.4, 0.7), (0.2, 0.4)), foliage
    )


def _free_ground(layout: SceneLayout, margin: float) -> list[tuple[float, float]]:
    """Intervals of y on grass, at least ``margin`` from the lake and the road, for trees."""
    top = layout.ground_top + margin
    if layout.road is None:
        return [(top, 0.98)]
    bands = [(top, layout.road[0] - margin), (layout.road[1] + margin, 0.98)]
    return [(lo, hi) for lo, hi in bands if hi > lo]


def _scenery(
    rng: np.random.Generator,
    horizon: float,
    *,
    water_chance: float,
    water_depth: tuple[float, float],
    mountain_chance: float,
) -> SceneLayout:
    """Sky, clouds, mountains, lake, colours and lighting of a scene; no buildings or trees yet.

    Shared by every framing; the order of the draws from ``rng`` is part of each world's
    determinism.
    """
    sky_top, sky_bottom, cloud_color = _sky(rng)
    lake = rng.random() < water_chance
    water = (horizon, horizon + float(rng.uniform(*water_depth))) if lake else None
    return SceneLayout(
        horizon=horizon,
        sky_top=sky_top,
        sky_bottom=sky_bottom,
        clouds=_clouds(rng, horizon, cloud_color),
        mountains=_mountains(rng) if rng.random() < mountain_chance else None,
        grass_color=_hsv(rng, (60, 130), (0.4, 0.75), (0.35, 0.7)),
        water=water,
        water_color=_hsv(rng, (195, 225), (0.4, 0.75), (0.3, 0.6)),
        road=None,
        road_color=_hsv(rng, (0, 360), (0.0, 0.08), (0.25, 0.45)),
        light=(
            float(rng.uniform(0.85, 1.1)),
            float(rng.uniform(-0.25, 0.25)),
            float(rng.uniform(-0.15, 0.15)),
        ),
        noise=float(rng.uniform(0.005, 0.03)),
        texture_offset=(float(rng.uniform(0, 1)), float(rng.uniform(0, 1))),
    )


def sample_layout(rng: np.random.Generator) -> SceneLayout:
    """Draw one random scene layout.

    Args:
        rng: The random generator; the layout depends on nothing else.

    Returns:
        A :class:`SceneLayout` obeying the module's layout rules.

    Example:
        >>> layout = sample_layout(np.random.default_rng(0))
        >>> 0.35 < layout.horizon < 0.6 and all(
        ...     y + ry < layout.horizon for c in layout.clouds for _, y, _, ry in c.puffs)
        True
    """
    horizon = float(rng.uniform(0.38, 0.56))
    layout = _scenery(rng, horizon, water_chance=0.35, water_depth=(0.04, 0.1), mountain_chance=0.5)
    if rng.random() < 0.5:
        road_top = float(rng.uniform(layout.ground_top + 0.12, 0.8))
        layout.road = (road_top, min(0.97, road_top + float(rng.uniform(0.06, 0.12))))
    for _ in range(rng.choice(4, p=[0.15, 0.35, 0.3, 0.2])):
        width = float(rng.uniform(0.14, 0.34))
        base = layout.road[0] if layout.road else float(rng.uniform(layout.ground_top + 0.06, 0.9))
        layout.buildings.append(_building(rng, float(rng.uniform(0.0, 1.0 - width)), width, base))
    intervals = _free_ground(layout, 0.03)
    for _ in range(rng.choice(6, p=[0.2, 0.2, 0.2, 0.2, 0.1, 0.1]) if intervals else 0):
        lo, hi = intervals[rng.integers(len(intervals))]
        base = float(rng.uniform(lo, hi))
        scale = 0.6 + 0.8 * (base - horizon) / (1.0 - horizon)  # nearer is larger
        layout.trees.append(_tree(rng, float(rng.uniform(0.02, 0.98)), base, scale))
    return layout
