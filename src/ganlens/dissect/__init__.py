"""Dissection of generator layers (Bau et al., GAN Dissection, ICLR 2019, section 3.1).

:func:`dissect` runs the two passes (thresholds, then unit-concept counts) over latent sets and
returns a typed :class:`DissectionResult`; :mod:`ganlens.dissect.planted` holds a toy generator
with planted concept units and a ground-truth scene-world segmenter, for tests and examples.
"""

from ganlens.dissect.planted import PlantedSceneGenerator, SceneLabelSegmenter
from ganlens.dissect.result import (
    DissectionResult,
    DissectionSettings,
    LayerDissection,
    LayerSummary,
    UnitRecord,
)
from ganlens.dissect.runner import THRESHOLD_MODES, LabelSegmenter, dissect

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
