"""Dissection of generator layers (Bau et al., GAN Dissection, ICLR 2019, section 3.1).

:func:`dissect` runs the two passes (thresholds, then unit-concept counts) over latent sets and
returns a typed :class:`DissectionResult`; :mod:`ganlens.dissect.planted` holds a toy generator
with planted concept units and a ground-truth scene-world segmenter, for tests and examples.

Names are imported on first use (PEP 562), so ``dissect.py --help`` does not pay for loading
torchmetrics.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ganlens.lazy import lazy_exports

if TYPE_CHECKING:
    from ganlens.dissect.planted import PlantedSceneGenerator, SceneLabelSegmenter
    from ganlens.dissect.result import (
        DissectionResult,
        DissectionSettings,
        LayerDissection,
        LayerSummary,
        UnitRecord,
    )
    from ganlens.dissect.runner import THRESHOLD_MODES, LabelSegmenter, dissect

_HOMES = {
    "PlantedSceneGenerator": "planted",
    "SceneLabelSegmenter": "planted",
    "DissectionResult": "result",
    "DissectionSettings": "result",
    "LayerDissection": "result",
    "LayerSummary": "result",
    "UnitRecord": "result",
    "THRESHOLD_MODES": "runner",
    "LabelSegmenter": "runner",
    "dissect": "runner",
}

__all__ = [
    "THRESHOLD_MODES",
    "DissectionResult",
    "DissectionSettings",
    "LabelSegmenter",
    "LayerDissection",
    "LayerSummary",
    "PlantedSceneGenerator",
    "SceneLabelSegmenter",
    "UnitRecord",
    "dissect",
]

__getattr__ = lazy_exports(__name__, _HOMES)
