import pytest
import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader

from ganlens.data.scene_world import SCENE_VOCABULARY, render_scene
from ganlens.segment.scene_segmenter import SCENE_HEADS
from ganlens.segment.scene_training import (
    MultiScaleSceneDataset,
    SceneSegmenterModule,
    head_targets,
    soft_dice_loss,
)


def test_head_targets_invert_the_head_tables():
    labels = render_scene(0, 5, 32).labels[None]  # [1, 3, 32, 32]
    targets = head_targets(labels)
    for k, (head, target) in enumerate(zip(SCENE_HEADS, targets, strict=True)):
        assert (target >= 0).all()
        assert torch.equal(torch.tensor(head)[target], labels[:, k])
    foreign = torch.full((1, 3, 2, 2), SCENE_VOCABULARY.index("door"))
    assert (head_targets(foreign)[0] == -100).all() and (head_targets(foreign)[2] == -100).all()


def test_dice_by_hand_and_ignored_pixels():
    target = torch.zeros(1, 8, 8, dtype=torch.long)
    target[0, 0, 0] = 1  # one pixel of a rare class
    confident = torch.nn.functional.one_hot(target, 2).permute(0, 3, 1, 2).float() * 40
    missed = confident.clone()
    missed[0, :, 0, 0] = torch.tensor([40.0, 0.0])  # predict the common class there
    # Smoothed Dice (2 I + 1) / (|P| + |T| + 1): rare class (0 + 1) / (0 + 1 + 1) = 1/2,
    # common class (2 * 63 + 1) / (64 + 63 + 1) = 127/128: the one missed pixel costs a quarter.
    expected = 1 - (0.5 + 127 / 128) / 2
    assert abs(soft_dice_loss(missed, target).item() - expected) < 1e-5
    assert soft_dice_loss(confident, target).item() < 1e-5
    ignored = target.clone()
    ignored[0, 0, 0] = -100  # ignoring the missed pixel forgives it
    assert soft_dice_loss(missed, ignored).item() < 1e-5


def test_multiscale_dataset_is_deterministic_and_zooms():
    plain = MultiScaleSceneDataset(size=4, resolution=32, zoom_probability=0.0)
    zoomed = MultiScaleSceneDataset(size=4, resolution=32, zoom_probability=1.0)
    assert torch.equal(plain[2]["labels"], render_scene(0, 2, 32).labels)
    assert torch.equal(zoomed[1]["image"], zoomed[1]["image"])
    assert zoomed[1]["image"].shape == (3, 32, 32)
    big = render_scene(0, 1, 64).labels
    crops = [big[:, t : t + 32, s : s + 32] for t in range(33) for s in range(33)]
    assert any(torch.equal(zoomed[1]["labels"], c) for c in crops)  # a crop of the 2x render
    with pytest.raises(IndexError):
        plain[4]
    with pytest.raises(ValueError, match="zoom_probability"):
        MultiScaleSceneDataset(size=4, zoom_probability=2.0)


def test_multiscale_dataset_mixes_framings_by_index():
    default = MultiScaleSceneDataset(size=40, resolution=32, zoom_probability=0.0)
    church = MultiScaleSceneDataset(size=40, resolution=32, zoom_probability=0.0,
                                    church_fraction=1.0)  # fmt: skip
    mixed = MultiScaleSceneDataset(size=40, resolution=32, zoom_probability=0.0,
                                   church_fraction=0.5)  # fmt: skip
    picks = []
    for i in range(40):
        assert torch.equal(default[i]["labels"], render_scene(0, i, 32).labels)
        assert torch.equal(church[i]["labels"], render_scene(0, i, 32, "church").labels)
        as_church = torch.equal(mixed[i]["labels"], church[i]["labels"])
        assert as_church or torch.equal(mixed[i]["labels"], default[i]["labels"])
        picks.append(as_church)
    assert 8 <= sum(picks) <= 32  # about half, chosen per index
    with pytest.raises(ValueError, match="church_fraction"):
        MultiScaleSceneDataset(size=4, church_fraction=-0.1)


def test_trainer_fits_and_validates():
    torch.manual_seed(0)
    module = SceneSegmenterModule(widths=(8, 16), learning_rate=1e-2, warmup_steps=2)
    train = DataLoader(MultiScaleSceneDataset(size=24, resolution=32), batch_size=4)
    val = DataLoader(MultiScaleSceneDataset(size=8, resolution=32, seed=1, zoom_probability=0), 8)
    trainer = pl.Trainer(max_steps=6, logger=False, enable_checkpointing=False,
                         enable_progress_bar=False, enable_model_summary=False)  # fmt: skip
    before = [p.detach().clone() for p in module.parameters()]
    trainer.fit(module, train, val)
    assert any(not torch.equal(a, b) for a, b in zip(before, module.parameters(), strict=True))
    assert 0.0 <= float(trainer.callback_metrics["val/mean_iou"]) <= 1.0
    assert 0.0 <= float(trainer.callback_metrics["val/pixel_accuracy"]) <= 1.0
