"""The layout rules, checked on the rendered label maps of 1,500 scenes at 64 px."""

import numpy as np
import pytest
import torch

from ganlens.data.scene_render import LAYER_NAMES
from ganlens.data.scene_render import SCENE_VOCABULARY as V

ID = {name: V.index(name) for name in V.names[1:]}
OBJECT, PART, MATERIAL = range(3)


def centres(resolution: int) -> torch.Tensor:
    return (torch.arange(resolution) + 0.5) / resolution


def below_lowest(labels: torch.Tensor, layer: int, concept: int) -> list[int]:
    """Object labels of the pixel under the lowest `concept` pixel of every column holding it."""
    hits = labels[layer] == concept  # [H, W]
    found = []
    for col in torch.nonzero(hits.any(0)).flatten().tolist():
        row = int(torch.nonzero(hits[:, col]).max())
        if row + 1 < labels.shape[1]:
            found.append(int(labels[OBJECT, row + 1, col]))
    return found


def test_every_pixel_has_an_object_label(labels64):
    assert bool((labels64[:, OBJECT] > 0).all())


def test_layers_hold_only_their_own_category(labels64):
    for layer, category in enumerate(LAYER_NAMES):
        allowed = torch.tensor([0, *V.in_category(category)])
        assert bool(torch.isin(labels64[:, layer], allowed).all()), category


def test_parts_and_materials_belong_to_their_objects(labels64):
    obj, part, mat = labels64[:, OBJECT], labels64[:, PART], labels64[:, MATERIAL]
    for name in ("wall", "roof", "door", "window", "dome"):
        assert bool((obj[part == ID[name]] == ID["building"]).all()), name
    for name in ("trunk", "foliage"):
        assert bool((obj[part == ID[name]] == ID["tree"]).all()), name
    assert bool((part[obj == ID["building"]] > 0).all()) and bool(
        (part[obj == ID["tree"]] > 0).all()
    )
    assert bool((part[mat == ID["brick"]] == ID["wall"]).all())
    assert bool(torch.isin(part[mat == ID["wood"]], torch.tensor([ID["door"], ID["trunk"]])).all())
    for name in ("sky", "cloud", "mountain", "water", "grass", "road"):
        assert bool((part[obj == ID[name]] == 0).all()) and bool((mat[obj == ID[name]] == 0).all())


def test_sky_and_clouds_above_the_horizon_ground_below(scenes64):
    y = centres(64)[:, None].expand(64, 64)
    for scene in scenes64:
        obj = scene.labels[OBJECT]
        horizon = scene.layout.horizon
        for name in ("sky", "cloud"):
            assert bool((y[obj == ID[name]] < horizon).all()), f"{name} below the horizon"
        for name in ("grass", "water", "road"):
            assert bool((y[obj == ID[name]] >= horizon).all()), f"{name} above the horizon"


def test_doors_touch_the_ground(scenes64):
    on_road = 0
    for scene in scenes64:
        below = below_lowest(scene.labels, PART, ID["door"])
        if scene.layout.road:  # all buildings stand on the road's far edge
            assert set(below) <= {ID["road"], ID["tree"]}
            on_road += below.count(ID["road"])
        else:  # the ground, or a nearer building or tree in front
            assert set(below) <= {ID["grass"], ID["tree"], ID["building"]}
    assert on_road > 500


@pytest.mark.parametrize(
    ("part", "allowed"),
    [
        ("dome", {"building", "tree"}),  # a roof (or something in front of it)
        ("wall", {"grass", "road", "building", "tree"}),
        ("trunk", {"grass", "building", "tree"}),  # never road, water or sky
    ],
)
def test_nothing_floats(scenes64, part, allowed):
    seen: set[int] = set()
    for scene in scenes64:
        seen.update(below_lowest(scene.labels, PART, ID[part]))
    assert seen, f"no {part} found"
    assert seen <= {ID[name] for name in allowed}, [V.name(i) for i in seen]


def test_every_concept_appears_often(labels64):
    n = labels64.shape[0]
    for concept in V:
        present = (labels64 == concept.index).flatten(1).any(1).float().mean().item()
        assert present > 0.03, f"{concept.name} appears in only {present:.1%} of {n} scenes"


def test_concepts_vary_in_colour_and_texture(scenes64):
    means: dict[str, list[np.ndarray]] = {name: [] for name in ID}
    for scene in scenes64[:400]:
        image = scene.image.float() / 255
        for name, index in ID.items():
            layer = next(i for i, cat in enumerate(LAYER_NAMES) if cat == V.category(name))
            mask = scene.labels[layer] == index
            if int(mask.sum()) >= 4:
                pixels = image[:, mask]  # [3, P]
                assert float(pixels.std(1).max()) > 0.005, f"{name} is flat"
                means[name].append(pixels.mean(1).numpy())
    for name, values in means.items():
        spread = np.std(values, axis=0).max()
        assert spread > 0.02, f"{name} has nearly one colour (spread {spread:.3f})"
