"""Typed results of :func:`ganlens.dissect.dissect`: per layer, per-unit records and a summary.

GAN Dissection (Bau et al., ICLR 2019, arXiv:1811.10597, section 3.1): every unit u of a layer gets
its threshold t_u, best concept c, IoU(u, c) (eq. 1) and IQR, and the layer is summarised by its
interpretable units, distinct concepts, units per category and class distribution
(DESIGN.md section 4.3). :meth:`DissectionResult.to_dict` gives plain JSON-ready values.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from torch import Tensor

from ganlens.functional.dissection import LayerSummary

__all__ = [
    "DissectionResult",
    "DissectionSettings",
    "LayerDissection",
    "LayerSummary",
    "UnitRecord",
]


@dataclass(frozen=True)
class UnitRecord:
    """What one unit detects.

    Attributes:
        unit: Channel index in the layer.
        concept: Name of its best concept (``"-"`` when it overlaps none).
        concept_index: Vocabulary index of that concept (0 for none).
        category: The concept's category (``"none"`` for none).
        iou: IoU(u, concept) on the probe set at ``threshold``.
        iqr: Information quality ratio of the same table.
        threshold: t_u.
        interpretable: Whether IoU (and IQR in ``iqr`` mode) clear the cut-offs.
        top_samples: Probe-set indices of the samples where the unit activates most.

    Example:
        >>> UnitRecord(3, "sky", 1, "object", 0.4, 0.2, 0.7, True, (5, 2)).concept
        'sky'
    """

    unit: int
    concept: str
    concept_index: int
    category: str
    iou: float
    iqr: float
    threshold: float
    interpretable: bool
    top_samples: tuple[int, ...]


@dataclass(frozen=True)
class LayerDissection:
    """Dissection of one layer.

    Attributes:
        layer: Dotted layer name.
        units: One :class:`UnitRecord` per unit, in channel order.
        summary: The layer's :class:`~ganlens.functional.dissection.LayerSummary`.
        iou_table: float32 ``[U, C]`` IoU of every unit with every concept at its threshold.

    Example:
        >>> import torch
        >>> summary = LayerSummary(1, 0, 0, {"object": 0}, {})
        >>> layer = LayerDissection("layer4", (), summary, torch.zeros(1, 2))
        >>> layer.interpretable_units()
        []
    """

    layer: str
    units: tuple[UnitRecord, ...]
    summary: LayerSummary
    iou_table: Tensor

    def interpretable_units(self) -> list[UnitRecord]:
        """The interpretable units, highest IoU first."""
        return sorted((u for u in self.units if u.interpretable), key=lambda u: -u.iou)


@dataclass(frozen=True)
class DissectionSettings:
    """How a dissection was run.

    Attributes:
        threshold_mode: ``"quantile"`` or ``"iqr"``.
        quantile: Top fraction q of the ``quantile`` mode.
        iou_mode: ``"unrestricted"`` or ``"category"``.
        resolution: Segmentation resolution S the featuremaps were upsampled to.
        num_probe: Probe-set samples (IoU is reported on these).
        num_threshold: Samples the thresholds were chosen on.
        min_iou: IoU cut-off for interpretable units.
        min_iqr: IQR cut-off (``iqr`` mode only; None otherwise).
        num_levels: Candidate levels of the IQR search (1 in ``quantile`` mode).

    Example:
        >>> settings = DissectionSettings("quantile", 0.01, "unrestricted", 64, 100, 100, 0.05,
        ...                               None, 1)
        >>> settings.resolution
        64
    """

    threshold_mode: str
    quantile: float
    iou_mode: str
    resolution: int
    num_probe: int
    num_threshold: int
    min_iou: float
    min_iqr: float | None
    num_levels: int


@dataclass(frozen=True)
class DissectionResult:
    """Dissection of several layers of one generator.

    Attributes:
        layers: Layer name to :class:`LayerDissection`, in the order requested.
        settings: The :class:`DissectionSettings`.
        concept_names: The vocabulary's names by index (``"-"`` at 0).

    Example:
        >>> import torch
        >>> settings = DissectionSettings("iqr", 0.01, "unrestricted", 32, 8, 8, 0.05, 0.01, 100)
        >>> result = DissectionResult({}, settings, ("-", "sky"))
        >>> result.to_dict()["settings"]["threshold_mode"]
        'iqr'
    """

    layers: dict[str, LayerDissection]
    settings: DissectionSettings
    concept_names: tuple[str, ...]

    def __getitem__(self, layer: str) -> LayerDissection:
        """The dissection of ``layer``."""
        return self.layers[layer]

    def to_dict(self) -> dict[str, Any]:
        """Plain Python values (JSON-ready): settings, and per layer its summary and units."""
        return {
            "settings": asdict(self.settings),
            "concept_names": list(self.concept_names),
            "layers": {
                name: {
                    "summary": asdict(layer.summary),
                    "units": [
                        {**asdict(unit), "top_samples": list(unit.top_samples)}
                        for unit in layer.units
                    ],
                }
                for name, layer in self.layers.items()
            },
        }
