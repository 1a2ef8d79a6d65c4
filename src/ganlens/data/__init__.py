"""Data: the procedural scene world (images with exact labels), image folders, vocabularies.

The Lightning data modules are imported on first use, so the scene renderer and its command
line start without loading Lightning.
"""

from typing import Any

from ganlens.data.scene_world import (
    LAYER_NAMES,
    SCENE_VOCABULARY,
    RenderedScene,
    SceneWorld,
    render_scene,
)
from ganlens.data.vocabulary import CATEGORIES, Concept, Vocabulary

_LAZY = ("ImageFolderDataModule", "ImageFolderDataset", "SceneDataModule", "SceneDataset")

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


def __getattr__(name: str) -> Any:
    """Import the data modules lazily."""
    if name in _LAZY:
        from ganlens.data import datamodules

        return getattr(datamodules, name)
    raise AttributeError(f"module 'ganlens.data' has no attribute {name!r}")
