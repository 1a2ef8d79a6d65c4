"""A folder of the user's own images: found, cropped, and never stopping a run on a bad file."""

import os
import warnings

import numpy as np
import pytest
import pytorch_lightning as pl
import torch
from PIL import Image

from ganlens.data.image_folder import ImageFolderDataModule, find_images


def _write_images(root, count=5):
    for i in range(count):
        sub = root / f"class{i % 2}"
        sub.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (60 + i, 40), (200, 10 * i, 0)).save(
            sub / f"img{i}.{'png' if i % 2 else 'jpg'}"
        )
    (root / "notes.txt").write_text("not an image")


def test_image_folder_finds_nested_images_and_crops_to_squares(tmp_path):
    _write_images(tmp_path)
    assert len(find_images(tmp_path)) == 5
    dm = ImageFolderDataModule(
        str(tmp_path), resolution=16, batch_size=2, val_fraction=0.2, num_workers=0
    )
    dm.setup("fit")
    assert len(dm.train_set) == 4 and len(dm.val_set) == 1
    image = dm.val_set[0]["image"]
    assert image.shape == (3, 16, 16)
    assert image[0].mean() > 0.5 and image[2].mean() < -0.9  # red stays red in [-1, 1]


def test_image_folder_errors_name_the_problem(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        find_images(tmp_path / "missing")
    with pytest.raises(ValueError, match=r"no images with extensions \.jpg"):
        find_images(tmp_path)
    with pytest.raises(ValueError, match=r"val_fraction must be in \[0, 1\)"):
        ImageFolderDataModule(str(tmp_path), val_fraction=1.0)


def test_a_batch_larger_than_the_folder_fails_at_setup(tmp_path):
    _write_images(tmp_path)
    folder = ImageFolderDataModule(str(tmp_path), resolution=16, batch_size=8, val_fraction=0.2)
    with pytest.raises(ValueError, match=r"batch_size 8 is larger than the training set \(4"):
        folder.setup("fit")


def _broken_folder(root):
    """20 good JPEGs plus a zero-byte, a garbage and a truncated one, as real folders have."""
    noise = np.random.default_rng(0).integers(0, 255, (20, 64, 64, 3), dtype=np.uint8)
    for i in range(20):
        Image.fromarray(noise[i]).save(root / f"good{i:02d}.jpg")
    (root / "empty.jpg").write_bytes(b"")
    (root / "garbage.jpg").write_bytes(b"this is not a jpeg at all")
    whole = (root / "good00.jpg").read_bytes()
    (root / "truncated.jpg").write_bytes(whole[: len(whole) // 2])  # the header still reads
    return {"empty.jpg", "garbage.jpg", "truncated.jpg"}


def test_bad_images_are_set_aside_or_skipped_and_named(tmp_path):
    _broken_folder(tmp_path)
    data = ImageFolderDataModule(str(tmp_path), resolution=16, batch_size=4, val_fraction=0,
                                 num_workers=0)  # fmt: skip
    with pytest.warns(UserWarning, match="setting aside 2 unreadable images") as caught:
        data.setup("fit")
    assert "empty.jpg" in str(caught[0].message) and "garbage.jpg" in str(caught[0].message)
    names = [p.name for p in data.train_set.files]
    assert "truncated.jpg" in names and len(names) == 21
    with pytest.warns(UserWarning, match=r"skipping unreadable image .*truncated\.jpg"):
        images = [data.train_set[i]["image"] for i in range(len(names))]
    assert all(image.shape == (3, 16, 16) for image in images)


def test_a_fit_on_a_folder_with_broken_files_trains_to_the_end(tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    _broken_folder(folder)

    class Tiny(pl.LightningModule):
        def __init__(self):
            super().__init__()
            self.layer = torch.nn.Linear(3 * 16 * 16, 1)

        def training_step(self, batch, batch_idx):
            return self.layer(batch["image"].flatten(1)).mean()

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.01)

    data = ImageFolderDataModule(str(folder), resolution=16, batch_size=3, val_fraction=0,
                                 num_workers=0)  # fmt: skip
    trainer = pl.Trainer(default_root_dir=tmp_path, max_epochs=2, logger=False,
                         enable_progress_bar=False, enable_checkpointing=False,
                         enable_model_summary=False, limit_val_batches=0)  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trainer.fit(Tiny(), datamodule=data)
    assert trainer.global_step == 2 * (21 // 3)


def test_on_bad_image_error_stops_naming_the_file(tmp_path):
    _broken_folder(tmp_path)
    strict = ImageFolderDataModule(str(tmp_path), resolution=16, batch_size=4, val_fraction=0,
                                   num_workers=0, on_bad_image="error")  # fmt: skip
    with pytest.raises(ValueError, match=r"2 unreadable images under .*empty\.jpg"):
        strict.setup("fit")
    (tmp_path / "empty.jpg").unlink()
    (tmp_path / "garbage.jpg").unlink()
    strict.setup("fit")
    index = [p.name for p in strict.train_set.files].index("truncated.jpg")
    with pytest.raises(ValueError, match=r"unreadable image .*truncated\.jpg"):
        strict.train_set[index]


def test_sixteen_bit_alpha_and_tiny_images_convert_right(tmp_path):
    Image.fromarray(np.full((32, 32), 32896, dtype=np.uint16)).save(tmp_path / "deep.png")
    rgba = np.zeros((32, 32, 4), dtype=np.uint8)  # fully transparent black: white after all
    Image.fromarray(rgba, "RGBA").save(tmp_path / "clear.png")
    Image.new("RGB", (8, 8), (0, 0, 0)).save(tmp_path / "tiny.png")
    data = ImageFolderDataModule(str(tmp_path), resolution=16, batch_size=1, val_fraction=0,
                                 num_workers=0, flip=False)  # fmt: skip
    with pytest.warns(UserWarning, match="1 of 3 images .* are smaller than 16 px"):
        data.setup("fit")
    by_name = {
        p.name: data.train_set[i]["image"].as_subclass(torch.Tensor)
        for i, p in enumerate(data.train_set.files)
    }
    expected = torch.full((3, 16, 16), 128 / 127.5 - 1)  # 32896 / 257 = 128 of 255, not white
    torch.testing.assert_close(by_name["deep.png"], expected)
    assert torch.equal(by_name["clear.png"], torch.ones(3, 16, 16))  # composited on white


def test_linked_folders_are_followed_once(tmp_path):
    (tmp_path / "real").mkdir()
    Image.new("RGB", (8, 8)).save(tmp_path / "real" / "a.png")
    os.symlink(tmp_path / "real", tmp_path / "link")
    os.symlink(tmp_path, tmp_path / "real" / "loop")  # a link back up the tree
    found = find_images(tmp_path)
    assert len(found) == 1 and found[0].name == "a.png"
