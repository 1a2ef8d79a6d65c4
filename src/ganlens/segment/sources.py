"""A segmenter named by one string, for configs and command lines."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import torch

from ganlens.segment.scene_segmenter import load_scene_segmenter

__all__ = ["SEGMENTER_SOURCES", "load_segmenter"]

SEGMENTER_SOURCES = "'scene', 'segformer:PATH' or 'package.module:factory'"
"""What :func:`load_segmenter` accepts, for help texts and error messages."""


def load_segmenter(source: str = "scene", device: str | torch.device = "cpu") -> Any:
    """Load the segmenter named by ``source`` on ``device``.

    Args:
        source: ``"scene"`` for the shipped scene-world segmenter; ``"segformer:PATH"`` for a
            SegFormer ADE20K model saved in a local folder (needs the ``ade20k`` extra); or
            ``"package.module:factory"``, a callable taking no arguments whose result is moved
            with ``.to(device)`` when it has that method. Dissection needs ``vocabulary`` and
            ``segment``; ACE also needs ``class_probability``
            (:class:`~ganlens.segment.Segmenter`).
        device: Where the segmenter computes.

    Raises:
        ValueError: If the source is unknown, cannot be imported or gives no segmenter.

    Example:
        >>> load_segmenter("scene").layer_names
        ('object', 'part', 'material')
        >>> load_segmenter("ganlens.ace.planted:PlantedConceptSegmenter").vocabulary.names
        ('-', 'tree')
    """
    if source in ("scene", "shipped"):
        return load_scene_segmenter(device)
    kind, _, rest = source.partition(":")
    if kind == "segformer" and rest:
        from ganlens.segment.ade20k import SegformerSegmenter

        if not Path(rest).is_dir():
            raise ValueError(f"segmenter segformer:PATH needs a local model folder; got {rest!r}")
        return SegformerSegmenter.from_pretrained(rest, device=device)
    if not rest:
        raise ValueError(f"segmenter must be {SEGMENTER_SOURCES}; got {source!r}")
    try:
        factory = getattr(importlib.import_module(kind), rest)
    except (ImportError, AttributeError) as error:
        raise ValueError(f"cannot import segmenter factory {source!r}: {error}") from error
    segmenter = factory()
    if not (hasattr(segmenter, "vocabulary") and callable(getattr(segmenter, "segment", None))):
        raise ValueError(f"{source!r} gave {type(segmenter).__name__}, without vocabulary/segment")
    if callable(getattr(segmenter, "to", None)):
        segmenter = segmenter.to(device)
    return segmenter
