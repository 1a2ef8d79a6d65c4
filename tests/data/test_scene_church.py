"""The church framing: one large building, trees at its sides, sky above; default unchanged."""

import numpy as np
import pytest
import torch

from ganlens.data.datamodules import SceneDataModule, SceneDataset
from ganlens.data.scene_church import sample_church_layout
from ganlens.data.scene_world import SCENE_VOCABULARY, SceneWorld, render_scene

ID = {name: SCENE_VOCABULARY.index(name) for name in SCENE_VOCABULARY.names[1:]}
SCENES = 200


@pytest.fixture(scope="module")
def church_scenes():
    return [render_scene(0, i, 64, "church") for i in range(SCENES)]


def test_the_building_covers_30_to_40_percent_on_average(church_scenes):
    coverage = torch.tensor(
        [(s.labels[0] == ID["building"]).float().mean().item() for s in church_scenes]
    )
    assert 0.30 <= coverage.mean().item() <= 0.40
    assert coverage.min().item() > 0.15  # every scene is framed on its building
    default = [
        (render_scene(0, i, 64).labels[0] == ID["building"]).float().mean() for i in range(50)
    ]
    assert torch.stack(default).mean().item() < 0.2  # the default framing is a landscape


def test_one_central_building_with_sky_above_and_trees_at_its_sides(church_scenes):
    trees = 0
    for scene in church_scenes:
        layout = scene.layout
        (building,) = layout.buildings
        x0, y0, x1, _ = building.wall
        assert abs((x0 + x1) / 2 - 0.5) <= 0.1 and x1 - x0 >= 0.56
        assert y0 - building.roof_height >= 0.12 - 1e-9
        top = scene.labels[0, :7]  # pixel centres above y = 0.12
        assert not (top == ID["building"]).any()
        for tree in layout.trees:
            trees += 1
            assert tree.x <= x0 + 0.05 or tree.x >= x1 - 0.05
            assert tree.base > layout.ground_top  # on the ground, below the horizon
            assert not (layout.road and layout.road[0] <= tree.base <= layout.road[1])
        assert 1 <= len(layout.trees) <= 4
    assert trees >= SCENES * 2


def test_doors_and_windows_lie_only_on_the_wall(church_scenes):
    for scene in church_scenes:
        (building,) = scene.layout.buildings
        x0, y0, x1, y1 = building.wall
        door = building.door
        assert door is not None and door[3] == y1  # the door touches the base line
        assert x0 <= door[0] < door[2] <= x1 and door[1] > y0
        for wx0, wy0, wx1, wy1 in building.windows:
            assert x0 <= wx0 < wx1 <= x1 and y0 <= wy0 < wy1 <= y1
            assert wx1 <= door[0] or wx0 >= door[2] or wy1 <= door[1]  # never on the door
        if building.dome is not None:
            assert building.roof == "flat"
        parts, objects = scene.labels[1], scene.labels[0]
        for part in ("door", "window", "wall", "dome", "roof"):
            assert (objects[parts == ID[part]] == ID["building"]).all(), part
        rows, cols = torch.nonzero(parts == ID["window"], as_tuple=True)
        if len(rows):  # window pixels are inside the wall's pixel box
            assert (rows + 0.5).min() / 64 >= y0 and (rows + 0.5).max() / 64 < y1
            assert (cols + 0.5).min() / 64 >= x0 and (cols + 0.5).max() / 64 < x1
    with_windows = sum(bool((s.labels[1] == ID["window"]).any()) for s in church_scenes)
    with_doors = sum(bool((s.labels[1] == ID["door"]).any()) for s in church_scenes)
    assert with_windows > 0.9 * SCENES and with_doors > 0.9 * SCENES


def test_church_parts_are_larger_than_in_the_default_framing(church_scenes):
    def share(scenes, part):
        return np.mean([(s.labels[1] == ID[part]).float().mean().item() for s in scenes])

    default = [render_scene(0, i, 64) for i in range(SCENES)]
    for part in ("door", "window", "wall"):
        assert share(church_scenes, part) > 2 * share(default, part), part


def test_framing_is_validated_and_default_is_unchanged():
    for index in range(5):
        plain, named = render_scene(3, index, 32), render_scene(3, index, 32, "default")
        assert torch.equal(plain.image, named.image) and torch.equal(plain.labels, named.labels)
    church = render_scene(3, 0, 32, "church")
    assert torch.equal(church.labels, render_scene(3, 0, 32, "church").labels)
    assert not torch.equal(church.labels, render_scene(3, 0, 32).labels)
    with pytest.raises(ValueError, match="framing must be one of default, church; got 'lsun'"):
        render_scene(0, 0, 32, "lsun")
    with pytest.raises(ValueError, match="framing"):
        SceneWorld(32, framing="wide")
    with pytest.raises(ValueError, match="framing"):
        SceneDataModule(32, framing="wide")


def test_layout_depends_only_on_the_generator():
    a = sample_church_layout(np.random.default_rng(5))
    b = sample_church_layout(np.random.default_rng(5))
    assert a == b


def test_datasets_pass_the_framing_and_can_drop_labels():
    world_images, world_labels = SceneWorld(32, seed=2, framing="church").batch(range(3))
    dataset = SceneDataset(32, size=3, seed=2, framing="church")
    assert torch.equal(torch.stack([dataset[i]["image"] for i in range(3)]), world_images)
    assert torch.equal(torch.stack([dataset[i]["labels"] for i in range(3)]), world_labels)
    assert set(SceneDataset(32, size=3, labels=False)[0]) == {"image"}
    dm = SceneDataModule(32, 2, train_size=4, val_size=2, num_workers=0, framing="church",
                         labels=False)  # fmt: skip
    dm.setup("fit")
    batch = next(iter(dm.train_dataloader()))
    assert set(batch) == {"image"} and batch["image"].shape == (2, 3, 32, 32)
    assert dm.val_set.framing == "church" and dm.val_set.offset == 4
