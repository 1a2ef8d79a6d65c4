"""The applications of GAN Dissection (Bau et al., ICLR 2019, section 4).

* artifact units (section 4.3): :func:`artifact_scores` and :func:`repair_curve`;
* insertion in context (section 4.4): :func:`insertion_in_context`;
* comparing models and checkpoints (section 4.1): :func:`compare_dissections`.

Their commands (settings, JSON and pictures) are ``ganlens artifacts``, ``context`` and
``compare`` in :mod:`ganlens.commands`. Names are imported on first use (PEP 562).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ganlens.lazy import lazy_exports

if TYPE_CHECKING:
    from ganlens.applications.artifacts import ArtifactScores, artifact_scores
    from ganlens.applications.compare import compare_dissections
    from ganlens.applications.context import ContextTable, insertion_in_context
    from ganlens.applications.quality import QualityMeasure, frechet_distance, quality_measure
    from ganlens.applications.repair import RepairCurve, repair_curve

_HOMES = {
    "ArtifactScores": "artifacts",
    "artifact_scores": "artifacts",
    "compare_dissections": "compare",
    "ContextTable": "context",
    "insertion_in_context": "context",
    "QualityMeasure": "quality",
    "frechet_distance": "quality",
    "quality_measure": "quality",
    "RepairCurve": "repair",
    "repair_curve": "repair",
}

__all__ = [
    "ArtifactScores",
    "ContextTable",
    "QualityMeasure",
    "RepairCurve",
    "artifact_scores",
    "compare_dissections",
    "frechet_distance",
    "insertion_in_context",
    "quality_measure",
    "repair_curve",
]

__getattr__ = lazy_exports(__name__, _HOMES)
