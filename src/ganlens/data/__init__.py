"""Data: the procedural scene world (images with exact labels), image folders, vocabularies.

The Lightning data modules are imported on first use, so the scene renderer and its command
line start without loading Lightning.
"""

from typing import TYPE_CHECKING

from ganlens.data.scene_world import (
    LAYER_NAMES,
    SCENE_VOCABULARY,
    RenderedScene,
    SceneWorld,
    render_scene,
)
from ganlens.data.vocabulary import CATEGORIES, Concept, Vocabulary
from ganlens.lazy import lazy_exports

if TYPE_CHECKING:
    from ganlens.data.datamodules import SceneDataModule, SceneDataset
    from ganlens.data.image_folder import ImageFolderDataModule, ImageFolderDataset

_LAZY = {
    "ImageFolderDataModule": "image_folder",
    "ImageFolderDataset": "image_folder",
    "SceneDataModule": "datamodules",
    "SceneDataset": "datamodules",
}

__all__ = [
    "CATEGORIES",
    "LAYER_NAMES",
    "SCENE_VOCABULARY",
    "Concept",
    "ImageFolderDataModule",
    "ImageFolderDataset",
    "RenderedScene",
    "SceneDataModule",
    "SceneDataset",
    "SceneWorld",
    "Vocabulary",
    "render_scene",
]

__getattr__ = lazy_exports(__name__, _LAZY)
