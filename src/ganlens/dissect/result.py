"""Typed results of :func:`ganlens.dissect.dissect`, and their one serialised form.

GAN Dissection (Bau et al., ICLR 2019, arXiv:1811.10597, section 3.1): every unit u of a layer gets
its threshold t_u, best concept c, IoU(u, c) (eq. 1) and IQR, and the layer is summarised by its
interpretable units, distinct concepts, units per category and class distribution.

**One record format.** :meth:`DissectionResult.to_dict` gives the ``dissect.json`` document
(JSON Schema ``dissect.schema.json`` beside this module) and :meth:`DissectionResult.from_dict`
reads it back; the per-layer cache, the JSON writer and every reader (ACE, painting, the
applications, the report) go through these two methods. Floats are rounded to 6 decimals.
**Rankings** are stored lower-is-better, one score per unit, so clients sort units the same way
for every metric: ``metric "iou"`` scores are ``-IoU(u, c)`` (one ranking per concept that some
unit overlaps; ``iou_table`` is rebuilt from them); ``metric "ace"`` scores are the unit's
position in an ACE fit's ranking (0 = most causal; unranked units get the number of units).
(Over 300 lines: the record types and their one serialised form belong together.)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import torch
from torch import Tensor

from ganlens.data.vocabulary import CATEGORIES
from ganlens.functional.dissection import LayerSummary

__all__ = [
    "FORMAT",
    "AceResult",
    "DissectionResult",
    "DissectionSettings",
    "LayerDissection",
    "LayerSummary",
    "UnitRecord",
]

FORMAT = "ganlens-dissect/1"
"""Value of the document's ``format`` key; bumped when the schema changes incompatibly."""


def _round(value: float) -> float:
    return round(float(value), 6) + 0.0  # + 0.0 turns -0.0 into 0.0


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
        image: Path of the unit's picture relative to ``dissect.json`` (None: not drawn).

    Example:
        >>> unit = UnitRecord(3, "sky", 1, "object", 0.4, 0.2, 0.7, True, (5, 2))
        >>> UnitRecord.from_dict(unit.to_dict()) == unit
        True
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
    image: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The unit's entry in ``dissect.json``."""
        values = asdict(self)
        values.update({k: _round(values[k]) for k in ("iou", "iqr", "threshold")})
        return {**values, "top_samples": list(self.top_samples)}

    @classmethod
    def from_dict(cls, entry: Mapping[str, Any]) -> UnitRecord:
        """Read an entry written by :meth:`to_dict`."""
        return cls(**{**entry, "top_samples": tuple(int(i) for i in entry["top_samples"])})


@dataclass(frozen=True)
class AceResult:
    """An ACE fit of one concept at one layer, as folded into ``dissect.json``.

    Attributes:
        concept: The concept.
        file: The fit's JSON, relative to ``dissect.json``.
        image: The fit's plot, relative to ``dissect.json`` (None: absent).
        num_units: Units of the layer.
        ranking: Unit ids, most causal first.
        alpha: Fitted per-unit coefficients (empty when the file has none).
        curves: Effect of ablating / inserting the top n units (``n``, ``ablation``,
            ``insertion``, each per ranking).

    Example:
        >>> AceResult("tree", "ace/l/tree.json", None, 3, (2, 0), (), {}).scores()
        [1, 3, 0]
    """

    concept: str
    file: str
    image: str | None
    num_units: int
    ranking: tuple[int, ...]
    alpha: tuple[float, ...]
    curves: dict[str, Any]

    def scores(self) -> list[int]:
        """Lower-is-better score of every unit: its ranking position, ``num_units`` if unranked."""
        score = [self.num_units] * self.num_units
        for position, unit in enumerate(self.ranking):
            if 0 <= unit < self.num_units:
                score[unit] = min(score[unit], position)
        return score

    def to_dict(self) -> dict[str, Any]:
        """The fit's entry in ``dissect.json``."""
        return {**asdict(self), "ranking": list(self.ranking), "alpha": list(self.alpha)}

    @classmethod
    def from_dict(cls, entry: Mapping[str, Any]) -> AceResult:
        """Read an entry written by :meth:`to_dict`."""
        return cls(
            str(entry["concept"]), str(entry["file"]), entry.get("image"),
            int(entry["num_units"]), tuple(int(u) for u in entry["ranking"]),
            tuple(float(a) for a in entry.get("alpha", ())), dict(entry["curves"]),
        )  # fmt: skip


@dataclass(frozen=True)
class LayerDissection:
    """Dissection of one layer.

    Attributes:
        layer: Dotted layer name.
        units: One :class:`UnitRecord` per unit, in channel order.
        summary: The layer's :class:`~ganlens.functional.dissection.LayerSummary`.
        iou_table: float32 ``[U, C]`` IoU of every unit with every concept at its threshold.
        ace: ACE fits of concepts at this layer (:class:`AceResult`), when any were folded in.

    Example:
        >>> summary = LayerSummary(1, 0, 0, {"object": 0}, {})
        >>> layer = LayerDissection("layer4", (), summary, torch.zeros(1, 2))
        >>> layer.interpretable_units()
        []
    """

    layer: str
    units: tuple[UnitRecord, ...]
    summary: LayerSummary
    iou_table: Tensor
    ace: tuple[AceResult, ...] = ()

    def interpretable_units(self) -> list[UnitRecord]:
        """The interpretable units, highest IoU first."""
        return sorted((u for u in self.units if u.interpretable), key=lambda u: -u.iou)

    def to_dict(self, names: Sequence[str], categories: Sequence[str]) -> dict[str, Any]:
        """The layer's entry in ``dissect.json``.

        Args:
            names: Concept names by vocabulary index.
            categories: Category of each vocabulary index.

        Example:
            >>> summary = LayerSummary(1, 1, 1, {"object": 1}, {"sky": 1})
            >>> unit = UnitRecord(0, "sky", 1, "object", 0.5, 0.2, 0.3, True, (2, 0))
            >>> layer = LayerDissection("l1", (unit,), summary, torch.tensor([[0.0, 0.5]]))
            >>> entry = layer.to_dict(("-", "sky"), ("none", "object"))
            >>> entry["rankings"][0]["score"]
            [-0.5]
            >>> LayerDissection.from_dict(entry, ("-", "sky")).iou_table.tolist()
            [[0.0, 0.5]]
        """
        summary = self.summary
        distribution = [
            {"concept": concept, "category": categories[list(names).index(concept)], "count": n}
            for concept, n in summary.units_per_concept.items()
        ]
        table = self.iou_table  # [U, C]
        rankings = [
            {
                "name": f"{names[c]}-iou",
                "concept": names[c],
                "metric": "iou",
                "score": [_round(-v) for v in table[:, c].tolist()],
            }
            for c in range(1, table.shape[1])
            if float(table[:, c].max()) > 0
        ]
        rankings += [
            {"name": f"{a.concept}-ace", "concept": a.concept, "metric": "ace", "score": a.scores()}
            for a in self.ace
        ]
        return {
            "layer": self.layer,
            "num_units": summary.num_units,
            "summary": {
                "num_units": summary.num_units,
                "num_interpretable": summary.num_interpretable,
                "num_concepts": summary.num_concepts,
                "category_counts": dict(summary.category_counts),
                "class_distribution": distribution,
            },
            "units": [unit.to_dict() for unit in self.units],
            "rankings": rankings,
            "ace": [a.to_dict() for a in self.ace],
        }

    @classmethod
    def from_dict(cls, entry: Mapping[str, Any], names: Sequence[str]) -> LayerDissection:
        """Read an entry written by :meth:`to_dict` (``iou_table`` from its IoU rankings)."""
        s = entry["summary"]
        summary = LayerSummary(
            s["num_units"], s["num_interpretable"], s["num_concepts"], dict(s["category_counts"]),
            {d["concept"]: int(d["count"]) for d in s["class_distribution"]},
        )  # fmt: skip
        table = torch.zeros(int(entry["num_units"]), len(names))  # [U, C]
        for ranking in entry["rankings"]:
            if ranking["metric"] == "iou" and ranking["concept"] in names:
                column = list(names).index(ranking["concept"])
                table[:, column] = -torch.tensor(ranking["score"], dtype=torch.float32)
        table += 0.0  # no negative zeros
        units = tuple(UnitRecord.from_dict(u) for u in entry["units"])
        ace = tuple(AceResult.from_dict(a) for a in entry.get("ace", ()))
        return cls(str(entry["layer"]), units, summary, table, ace)


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
        concept_categories: The category of each vocabulary index (``"none"`` at 0; empty when
            unknown, then every concept counts as ``"object"`` in :meth:`to_dict`).
        model: Identity of the generator: ``source``, ``fingerprint``, ``class``, ``resolution``.
        extra_settings: Settings beyond :class:`DissectionSettings` (seed, segmenter, ...).
        version: ganlens version that wrote it (default: the running one).

    Example:
        >>> settings = DissectionSettings("iqr", 0.01, "unrestricted", 32, 8, 8, 0.05, 0.01, 100)
        >>> result = DissectionResult({}, settings, ("-", "sky"), ("none", "object"))
        >>> doc = result.to_dict()
        >>> doc["format"], doc["settings"]["threshold_mode"], doc["vocabulary"][1]["category"]
        ('ganlens-dissect/1', 'iqr', 'object')
        >>> DissectionResult.from_dict(doc).settings == settings
        True
    """

    layers: dict[str, LayerDissection]
    settings: DissectionSettings
    concept_names: tuple[str, ...]
    concept_categories: tuple[str, ...] = ()
    model: dict[str, Any] = field(default_factory=dict)
    extra_settings: dict[str, Any] = field(default_factory=dict)
    version: str = ""

    def __getitem__(self, layer: str) -> LayerDissection:
        """The dissection of ``layer``."""
        return self.layers[layer]

    def categories(self) -> tuple[str, ...]:
        """Category of each vocabulary index (``"none"`` at 0)."""
        if self.concept_categories:
            return self.concept_categories
        return ("none",) + ("object",) * (len(self.concept_names) - 1)

    def with_layers(self, layers: Mapping[str, LayerDissection]) -> DissectionResult:
        """A copy with ``layers`` in place of this result's layers."""
        return replace(self, layers=dict(layers))

    def to_dict(self) -> dict[str, Any]:
        """The ``dissect.json`` document: plain JSON values, see the module docstring."""
        from ganlens import __version__

        names, categories = self.concept_names, self.categories()
        if len(categories) != len(names):
            raise ValueError(
                f"concept_categories must have one entry per concept ({len(names)}); "
                f"got {len(categories)}"
            )
        vocabulary = [
            {"index": i, "name": name, "category": category}
            for i, (name, category) in enumerate(zip(names, categories, strict=True))
        ]
        return {
            "format": FORMAT,
            "ganlens_version": self.version or __version__,
            "model": dict(self.model),
            "settings": {**asdict(self.settings), **self.extra_settings},
            "categories": [c for c in CATEGORIES if c in categories],
            "vocabulary": vocabulary,
            "layers": [layer.to_dict(names, categories) for layer in self.layers.values()],
        }

    @classmethod
    def from_dict(cls, document: Mapping[str, Any]) -> DissectionResult:
        """Read a document written by :meth:`to_dict`.

        Raises:
            ValueError: If ``document`` is not a ganlens ``dissect.json`` (wrong ``format``).
        """
        if document.get("format") != FORMAT:
            raise ValueError(f"format is {document.get('format')!r}; expected {FORMAT!r}")
        vocabulary = sorted(document["vocabulary"], key=lambda entry: int(entry["index"]))
        names = tuple(str(entry["name"]) for entry in vocabulary)
        known = {f for f in DissectionSettings.__dataclass_fields__}
        settings = {k: v for k, v in document["settings"].items() if k in known}
        return cls(
            layers={e["layer"]: LayerDissection.from_dict(e, names) for e in document["layers"]},
            settings=DissectionSettings(**settings),
            concept_names=names,
            concept_categories=tuple(str(entry["category"]) for entry in vocabulary),
            model=dict(document.get("model", {})),
            extra_settings={k: v for k, v in document["settings"].items() if k not in known},
            version=str(document.get("ganlens_version", "")),
        )
