"""Generator and segmenter sources by name: a user's factory mistakes are one line."""

from __future__ import annotations

import pytest
from torch import nn

from ganlens.cli import main


def needs_arguments(width: int) -> nn.Module:
    """A factory a user wrote for their own network, which needs an argument."""
    return nn.Linear(width, width)


def test_a_factory_that_needs_arguments_is_one_line(capsys):
    source = f"{__name__}:needs_arguments"
    assert main(["units", "--generator", source, "--out", "/tmp/ganlens-unused"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "needs_arguments" in err[0]
    assert "called without arguments" in err[0] and "width" in err[0]


def test_the_loader_names_the_missing_arguments():
    from ganlens.sources import load_generator

    with pytest.raises(ValueError, match=r"takes required arguments \(width\)"):
        load_generator(f"{__name__}:needs_arguments")


def test_shipped_generators_load_by_name_and_scene_means_the_default():
    from ganlens.models.pretrained import DEFAULT_SCENE_GENERATOR, SHIPPED_GENERATORS
    from ganlens.sources import load_generator, weights_fingerprint

    assert DEFAULT_SCENE_GENERATOR in SHIPPED_GENERATORS
    default = weights_fingerprint(load_generator("scene"))
    assert weights_fingerprint(load_generator(DEFAULT_SCENE_GENERATOR)) == default
    assert load_generator("scene").resolution == load_generator("scene64").resolution == 64
    assert load_generator("scene32").resolution == 32
    with pytest.raises(
        ValueError, match="no shipped generator 'scene7'; shipped: scene64, scene32"
    ):
        from ganlens.models import load_scene_generator

        load_scene_generator(name="scene7")


def test_scene_framing_is_the_one_the_generator_trained_on(tmp_path):
    import torch

    from ganlens.applications.loading import real_scene_images
    from ganlens.data import SceneWorld
    from ganlens.sources import scene_framing

    assert scene_framing(None) == scene_framing("scene") == scene_framing("scene64") == "church"
    assert scene_framing("scene32") == "default"
    checkpoint = tmp_path / "run.ckpt"
    torch.save({"datamodule_hyper_parameters": {"framing": "church", "resolution": 32}}, checkpoint)
    assert scene_framing(str(checkpoint)) == "church"
    torch.save({"state_dict": {}}, checkpoint)  # no data module recorded
    assert scene_framing(str(checkpoint)) == "default"
    assert scene_framing("package.module:factory") == "default"
    church = real_scene_images(2, 32, seed=5, start=3, framing="church")
    expected = SceneWorld(32, seed=5, framing="church").batch(range(3, 5))[0]
    assert torch.equal(church, expected)
    assert not torch.equal(church, real_scene_images(2, 32, seed=5, start=3))
