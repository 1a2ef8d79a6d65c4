"""Compare two dissections: interpretable units per layer and category, concept counts, lineage.

GAN Dissection (Bau et al., ICLR 2019, arXiv:1811.10597, section 4.1, Fig. 6-7) compares layers,
models and training checkpoints by how many units match object, part and material concepts.
:func:`compare_dissections` takes two dissections (each a ``dissect.json`` document, i.e.
``DissectionResult.to_dict()``, or a :class:`~ganlens.dissect.DissectionResult`) and, per layer the
two share, reports both sides' interpretable units per category, the concepts whose unit counts
changed, and, where the layer has the same number of units on both sides, the unit lineage (unit u
of A against unit u of B; meaningful for checkpoints of one training run), with the lineage's
stability from :class:`~ganlens.dissect.lineage.UnitLineage`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from ganlens.dissect.lineage import UnitLineage
from ganlens.dissect.result import DissectionResult, LayerDissection, LayerSummary, UnitRecord

__all__ = ["compare_dissections", "is_dissection", "layer_units", "lineage_of"]


def layer_units(dissection: Mapping[str, Any] | DissectionResult) -> dict[str, list[UnitRecord]]:
    """Unit records per layer of a dissection.

    Args:
        dissection: A ``dissect.json`` document (``DissectionResult.to_dict()``) or a
            :class:`~ganlens.dissect.DissectionResult`.

    Returns:
        Layer name to its :class:`~ganlens.dissect.UnitRecord` list, in unit order.

    Raises:
        ValueError: If a document is not a ganlens ``dissect.json``.

    Example:
        >>> from ganlens.dissect.result import DissectionSettings
        >>> unit = UnitRecord(0, "sky", 1, "object", 0.3, 0.1, 1.0, True, ())
        >>> layer = LayerDissection("layer4", (unit,), LayerSummary(1, 1, 1, {}, {"sky": 1}),
        ...                         torch.tensor([[0.0, 0.3]]))
        >>> s = DissectionSettings("quantile", 0.01, "unrestricted", 8, 4, 4, 0.05, None, 1)
        >>> doc = DissectionResult({"layer4": layer}, s, ("-", "sky"), ("none", "object")).to_dict()
        >>> layer_units(doc)["layer4"][0].concept
        'sky'
    """
    if not isinstance(dissection, DissectionResult):
        dissection = DissectionResult.from_dict(dissection)
    return {name: list(layer.units) for name, layer in dissection.layers.items()}


def _side(units: list[UnitRecord]) -> dict[str, Any]:
    shown = [u for u in units if u.interpretable]
    categories: dict[str, int] = {}
    concepts: dict[str, int] = {}
    for unit in shown:
        categories[unit.category] = categories.get(unit.category, 0) + 1
        concepts[unit.concept] = concepts.get(unit.concept, 0) + 1
    return {
        "units": len(units),
        "interpretable": len(shown),
        "categories": dict(sorted(categories.items())),
        "concepts": dict(sorted(concepts.items(), key=lambda kv: (-kv[1], kv[0]))),
    }


def lineage_of(name: str, a: list[UnitRecord], b: list[UnitRecord]) -> UnitLineage:
    """A two-evaluation :class:`UnitLineage` of one layer (A at epoch 0, B at epoch 1).

    Concept indices are assigned from the concept names of both sides (sorted; 0 = none).

    Args:
        name: The layer's name.
        a: A's unit records.
        b: B's unit records (same count).

    Returns:
        The lineage, with A at epoch 0 and B at epoch 1.

    Example:
        >>> u = lambda i, c: UnitRecord(i, c, 0, "object", 0.3, 0.0, 0.0, c != "-", ())
        >>> lineage_of("l", [u(0, "sky"), u(1, "tree")], [u(0, "sky"), u(1, "sky")]).stability("l")
        0.5
    """
    names = ["-", *sorted({u.concept for u in a + b} - {"-"})]
    lineage = UnitLineage()
    for epoch, units in enumerate((a, b)):
        indexed = tuple(
            UnitRecord(
                u.unit,
                u.concept,
                names.index(u.concept),
                u.category,
                u.iou,
                u.iqr,
                u.threshold,
                u.interpretable,
                (),
            )
            for u in units
        )
        summary = LayerSummary(len(units), 0, 0, {}, {})
        lineage.record(epoch, 0, LayerDissection(name, indexed, summary, torch.zeros(0)))
    return lineage


def _lineage(name: str, a: list[UnitRecord], b: list[UnitRecord]) -> dict[str, Any]:
    kept, changed, gained, lost = 0, [], [], []
    for ua, ub in zip(a, b, strict=True):
        entry = {
            "unit": ua.unit,
            "a": ua.concept,
            "b": ub.concept,
            "iou_a": round(ua.iou, 6),  # as dissect.json stores it
            "iou_b": round(ub.iou, 6),
        }
        if ua.interpretable and ub.interpretable:
            if ua.concept == ub.concept:
                kept += 1
            else:
                changed.append(entry)
        elif ub.interpretable:
            gained.append(entry)
        elif ua.interpretable:
            lost.append(entry)
    return {
        "kept": kept,
        "changed": changed,
        "gained": gained,
        "lost": lost,
        "stability": lineage_of(name, a, b).stability(name),
    }


def compare_dissections(
    a: Mapping[str, Any] | DissectionResult,
    b: Mapping[str, Any] | DissectionResult,
    layers: list[str] | None = None,
) -> dict[str, Any]:
    """Compare two dissections layer by layer.

    Args:
        a: First dissection.
        b: Second dissection.
        layers: Layers to compare (default: those both have, in A's order).

    Returns:
        ``{"layers": [...], "only_a": [...], "only_b": [...]}``; each layer entry has ``layer``,
        ``a`` and ``b`` (``units``, ``interpretable``, ``categories`` {category: count},
        ``concepts`` {concept: count}), ``concept_changes`` (``concept``, ``a``, ``b``,
        ``delta`` for every concept whose interpretable-unit count differs) and ``lineage``
        (``kept``, ``changed``/``gained``/``lost`` unit lists, ``stability``; None when the unit
        counts differ).

    Raises:
        ValueError: If a requested layer is missing on a side (the message lists both sides').

    Example:
        >>> from ganlens.dissect.planted import PlantedSceneGenerator, SceneLabelSegmenter
        >>> from ganlens.dissect import dissect
        >>> seg, z = SceneLabelSegmenter(range(32)), torch.arange(32.0)[:, None]
        >>> def run(planted):
        ...     g = PlantedSceneGenerator(planted)
        ...     return dissect(g, "layer1", seg, z[:16], z[16:], threshold_mode="iqr")
        >>> report = compare_dissections(run(["sky", "grass"]), run(["sky", "water"]))
        >>> [(c["concept"], c["delta"]) for c in report["layers"][0]["concept_changes"]]
        [('grass', -1), ('water', 1)]
        >>> [(u["unit"], u["a"], u["b"]) for u in report["layers"][0]["lineage"]["changed"]]
        [(1, 'grass', 'water')]
    """
    units_a, units_b = layer_units(a), layer_units(b)
    chosen = layers if layers is not None else [n for n in units_a if n in units_b]
    missing = [n for n in chosen if n not in units_a or n not in units_b]
    if missing:
        raise ValueError(
            f"layers {missing} are not in both dissections; A has {list(units_a)}, "
            f"B has {list(units_b)}"
        )
    entries = []
    for name in chosen:
        side_a, side_b = _side(units_a[name]), _side(units_b[name])
        concepts = sorted(set(side_a["concepts"]) | set(side_b["concepts"]))
        changes = [
            {
                "concept": c,
                "a": side_a["concepts"].get(c, 0),
                "b": side_b["concepts"].get(c, 0),
                "delta": side_b["concepts"].get(c, 0) - side_a["concepts"].get(c, 0),
            }
            for c in concepts
            if side_a["concepts"].get(c, 0) != side_b["concepts"].get(c, 0)
        ]
        same = len(units_a[name]) == len(units_b[name])
        lineage = _lineage(name, units_a[name], units_b[name]) if same else None
        entries.append(
            {
                "layer": name,
                "a": side_a,
                "b": side_b,
                "concept_changes": changes,
                "lineage": lineage,
            }
        )
    return {
        "layers": entries,
        "only_a": [n for n in units_a if n not in units_b],
        "only_b": [n for n in units_b if n not in units_a],
    }


def is_dissection(source: str) -> bool:
    """Whether ``source`` names a dissection (a folder with ``dissect.json`` or a ``.json``).

    Args:
        source: A generator source or a dissection path.

    Returns:
        True for a dissection.

    Example:
        >>> is_dissection("scene"), is_dissection("outputs/run/dissect.json")
        (False, True)
    """
    path = Path(source)
    return path.suffix == ".json" or (path.is_dir() and (path / "dissect.json").is_file())
