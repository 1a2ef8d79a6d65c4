"""The layout rules, checked on the geometry of thousands of scenes."""

import numpy as np
import pytest

from ganlens.data.scene_layout import SceneLayout, sample_layout

LAYOUTS = 5000


@pytest.fixture(scope="module")
def layouts() -> list[SceneLayout]:
    return [sample_layout(np.random.default_rng([11, i, 0])) for i in range(LAYOUTS)]


def test_clouds_lie_wholly_above_the_horizon(layouts):
    for layout in layouts:
        for cloud in layout.clouds:
            assert all(cy + ry < layout.horizon for _, cy, _, ry in cloud.puffs)


def test_water_is_a_band_from_the_horizon_and_mountains_rise_from_it(layouts):
    for layout in layouts:
        if layout.water:
            assert layout.water[0] == layout.horizon < layout.water[1]
        if layout.mountains:
            assert all(height > 0 for _, height, _ in layout.mountains.peaks)


def test_buildings_stand_on_ground_with_doors_on_the_ground_line(layouts):
    count = 0
    for layout in layouts:
        for b in layout.buildings:
            count += 1
            x0, y0, x1, _y1 = b.wall
            assert layout.ground_top < b.base <= 1.0 and y0 > 0
            if layout.road:
                assert b.base == layout.road[0]
            if b.door:
                dx0, dy0, dx1, dy1 = b.door
                assert dy1 == b.base, "door must touch the ground line"
                assert x0 <= dx0 < dx1 <= x1 and y0 < dy0
    assert count > LAYOUTS  # about 1.6 buildings per scene


def test_windows_are_inside_walls_and_never_on_doors(layouts):
    for layout in layouts:
        for b in layout.buildings:
            x0, y0, x1, y1 = b.wall
            for wx0, wy0, wx1, wy1 in b.windows:
                assert x0 < wx0 < wx1 < x1 and y0 < wy0 < wy1 < y1
                if b.door:
                    dx0, dy0, dx1, _ = b.door
                    assert wx1 <= dx0 or wx0 >= dx1 or wy1 <= dy0, "window overlaps the door"


def test_domes_sit_on_flat_roofs_within_the_wall(layouts):
    domes = 0
    for layout in layouts:
        for b in layout.buildings:
            if b.dome is None:
                continue
            domes += 1
            cx, rx, ry = b.dome
            assert b.roof == "flat" and ry > 0
            assert b.wall[0] <= cx - rx and cx + rx <= b.wall[2]
    assert domes > 500


def test_trees_stand_on_grass_and_crowns_touch_trunks(layouts):
    trees = 0
    for layout in layouts:
        for t in layout.trees:
            trees += 1
            assert t.trunk[3] == t.base and t.base > layout.ground_top + 0.03 - 1e-9
            if layout.road:
                assert not layout.road[0] - 0.03 < t.base < layout.road[1] + 0.03, "tree on road"
            lowest_crown = max(cy + ry for _, cy, _, ry in t.crown)
            assert t.trunk[1] < lowest_crown, "crown floats above its trunk"
    assert trees > LAYOUTS


def test_layouts_vary(layouts):
    horizons = [layout.horizon for layout in layouts]
    assert np.std(horizons) > 0.04
    grass = np.array([layout.grass_color for layout in layouts])
    assert grass.std(axis=0).max() > 0.08
    assert len({len(layout.buildings) for layout in layouts}) == 4
    assert len({len(layout.trees) for layout in layouts}) == 6
