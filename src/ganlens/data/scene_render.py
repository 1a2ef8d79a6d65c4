"""Rasterise a :class:`~ganlens.data.scene_layout.SceneLayout` at any resolution.

Every shape is tested at pixel centres ``((i + 0.5) / R)``, so the same layout rendered at R and at
3R agrees exactly on the shared centres, and labels never shift with resolution. Painting goes back
to front; each paint writes all label layers, so a tree in front of a brick wall clears "brick".
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from ganlens.data.scene_layout import Building, Color, SceneLayout, Tree
from ganlens.data.vocabulary import LAYER_NAMES, SCENE_VOCABULARY

_ID = {name: SCENE_VOCABULARY.index(name) for name in SCENE_VOCABULARY.names[1:]}


@lru_cache(maxsize=1)
def _noise_texture(size: int = 256) -> np.ndarray:
    """A fixed, tileable value-noise texture with unit variance: the source of all surface grain."""
    rng = np.random.default_rng(20190101)
    total = np.zeros((size, size), np.float32)
    for cells, weight in [(8, 1.0), (16, 0.7), (32, 0.5), (64, 0.35)]:
        grid = rng.standard_normal((cells, cells)).astype(np.float32)
        pos = np.arange(size, dtype=np.float32) * cells / size
        i0 = pos.astype(int)
        frac = (pos - i0)[:, None]
        rows = grid[i0] * (1 - frac) + grid[(i0 + 1) % cells] * frac  # [size, cells]
        frac_c = frac.T
        total += weight * (rows[:, i0] * (1 - frac_c) + rows[:, (i0 + 1) % cells] * frac_c)
    normalised: np.ndarray = (total - total.mean()) / total.std()
    return normalised


@lru_cache(maxsize=1)
def _noise_bank(size: int = 1 << 22) -> np.ndarray:
    """Fixed standard-normal samples; a scene's sensor noise is a random window of it.

    Slicing a bank costs nothing, while drawing fresh normals was a tenth of the render time.
    """
    return np.random.default_rng(20190102).standard_normal(size, dtype=np.float32)


@lru_cache(maxsize=64)
def _label_values(labels: tuple[str, str, str]) -> np.ndarray:
    return np.array([_ID.get(name, 0) for name in labels], np.uint8)


class _Canvas:
    """An RGB float image and its label layers, plus pixel-centre coordinates."""

    def __init__(self, resolution: int, texture_offset: tuple[float, float]) -> None:
        self.size = resolution
        self.centres = ((np.arange(resolution) + 0.5) / resolution).astype(np.float32)
        self.image = np.zeros((resolution, resolution, 3), np.float32)  # [H, W, 3]
        self.labels = np.zeros((len(LAYER_NAMES), resolution, resolution), np.uint8)  # [K, H, W]
        self.offset = texture_offset

    def span(self, lo: float, hi: float) -> slice:
        """Pixel indices whose centres lie in ``[lo, hi)``."""
        first = min(max(math.ceil(lo * self.size - 0.5), 0), self.size)
        last = min(max(math.ceil(hi * self.size - 0.5), 0), self.size)
        return slice(first, max(first, last))

    def grid(self, rows: slice, cols: slice) -> tuple[np.ndarray, np.ndarray]:
        """Centre coordinates ``y [h, 1]`` and ``x [1, w]`` of a block of pixels."""
        return self.centres[rows, None], self.centres[None, cols]

    def texture(self, rows: slice, cols: slice, frequency: float) -> np.ndarray:
        """Surface grain for a block, ``[h, w]``; ``frequency`` is texture tiles per image."""
        tex = _noise_texture()
        n = tex.shape[0]
        ty = ((self.centres[rows] * frequency + self.offset[0]) * n).astype(np.int64) % n
        tx = ((self.centres[cols] * frequency + self.offset[1]) * n).astype(np.int64) % n
        grain: np.ndarray = tex[ty[:, None], tx[None, :]]
        return grain

    def paint(
        self,
        rows: slice,
        cols: slice,
        mask: np.ndarray | None,
        color: np.ndarray,
        labels: tuple[str, str, str],
    ) -> None:
        """Paint ``color`` (``[3]`` or ``[h, w, 3]``) and ``labels`` where ``mask`` holds."""
        values = _label_values(labels)
        target = self.image[rows, cols]
        layers = self.labels[:, rows, cols]
        if mask is None:
            target[...] = color
            layers[...] = values[:, None, None]
        else:
            np.copyto(target, color, where=mask[..., None])
            layers[:, mask] = values[:, None]

    def shaded(
        self, rows: slice, cols: slice, color: Color, amount: float, frequency: float
    ) -> np.ndarray:
        """``color`` modulated by texture grain: ``[h, w, 3]``."""
        grain = 1.0 + amount * self.texture(rows, cols, frequency)
        return np.asarray(color, np.float32) * grain[..., None]


def _ellipses(
    canvas: _Canvas, ellipses: list[tuple[float, float, float, float]]
) -> tuple[slice, slice, np.ndarray]:
    """The union of ellipses ``(cx, cy, rx, ry)`` as a mask over their common bounding box."""
    rows = canvas.span(
        min(cy - ry for _, cy, _, ry in ellipses), max(cy + ry for _, cy, _, ry in ellipses)
    )
    cols = canvas.span(
        min(cx - rx for cx, _, rx, _ in ellipses), max(cx + rx for cx, _, rx, _ in ellipses)
    )
    y, x = canvas.grid(rows, cols)
    mask = np.zeros((y.shape[0], x.shape[1]), bool)
    for cx, cy, rx, ry in ellipses:
        mask |= ((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2 < 1.0
    return rows, cols, mask


def _boxes_mask(y: np.ndarray, x: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Union of axis-aligned boxes ``[n, 4]`` over centres ``y [h]``, ``x [w]``: ``[h, w]``.

    Boxes are separable, so the union is a product of per-axis memberships summed over boxes.
    """
    inside_y = ((y[:, None] >= boxes[:, 1]) & (y[:, None] < boxes[:, 3])).astype(np.float32)
    inside_x = ((x[:, None] >= boxes[:, 0]) & (x[:, None] < boxes[:, 2])).astype(np.float32)
    union: np.ndarray = (inside_y @ inside_x.T) > 0  # [h, n] @ [n, w]
    return union


def _paint_backdrop(canvas: _Canvas, layout: SceneLayout) -> None:
    """Sky, clouds, mountains, then the ground bands (grass, lake, road)."""
    horizon = layout.horizon
    rows = canvas.span(0.0, horizon)
    y = canvas.centres[rows, None, None] / horizon
    sky = np.asarray(layout.sky_top) * (1 - y) + np.asarray(layout.sky_bottom) * y  # [h, 1, 3]
    canvas.paint(rows, slice(None), None, sky, ("sky", "", ""))
    for cloud in layout.clouds:
        r, c, mask = _ellipses(canvas, cloud.puffs)
        cy, ry = cloud.puffs[0][1], cloud.puffs[0][3]
        shade = 1.0 - 0.12 * np.clip((canvas.grid(r, c)[0] - cy) / ry, 0, 1)  # darker undersides
        color = canvas.shaded(r, c, cloud.color, 0.05, 5.0) * shade[..., None]
        canvas.paint(r, c, mask, color, ("cloud", "", ""))
    if layout.mountains is not None:
        mountains = layout.mountains
        top = max(height for _, height, _ in mountains.peaks)
        rows = canvas.span(horizon - top, horizon)
        y, x = canvas.grid(rows, slice(None))
        ridge = np.zeros_like(x)
        for px, height, half in mountains.peaks:
            ridge = np.maximum(ridge, height * np.clip(1 - np.abs(x - px) / half, 0, 1))
        color = canvas.shaded(rows, slice(None), mountains.color, 0.12, 2.0)
        if mountains.snow:
            snowy = ((horizon - y) > 0.75 * ridge) & (ridge > 0.1)
            color = np.where(snowy[..., None], np.float32(0.93), color)
        canvas.paint(rows, slice(None), (y >= horizon - ridge), color, ("mountain", "", ""))
    rows = canvas.span(horizon, 1.0)
    depth = (canvas.centres[rows, None] - horizon) / (1 - horizon)  # 0 far .. 1 near
    grass = canvas.shaded(rows, slice(None), layout.grass_color, 0.14, 3.0)
    canvas.paint(
        rows, slice(None), None, grass * (0.85 + 0.25 * depth[..., None]), ("grass", "", "")
    )
    if layout.water is not None:
        rows = canvas.span(*layout.water)
        y = canvas.centres[rows, None]
        ripple = 1.0 + 0.07 * np.sin(y * 260.0) + 0.05 * canvas.texture(rows, slice(None), 6.0)
        water = 0.7 * np.asarray(layout.water_color) + 0.3 * np.asarray(layout.sky_bottom)
        canvas.paint(rows, slice(None), None, water * ripple[..., None], ("water", "", ""))
    if layout.road is not None:
        y0, y1 = layout.road
        rows = canvas.span(y0, y1)
        color = canvas.shaded(rows, slice(None), layout.road_color, 0.08, 8.0)
        y, x = canvas.grid(rows, slice(None))
        dash = (np.abs(y - (y0 + y1) / 2) < 0.006) & ((x * 7.0) % 1.0 < 0.5)
        color = np.where(dash[..., None], np.array([0.9, 0.85, 0.5], np.float32), color)
        canvas.paint(rows, slice(None), None, color, ("road", "", ""))


def _paint_building(canvas: _Canvas, b: Building) -> None:
    x0, y0, x1, y1 = b.wall
    rows, cols = canvas.span(y0, y1), canvas.span(x0, x1)
    color = canvas.shaded(rows, cols, b.wall_color, 0.06, 4.0)
    if b.brick:  # running-bond courses: mortar lines in resolution-free units
        y, x = canvas.grid(rows, cols)
        course = (y - y0) / 0.018
        offset = np.floor(course) % 2 * 0.5
        mortar = (course % 1.0 < 0.22) | (((x - x0) / 0.04 + offset) % 1.0 < 0.12)
        color = np.where(mortar[..., None], np.float32(0.75), color)
    canvas.paint(rows, cols, None, color, ("building", "wall", "brick" if b.brick else ""))
    if b.windows:
        y, x = canvas.grid(rows, cols)
        boxes = np.asarray(b.windows, np.float32)  # [n, 4]: x0, y0, x1, y1
        frame = 0.15 * (boxes[:, 2:] - boxes[:, :2])  # [n, 2]
        window = _boxes_mask(y[:, 0], x[0], boxes)
        glass = _boxes_mask(y[:, 0], x[0], np.hstack([boxes[:, :2] + frame, boxes[:, 2:] - frame]))
        pane = np.where(
            glass[..., None],
            np.asarray(b.window_color, np.float32),
            np.asarray(b.frame_color, np.float32),
        )
        canvas.paint(rows, cols, window, pane, ("building", "window", ""))
    if b.door is not None:
        dx0, dy0, dx1, dy1 = b.door
        r, c = canvas.span(dy0, dy1), canvas.span(dx0, dx1)
        planks = 1.0 + 0.12 * np.sin((canvas.grid(r, c)[1] - dx0) * 400.0)  # [1, w]
        color = np.asarray(b.door_color) * planks[..., None]  # [1, w, 3], broadcast down the door
        canvas.paint(r, c, None, color, ("building", "door", "wood"))
    roof_top = y0 - b.roof_height
    rows = canvas.span(roof_top, y0)
    if b.roof == "flat":
        canvas.paint(
            rows,
            canvas.span(x0 - 0.006, x1 + 0.006),
            None,
            np.asarray(b.roof_color),
            ("building", "roof", ""),
        )
    else:
        overhang, centre = 0.02, (x0 + x1) / 2
        cols = canvas.span(x0 - overhang, x1 + overhang)
        y, x = canvas.grid(rows, cols)
        mask = y >= roof_top + b.roof_height * np.abs(x - centre) / ((x1 - x0) / 2 + overhang)
        tiles = 1.0 + 0.1 * np.sin((y - roof_top) * 300.0)
        canvas.paint(
            rows, cols, mask, np.asarray(b.roof_color) * tiles[..., None], ("building", "roof", "")
        )
    if b.dome is not None:
        cx, rx, ry = b.dome
        r, c, mask = _ellipses(canvas, [(cx, roof_top, rx, ry)])
        y, x = canvas.grid(r, c)
        mask &= y < roof_top
        light = 1.15 - 0.35 * np.clip((x - cx + rx) / (2 * rx), 0, 1)
        canvas.paint(
            r, c, mask, np.asarray(b.dome_color) * light[..., None], ("building", "dome", "")
        )


def _paint_tree(canvas: _Canvas, t: Tree) -> None:
    rows, cols = canvas.span(t.trunk[1], t.trunk[3]), canvas.span(t.trunk[0], t.trunk[2])
    canvas.paint(rows, cols, None, np.asarray(t.trunk_color), ("tree", "trunk", "wood"))
    r, c, mask = _ellipses(canvas, t.crown)
    color = canvas.shaded(r, c, t.foliage_color, 0.25, 9.0)
    y = canvas.grid(r, c)[0]
    top, bottom = min(cy - ry for _, cy, _, ry in t.crown), max(cy + ry for _, cy, _, ry in t.crown)
    shade = 1.1 - 0.3 * np.clip((y - top) / (bottom - top), 0, 1)  # lit from above
    canvas.paint(r, c, mask, color * shade[..., None], ("tree", "foliage", ""))


def render_layout(
    layout: SceneLayout, resolution: int, noise_rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Rasterise ``layout`` to an image and its label layers.

    Args:
        layout: The scene to draw.
        resolution: Output side length in pixels.
        noise_rng: Source of per-pixel sensor noise (kept apart from the layout's randomness so
            that the layout does not depend on the resolution).

    Returns:
        ``(image, labels)``: ``uint8 [H, W, 3]`` and ``uint8 [3, H, W]`` label layers
        (object, part, material) holding :data:`SCENE_VOCABULARY` indices, 0 = no label.

    Example:
        >>> from ganlens.data.scene_layout import sample_layout
        >>> layout = sample_layout(np.random.default_rng(1))
        >>> image, labels = render_layout(layout, 32, np.random.default_rng(2))
        >>> image.shape, labels.shape, bool((labels[0] > 0).all())
        ((32, 32, 3), (3, 32, 32), True)
    """
    canvas = _Canvas(resolution, layout.texture_offset)
    _paint_backdrop(canvas, layout)
    standing: list[Building | Tree] = [*layout.buildings, *layout.trees]
    for thing in sorted(standing, key=lambda s: s.base):
        if isinstance(thing, Building):
            _paint_building(canvas, thing)
        else:
            _paint_tree(canvas, thing)
    brightness, slope_x, slope_y = layout.light
    light = brightness * (
        1 + slope_x * (canvas.centres[None, :] - 0.5) + slope_y * (canvas.centres[:, None] - 0.5)
    )
    image = canvas.image
    image *= (255.0 * light)[..., None]
    bank = _noise_bank()
    start = int(noise_rng.integers(0, bank.size - image.size))
    image += (255.0 * layout.noise) * bank[start : start + image.size].reshape(image.shape)
    image += 0.5
    return np.clip(image, 0.0, 255.0, out=image).astype(np.uint8), canvas.labels
