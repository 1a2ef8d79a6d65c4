"""A folder of your own images (for example LSUN exported to JPEG) as a Lightning data module.

Real folders hold files that break a training run hours in: truncated or zero-byte JPEGs, text
files named ``.jpg``, 16-bit or transparent PNGs, thumbnails. Here a file whose header cannot be
read is set aside when the module is set up (one warning names the files); a file that fails
later, while it is decoded, is replaced by the next readable image of the set (one warning per
file), unless ``on_bad_image="error"`` asks for the strict behaviour. 16-bit images are scaled to
8 bits (not clipped, which turns them white), transparent images are composited on white, and
images smaller than the resolution are counted in one warning (they are upscaled). Symbolic
links to folders are followed, each real folder once.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Literal

import numpy as np
import pytorch_lightning as pl
import torch
from PIL import Image, UnidentifiedImageError
from torch.utils.data import DataLoader, Dataset
from torchvision.transforms import v2

from ganlens.data.datamodules import _loader, check_batch_fits, default_workers

__all__ = ["IMAGE_EXTENSIONS", "ImageFolderDataModule", "ImageFolderDataset", "find_images"]

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".bmp")
BadImagePolicy = Literal["skip", "error"]
_DECODE_ERRORS = (OSError, ValueError, UnidentifiedImageError, Image.DecompressionBombError)
_BACKGROUND = (255, 255, 255)  # transparent pixels are composited on white


def read_rgb(path: Path) -> Image.Image:
    """The image at ``path`` as 8-bit RGB: 16-bit scaled down, transparency on white.

    Raises:
        OSError: (or ``ValueError``) If the file cannot be decoded.

    Example:
        >>> import tempfile
        >>> path = Path(tempfile.mkdtemp()) / "deep.png"
        >>> Image.fromarray(np.full((2, 2), 65535, dtype=np.uint16)).save(path)
        >>> read_rgb(path).getpixel((0, 0))
        (255, 255, 255)
    """
    with Image.open(path) as image:
        image.load()
        if image.mode in ("I;16", "I;16B", "I;16L", "I"):  # 16-bit grey: keep the top 8 bits
            wide = np.asarray(image, dtype=np.uint32)
            image = Image.fromarray((wide >> 8).clip(0, 255).astype(np.uint8))
        if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
            rgba = image.convert("RGBA")
            flat = Image.new("RGB", rgba.size, _BACKGROUND)
            flat.paste(rgba, mask=rgba.getchannel("A"))
            return flat
        rgb: Image.Image = image.convert("RGB")
        return rgb


class ImageFolderDataset(Dataset[dict[str, torch.Tensor]]):
    """Images resized and centre-cropped to a square; an undecodable one gives way to the next.

    Args:
        files: Image paths.
        resolution: Output side in pixels.
        flip: Randomly mirror images horizontally (training augmentation).
        on_bad_image: ``"skip"`` (default): an image that fails to decode is replaced by the
            next readable one, with one warning per file; ``"error"``: raise ``ValueError``
            naming the file.

    Example:
        >>> import tempfile
        >>> folder = Path(tempfile.mkdtemp())
        >>> Image.new("RGB", (8, 8), (255, 0, 0)).save(folder / "a.png")
        >>> _ = (folder / "b.png").write_bytes(b"not an image")
        >>> data = ImageFolderDataset([folder / "b.png", folder / "a.png"], resolution=4)
        >>> with warnings.catch_warnings(record=True):
        ...     image = data[0]["image"]  # b.png is unreadable: a.png stands in
        >>> image.shape, float(image[0].mean())
        (torch.Size([3, 4, 4]), 1.0)
    """

    def __init__(
        self,
        files: list[Path],
        resolution: int,
        flip: bool = False,
        on_bad_image: BadImagePolicy = "skip",
    ) -> None:
        if on_bad_image not in ("skip", "error"):
            raise ValueError(f"on_bad_image must be 'skip' or 'error'; got {on_bad_image!r}")
        self.files, self.on_bad_image = files, on_bad_image
        self.skipped: set[Path] = set()
        steps: list[v2.Transform] = [
            v2.ToImage(),
            v2.Resize(resolution, antialias=True),
            v2.CenterCrop(resolution),
        ]
        if flip:
            steps.append(v2.RandomHorizontalFlip())
        steps += [v2.ToDtype(torch.float32, scale=True), v2.Normalize([0.5] * 3, [0.5] * 3)]
        self.transform = v2.Compose(steps)

    def __len__(self) -> int:
        """Number of images."""
        return len(self.files)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        """Image ``index`` (or the next readable one) as ``{"image": float [3, R, R]}``."""
        for offset in range(len(self.files)):
            path = self.files[(index + offset) % len(self.files)]
            try:
                return {"image": self.transform(read_rgb(path))}
            except _DECODE_ERRORS as error:
                if self.on_bad_image == "error":
                    raise ValueError(
                        f"unreadable image {path}: {type(error).__name__}: {error} (pass "
                        "--data.init_args.on_bad_image skip to train past it)"
                    ) from error
                if path not in self.skipped:
                    self.skipped.add(path)
                    warnings.warn(
                        f"skipping unreadable image {path} ({type(error).__name__}: {error}); "
                        "the next readable image stands in",
                        stacklevel=2,
                    )
        raise ValueError(f"none of the {len(self.files)} images can be read")


def find_images(root: str | Path, extensions: tuple[str, ...] = IMAGE_EXTENSIONS) -> list[Path]:
    """All image files under ``root``, recursively (through folder links, each once), sorted.

    Raises:
        FileNotFoundError: If ``root`` is not a folder.
        ValueError: If no file with one of ``extensions`` is found.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"image folder {str(root)!r} does not exist or is not a folder")
    files: list[Path] = []
    seen: set[str] = set()
    for folder, subfolders, names in os.walk(root, followlinks=True):
        real = os.path.realpath(folder)
        if real in seen:  # a link back up the tree, or two links to one folder
            subfolders.clear()
            continue
        seen.add(real)
        files += [Path(folder) / n for n in names if Path(n).suffix.lower() in extensions]
    files = sorted(p for p in files if p.is_file())
    if not files:
        raise ValueError(f"no images with extensions {', '.join(extensions)} under {str(root)!r}")
    return files


def check_headers(files: list[Path], resolution: int) -> tuple[list[Path], list[Path], int]:
    """Split ``files`` by whether their header can be read; count those smaller than wanted.

    Only the header is read (PIL opens lazily), about 0.1 ms a file.

    Returns:
        ``(readable, unreadable, smaller)``: the files whose header reads, those whose does not
        (empty, truncated before the size, not an image), and how many readable ones have a
        side below ``resolution``.
    """
    readable, unreadable, smaller = [], [], 0
    for path in files:
        try:
            with Image.open(path) as image:
                width, height = image.size
        except _DECODE_ERRORS:
            unreadable.append(path)
            continue
        readable.append(path)
        smaller += min(width, height) < resolution
    return readable, unreadable, smaller


class ImageFolderDataModule(pl.LightningDataModule):
    """A folder of images (for example LSUN exported to JPEG) as a Lightning data module.

    Images are found recursively, resized so the short side is ``resolution`` (antialiased),
    centre-cropped and scaled to [-1, 1]. A fixed, evenly spread ``val_fraction`` of the sorted
    files is held out for validation. Files whose header cannot be read are set aside at setup
    (one warning names them; ``on_bad_image="error"`` refuses them instead), so are files that
    fail to decode later (see :class:`ImageFolderDataset`).

    Args:
        root: Folder to search.
        resolution: Output side in pixels.
        batch_size: Images per batch.
        val_fraction: Share of images held out (0 disables validation).
        flip: Mirror training images at random.
        num_workers: Loader processes; ``None`` picks :func:`default_workers`.
        on_bad_image: ``"skip"`` an unreadable image (default) or stop with an ``"error"``.

    Example:
        >>> import tempfile
        >>> folder = tempfile.mkdtemp()
        >>> for i in range(4):
        ...     Image.new("RGB", (40, 30), (i * 60, 0, 0)).save(f"{folder}/{i}.png")
        >>> dm = ImageFolderDataModule(folder, resolution=16, batch_size=2, val_fraction=0.25,
        ...                            num_workers=0)
        >>> dm.setup("fit")
        >>> len(dm.train_set), len(dm.val_set), next(iter(dm.train_dataloader()))["image"].shape
        (3, 1, torch.Size([2, 3, 16, 16]))
    """

    def __init__(
        self,
        root: str,
        resolution: int = 256,
        batch_size: int = 32,
        val_fraction: float = 0.01,
        flip: bool = True,
        num_workers: int | None = None,
        on_bad_image: BadImagePolicy = "skip",
    ) -> None:
        super().__init__()
        if not 0.0 <= val_fraction < 1.0:
            raise ValueError(f"val_fraction must be in [0, 1); got {val_fraction}")
        if on_bad_image not in ("skip", "error"):
            raise ValueError(f"on_bad_image must be 'skip' or 'error'; got {on_bad_image!r}")
        self.save_hyperparameters()
        self.root, self.resolution, self.batch_size = root, resolution, batch_size
        self.val_fraction, self.flip, self.on_bad_image = val_fraction, flip, on_bad_image
        self.num_workers = default_workers() if num_workers is None else num_workers

    def prepare_data(self) -> None:
        """Check that the root is a folder, before the trainer starts its loggers' runs.

        Example:
            >>> ImageFolderDataModule("/no/such/folder").prepare_data()
            Traceback (most recent call last):
            ...
            FileNotFoundError: image folder '/no/such/folder' does not exist or is not a folder
        """
        if not Path(self.root).is_dir():
            raise FileNotFoundError(f"image folder {self.root!r} does not exist or is not a folder")

    def setup(self, stage: str | None = None) -> None:
        """Find the images, set aside unreadable ones, and split them."""
        files, unreadable, smaller = check_headers(find_images(self.root), self.resolution)
        if unreadable:
            named = ", ".join(str(p) for p in unreadable[:10])
            more = f" and {len(unreadable) - 10} more" if len(unreadable) > 10 else ""
            if self.on_bad_image == "error":
                raise ValueError(f"{len(unreadable)} unreadable images under {self.root}: "
                                 f"{named}{more}")  # fmt: skip
            warnings.warn(f"setting aside {len(unreadable)} unreadable images under "
                          f"{self.root}: {named}{more}", stacklevel=2)  # fmt: skip
        if not files:
            raise ValueError(f"none of the images under {self.root} can be read")
        if smaller:
            warnings.warn(f"{smaller} of {len(files)} images under {self.root} are smaller than "
                          f"{self.resolution} px and are upscaled", stacklevel=2)  # fmt: skip
        held = round(len(files) * self.val_fraction)
        step = len(files) / held if held else 0.0
        val_ids = {int(i * step) for i in range(held)}
        train = [f for i, f in enumerate(files) if i not in val_ids]
        policy = self.on_bad_image
        self.train_set = ImageFolderDataset(train, self.resolution, self.flip, policy)
        self.val_set = ImageFolderDataset(
            [files[i] for i in sorted(val_ids)], self.resolution, on_bad_image=policy
        )
        check_batch_fits(self.batch_size, len(self.train_set), f"images under {self.root}")

    def train_dataloader(self) -> DataLoader:
        """Batches in an order fixed by (epoch); an incomplete last batch is dropped."""
        return _loader(self.train_set, self.batch_size, self.num_workers, shuffle=True)

    def val_dataloader(self) -> DataLoader:
        """Held-out images in sorted order."""
        return _loader(self.val_set, self.batch_size, self.num_workers, shuffle=False)
