import subprocess
import sys

import pytest
import torch
from PIL import Image

from ganlens.cli import main
from ganlens.data.scene_world import SceneWorld, render_scene


def test_rendering_is_deterministic_per_seed_and_index():
    a, b = render_scene(5, 17, 64), render_scene(5, 17, 64)
    assert torch.equal(a.image, b.image) and torch.equal(a.labels, b.labels)
    assert not torch.equal(a.labels, render_scene(5, 18, 64).labels)
    assert not torch.equal(a.labels, render_scene(6, 17, 64).labels)


@pytest.mark.parametrize(("low", "high"), [(32, 96), (64, 192)])
def test_labels_do_not_shift_with_resolution(low, high):
    """Pixel centres of the low resolution are every third centre of the triple resolution."""
    for index in range(20):
        small = render_scene(0, index, low).labels
        large = render_scene(0, index, high).labels[:, 1::3, 1::3]
        agreement = (small == large).float().mean().item()
        assert agreement > 0.999, f"scene {index}: {agreement:.4f}"


@pytest.mark.parametrize("resolution", [32, 48, 100, 128, 256])
def test_any_resolution_in_range(resolution):
    scene = render_scene(0, 3, resolution)
    assert scene.image.shape == (3, resolution, resolution)
    assert scene.labels.shape == (3, resolution, resolution)


def test_bad_arguments_raise_clear_errors():
    with pytest.raises(ValueError, match=r"resolution must be an int in \[16, 1024\].*got 8"):
        render_scene(0, 0, 8)
    with pytest.raises(ValueError, match="non-negative"):
        render_scene(0, -1, 32)
    with pytest.raises(ValueError, match="got 2000"):
        SceneWorld(resolution=2000)


def test_world_batch_matches_single_scenes():
    world = SceneWorld(32, seed=2)
    images, labels = world.batch([4, 9])
    assert torch.equal(labels[1], world[9].labels)
    assert torch.allclose((images[0] + 1) * 127.5, world[4].image.float())


def test_cli_writes_a_grid(tmp_path):
    out = tmp_path / "grid.png"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "ganlens",
            "scenes",
            "--out",
            str(out),
            "--count",
            "3",
            "--resolution",
            "32",
            "--tile",
            "64",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert str(out) in done.stdout
    with Image.open(out) as picture:
        assert picture.width == 96 + 3 * (64 + 4) and picture.height > 4 * 64


def test_cli_rejects_bad_resolution(tmp_path, capsys):
    assert main(["scenes", "--out", str(tmp_path / "x.png"), "--resolution", "7"]) == 2
    assert (
        "--resolution must lie in [16, 1024] (32 to 256 tested); got 7" in capsys.readouterr().err
    )
    assert not (tmp_path / "x.png").exists()
    with pytest.raises(SystemExit):
        main(["scenes", "--help"])
    assert "16 to 1024 (32 to 256 tested)" in capsys.readouterr().out
