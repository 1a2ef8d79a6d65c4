"""``dissect.json``: a dissection as one documented JSON file (schema ``dissect.schema.json``).

GAN Dissection (Bau et al., ICLR 2019, arXiv:1811.10597, section 3.1) labels each unit with the
concept of highest IoU(u, c) (eq. 1) and summarises each layer by its interpretable units and class
distribution. :func:`build_dissect_json` turns a :class:`~ganlens.dissect.DissectionResult` into
the document that ``dissect.py units`` writes; its JSON Schema ships beside this module
(:data:`SCHEMA_PATH`) and :func:`validate_dissect_json` checks a document against it.

**Rankings** are stored lower-is-better, one score per unit, so painting clients can sort units
the same way for every metric: ``metric "iou"`` scores are ``-IoU(u, c)``; ``metric "ace"`` scores
are the unit's position in the ACE fit's ranking (0 = most causal; units the fit did not rank get
the number of units). :func:`fold_ace` adds the ACE rankings and curves that ``dissect.py ace``
wrote under ``DIR/ace/<layer>/<concept>.json``.
"""

from __future__ import annotations

import importlib
import json
import logging
from collections.abc import Mapping
from dataclasses import asdict
from importlib import resources
from pathlib import Path
from typing import Any

from ganlens.data.vocabulary import CATEGORIES
from ganlens.dissect.cache import atomic_write_text
from ganlens.dissect.result import DissectionResult

__all__ = [
    "FORMAT",
    "SCHEMA_PATH",
    "build_dissect_json",
    "fold_ace",
    "load_schema",
    "read_dissect_json",
    "validate_dissect_json",
    "write_dissect_json",
]

FORMAT = "ganlens-dissect/1"
"""Value of the document's ``format`` key; bumped when the schema changes incompatibly."""

SCHEMA_PATH = Path(str(resources.files("ganlens.report") / "dissect.schema.json"))
"""The JSON Schema (draft 2020-12) of ``dissect.json``, shipped as package data."""

_ACE_KEYS = ("layer", "concept", "num_units", "ranking", "curves")
_log = logging.getLogger(__name__)


def _round(value: float) -> float:
    return round(float(value), 6) + 0.0  # + 0.0 turns -0.0 into 0.0


def build_dissect_json(
    result: DissectionResult,
    *,
    categories: tuple[str, ...],
    model: Mapping[str, Any],
    extra_settings: Mapping[str, Any] | None = None,
    images: Mapping[str, Mapping[int, str]] | None = None,
    version: str | None = None,
) -> dict[str, Any]:
    """The ``dissect.json`` document of a dissection.

    Args:
        result: The dissection.
        categories: Category of each vocabulary index (``Vocabulary.categories``), ``"none"`` at 0.
        model: Identity of the generator: ``source`` (how it was named), ``fingerprint`` (weights
            hash), ``class`` and ``resolution`` (None where unknown).
        extra_settings: Settings beyond :class:`~ganlens.dissect.DissectionSettings` (seed,
            segmenter, images per unit, ...), merged into ``settings``.
        images: Per layer, unit index to the path of its picture relative to the document.
        version: ganlens version (default: the installed one).

    Returns:
        The document (plain JSON values).

    Example:
        >>> import torch
        >>> from ganlens.dissect import dissect
        >>> from ganlens.dissect.planted import PlantedSceneGenerator, SceneLabelSegmenter
        >>> seg, z = SceneLabelSegmenter(range(16)), torch.arange(16.0)[:, None]
        >>> result = dissect(PlantedSceneGenerator(["sky"]), "layer1", seg, z)
        >>> doc = build_dissect_json(result, categories=seg.vocabulary.categories,
        ...                          model={"source": "toy", "fingerprint": "0" * 64})
        >>> unit = doc["layers"][0]["units"][0]
        >>> unit["concept"], unit["iou"] > 0, doc["layers"][0]["rankings"][0]["metric"]
        ('sky', True, 'iou')
    """
    if version is None:
        from ganlens import __version__ as version
    names = result.concept_names
    if len(categories) != len(names):
        raise ValueError(
            f"categories must have one entry per concept ({len(names)}); got {len(categories)}"
        )
    vocabulary = [
        {"index": i, "name": name, "category": category}
        for i, (name, category) in enumerate(zip(names, categories, strict=True))
    ]
    layers = []
    for name, layer in result.layers.items():
        pictures = (images or {}).get(name, {})
        summary = layer.summary
        distribution = [
            {"concept": concept, "category": categories[names.index(concept)], "count": count}
            for concept, count in summary.units_per_concept.items()
        ]
        units = [
            {
                "unit": u.unit,
                "concept": u.concept,
                "concept_index": u.concept_index,
                "category": u.category,
                "iou": _round(u.iou),
                "iqr": _round(u.iqr),
                "threshold": _round(u.threshold),
                "interpretable": u.interpretable,
                "top_samples": list(u.top_samples),
                "image": pictures.get(u.unit),
            }
            for u in layer.units
        ]
        table = layer.iou_table  # [U, C]
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
        layers.append(
            {
                "layer": name,
                "num_units": summary.num_units,
                "summary": {
                    "num_units": summary.num_units,
                    "num_interpretable": summary.num_interpretable,
                    "num_concepts": summary.num_concepts,
                    "category_counts": dict(summary.category_counts),
                    "class_distribution": distribution,
                },
                "units": units,
                "rankings": rankings,
                "ace": [],
            }
        )
    settings = {**asdict(result.settings), **(extra_settings or {})}
    return {
        "format": FORMAT,
        "ganlens_version": version,
        "model": dict(model),
        "settings": settings,
        "categories": [c for c in CATEGORIES if c in categories],
        "vocabulary": vocabulary,
        "layers": layers,
    }


def _read_ace(path: Path) -> dict[str, Any]:
    try:
        record = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise ValueError(f"ACE result {path} is not readable JSON: {error}") from error
    missing = [key for key in _ACE_KEYS if key not in record]
    if missing or "ace" not in record.get("ranking", {}):
        raise ValueError(
            f"ACE result {path} lacks keys {missing or ['ranking.ace']}; expected "
            f"{', '.join(_ACE_KEYS)} (with ranking.ace), as written by dissect.py ace"
        )
    return dict(record)


def fold_ace(document: dict[str, Any], directory: str | Path) -> dict[str, Any]:
    """Add the ACE results under ``directory/ace/<layer>/<concept>.json`` to ``document``.

    For each result, the layer gets a ranking ``{"name": "<concept>-ace", "metric": "ace"}``
    (scores: rank positions, lower is better) and an ``ace`` entry with the fit's ranking, its
    curves and the paths of the JSON and PNG files (relative to ``directory``). Earlier ACE
    entries are replaced, so folding twice gives the same document. Results of layers the
    document does not hold are skipped with a warning.

    Args:
        document: A ``dissect.json`` document (modified in place and returned).
        directory: The dissection's output folder.

    Returns:
        ``document``.

    Raises:
        ValueError: If an ACE file is unreadable or lacks required keys (the message names it).

    Example:
        >>> import tempfile
        >>> root = Path(tempfile.mkdtemp()); (root / "ace" / "layer1").mkdir(parents=True)
        >>> ace = {"layer": "layer1", "concept": "sky", "num_units": 3, "alpha": [0.1, 0.9, 0.0],
        ...        "ranking": {"ace": [1, 0], "iou": [0, 1]},
        ...        "curves": {"n": [1, 2], "ablation": {"ace": [0.5, 0.6]}}}
        >>> _ = (root / "ace" / "layer1" / "sky.json").write_text(json.dumps(ace))
        >>> doc = {"layers": [{"layer": "layer1", "num_units": 3, "rankings": [], "ace": []}]}
        >>> fold_ace(doc, root)["layers"][0]["rankings"][0]["score"]
        [1, 0, 3]
    """
    directory = Path(directory)
    by_layer = {layer["layer"]: layer for layer in document["layers"]}
    for layer in by_layer.values():
        layer["rankings"] = [r for r in layer["rankings"] if r["metric"] != "ace"]
        layer["ace"] = []
    for path in sorted((directory / "ace").glob("*/*.json")):
        record = _read_ace(path)
        layer = by_layer.get(str(record["layer"]))
        if layer is None:
            _log.warning("skipping %s: layer %r was not dissected", path, record["layer"])
            continue
        count = int(layer["num_units"])
        order = [int(u) for u in record["ranking"]["ace"]]
        score = [count] * count
        for position, unit in enumerate(order):
            if 0 <= unit < count:
                score[unit] = min(score[unit], position)
        concept = str(record["concept"])
        layer["rankings"].append(
            {"name": f"{concept}-ace", "concept": concept, "metric": "ace", "score": score}
        )
        image = path.with_suffix(".png")
        layer["ace"].append(
            {
                "concept": concept,
                "file": path.relative_to(directory).as_posix(),
                "image": image.relative_to(directory).as_posix() if image.is_file() else None,
                "num_units": int(record["num_units"]),
                "ranking": order,
                "alpha": [float(a) for a in record.get("alpha", [])],
                "curves": record["curves"],
            }
        )
    return document


def write_dissect_json(document: Mapping[str, Any], path: str | Path) -> Path:
    """Write ``document`` to ``path`` atomically (indented, UTF-8).

    Example:
        >>> import tempfile
        >>> path = write_dissect_json({"format": FORMAT}, Path(tempfile.mkdtemp()) / "d.json")
        >>> read_dissect_json(path)["format"]
        'ganlens-dissect/1'
    """
    return atomic_write_text(path, json.dumps(document, indent=1) + "\n")


def read_dissect_json(path: str | Path) -> dict[str, Any]:
    """Read a ``dissect.json`` (a folder means its ``dissect.json``).

    Raises:
        FileNotFoundError: If there is no such file.
        ValueError: If it is not a ganlens ``dissect.json`` (wrong or missing ``format``).

    Example:
        >>> read_dissect_json("/nonexistent")
        Traceback (most recent call last):
        ...
        FileNotFoundError: no dissect.json at /nonexistent/dissect.json ...
    """
    path = Path(path)
    if path.is_dir() or not path.suffix:
        path = path / "dissect.json"
    if not path.is_file():
        raise FileNotFoundError(f"no dissect.json at {path} (run `dissect.py units` first)")
    document: dict[str, Any] = json.loads(path.read_text())
    if document.get("format") != FORMAT:
        raise ValueError(f"{path} has format {document.get('format')!r}; expected {FORMAT!r}")
    return document


def load_schema() -> dict[str, Any]:
    """The JSON Schema of ``dissect.json``.

    Example:
        >>> load_schema()["$schema"]
        'https://json-schema.org/draft/2020-12/schema'
    """
    schema: dict[str, Any] = json.loads(SCHEMA_PATH.read_text())
    return schema


def validate_dissect_json(document: Mapping[str, Any]) -> None:
    """Check ``document`` against the schema and the cross-field rules it cannot express.

    Needs the ``jsonschema`` package (in the ``dev`` extra).

    Raises:
        ValueError: On the first violation, with its location in the document.

    Example:
        >>> validate_dissect_json({"format": FORMAT})
        Traceback (most recent call last):
        ...
        ValueError: dissect.json is invalid at (root): '...' is a required property
    """
    jsonschema = importlib.import_module("jsonschema")  # dev extra; imported only here
    validator = jsonschema.Draft202012Validator(load_schema())
    error = jsonschema.exceptions.best_match(validator.iter_errors(document))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(root)"
        raise ValueError(f"dissect.json is invalid at {where}: {error.message}")
    for layer in document["layers"]:
        count = layer["num_units"]
        if len(layer["units"]) != count or [u["unit"] for u in layer["units"]] != list(
            range(count)
        ):
            raise ValueError(f"layer {layer['layer']}: units must be 0..{count - 1} in order")
        for ranking in layer["rankings"]:
            if len(ranking["score"]) != count:
                raise ValueError(
                    f"layer {layer['layer']}: ranking {ranking['name']} has "
                    f"{len(ranking['score'])} scores; expected one per unit ({count})"
                )
