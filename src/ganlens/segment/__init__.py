"""Semantic segmenters: the :class:`Segmenter` protocol and its implementations.

GAN Dissection (Bau et al., ICLR 2019, arXiv:1811.10597) measures units against the concept masks
of a segmenter, and ACE backpropagates through its soft class maps. ganlens offers:

* :class:`Segmenter` -- the protocol (vocabulary, label layers, ``segment``, ``class_probability``);
* :func:`load_scene_segmenter` -- the trained scene-world segmenter shipped with the package;
* :class:`SegformerSegmenter` -- an adapter for Hugging Face SegFormer ADE20K models (needs the
  ``ade20k`` extra; ``transformers`` is imported only when a model is loaded).

The training code (:mod:`ganlens.segment.scene_training`, :mod:`ganlens.segment.train_scene`)
loads Lightning and is imported on demand.
"""

from ganlens.segment.ade20k import ADE20K_STUFF, SegformerSegmenter, ade20k_vocabulary
from ganlens.segment.protocol import Segmenter, check_images, resize_maps
from ganlens.segment.scene_segmenter import (
    SCENE_HEADS,
    SceneSegmenter,
    load_scene_segmenter,
    save_scene_segmenter,
)

__all__ = [
    "ADE20K_STUFF",
    "SCENE_HEADS",
    "SceneSegmenter",
    "SegformerSegmenter",
    "Segmenter",
    "ade20k_vocabulary",
    "check_images",
    "load_scene_segmenter",
    "resize_maps",
    "save_scene_segmenter",
]
