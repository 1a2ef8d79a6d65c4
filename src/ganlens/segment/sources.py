"""A segmenter named by one string, for configs and command lines."""

from __future__ import annotations

import importlib

import torch

from ganlens.segment.protocol import Segmenter
from ganlens.segment.scene_segmenter import load_scene_segmenter

__all__ = ["load_segmenter"]


def load_segmenter(source: str = "scene", device: str | torch.device = "cpu") -> Segmenter:
    """Load the segmenter named by ``source`` on ``device``.

    Args:
        source: ``"scene"`` for the shipped scene-world segmenter, or ``"package.module:factory"``
            naming a callable that takes ``device`` and returns a
            :class:`~ganlens.segment.Segmenter`.
        device: Where the segmenter computes.

    Raises:
        ValueError: If the source is unknown, cannot be imported or gives no segmenter.

    Example:
        >>> load_segmenter("scene").layer_names
        ('object', 'part', 'material')
    """
    if source == "scene":
        return load_scene_segmenter(device)
    module_name, _, attribute = source.partition(":")
    if not attribute:
        raise ValueError(f"segmenter must be 'scene' or 'package.module:factory'; got {source!r}")
    try:
        factory = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as error:
        raise ValueError(f"cannot import segmenter factory {source!r}: {error}") from error
    segmenter = factory(device)
    if not isinstance(segmenter, Segmenter):
        raise ValueError(f"{source!r} returned {type(segmenter).__name__}, not a Segmenter")
    return segmenter
