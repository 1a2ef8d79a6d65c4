"""Data: the procedural scene world (images with exact labels), image folders, vocabularies."""

from ganlens.data.datamodules import (
    ImageFolderDataModule,
    ImageFolderDataset,
    SceneDataModule,
    SceneDataset,
)
from ganlens.data.scenes import (
    LAYER_NAMES,
    SCENE_VOCABULARY,
    RenderedScene,
    SceneWorld,
    render_scene,
)
from ganlens.data.vocabulary import CATEGORIES, Concept, Vocabulary

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
