"""``dissect.json`` on disk: write, read, validate, and fold in ACE fits.

The document is :meth:`~ganlens.dissect.result.DissectionResult.to_dict` of a dissection (GAN
Dissection, Bau et al., ICLR 2019, section 3.1); its JSON Schema ships beside this module
(:data:`SCHEMA_PATH`). :func:`fold_ace` attaches the ACE fits (section 3.2) that ``dissect.py
ace`` wrote under ``DIR/ace/<layer>/<concept>.json``.
"""

from __future__ import annotations

import importlib
import json
import logging
from collections.abc import Mapping
from dataclasses import replace
from importlib import resources
from pathlib import Path
from typing import Any

from ganlens.dissect.result import FORMAT, AceResult, DissectionResult
from ganlens.io import atomic_write_text

__all__ = [
    "FORMAT",
    "SCHEMA_PATH",
    "fold_ace",
    "load_schema",
    "read_dissection",
    "read_document",
    "validate_dissect_json",
    "write_dissection",
]

SCHEMA_PATH = Path(str(resources.files("ganlens.dissect") / "dissect.schema.json"))
"""The JSON Schema (draft 2020-12) of ``dissect.json``, shipped as package data."""

_ACE_KEYS = ("layer", "concept", "num_units", "ranking", "curves")
_log = logging.getLogger(__name__)


def write_dissection(result: DissectionResult, path: str | Path) -> Path:
    """Write ``result`` as ``dissect.json`` at ``path`` atomically (indented, UTF-8).

    Example:
        >>> import tempfile
        >>> from ganlens.dissect.result import DissectionSettings
        >>> settings = DissectionSettings("quantile", 0.01, "unrestricted", 8, 4, 4, 0.05, None, 1)
        >>> result = DissectionResult({}, settings, ("-", "sky"), ("none", "object"))
        >>> path = write_dissection(result, Path(tempfile.mkdtemp()) / "dissect.json")
        >>> read_dissection(path).concept_names
        ('-', 'sky')
    """
    return atomic_write_text(path, json.dumps(result.to_dict(), indent=1) + "\n")


def read_document(path: str | Path) -> dict[str, Any]:
    """The raw ``dissect.json`` document (a folder means its ``dissect.json``).

    Raises:
        FileNotFoundError: If there is no such file.
        ValueError: If it is not readable JSON or not a ganlens ``dissect.json``.

    Example:
        >>> read_document("/nonexistent")
        Traceback (most recent call last):
        ...
        FileNotFoundError: no dissect.json at /nonexistent/dissect.json ...
    """
    path = Path(path)
    if path.is_dir() or not path.suffix:
        path = path / "dissect.json"
    if not path.is_file():
        raise FileNotFoundError(f"no dissect.json at {path} (run `dissect.py units` first)")
    try:
        document: dict[str, Any] = json.loads(path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"{path} is not readable JSON: {error}") from error
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        found = document.get("format") if isinstance(document, dict) else type(document).__name__
        raise ValueError(f"{path} has format {found!r}; expected {FORMAT!r}")
    return document


def read_dissection(path: str | Path) -> DissectionResult:
    """Read a ``dissect.json`` (or the one in a folder) as a :class:`DissectionResult`.

    Raises:
        FileNotFoundError: If there is no such file.
        ValueError: If it is not a ganlens ``dissect.json``.

    Example:
        >>> read_dissection("/nonexistent")
        Traceback (most recent call last):
        ...
        FileNotFoundError: no dissect.json at /nonexistent/dissect.json ...
    """
    return DissectionResult.from_dict(read_document(path))


def _read_ace(path: Path, directory: Path) -> tuple[str, AceResult]:
    try:
        record = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"ACE result {path} is not readable JSON: {error}") from error
    missing = [key for key in _ACE_KEYS if key not in record]
    if missing or "ace" not in record.get("ranking", {}):
        raise ValueError(
            f"ACE result {path} lacks keys {missing or ['ranking.ace']}; expected "
            f"{', '.join(_ACE_KEYS)} (with ranking.ace), as written by dissect.py ace"
        )
    plots = [path.with_suffix(s) for s in (".svg", ".png") if path.with_suffix(s).is_file()]
    ace = AceResult(
        concept=str(record["concept"]),
        file=path.relative_to(directory).as_posix(),
        image=plots[0].relative_to(directory).as_posix() if plots else None,
        num_units=int(record["num_units"]),
        ranking=tuple(int(u) for u in record["ranking"]["ace"]),
        alpha=tuple(float(a) for a in record.get("alpha", [])),
        curves=dict(record["curves"]),
    )
    return str(record["layer"]), ace


def fold_ace(result: DissectionResult, directory: str | Path) -> DissectionResult:
    """``result`` with the ACE fits under ``directory/ace/<layer>/<concept>.json`` attached.

    Each layer's earlier ACE entries are replaced, so folding twice gives the same result.
    Results of layers ``result`` does not hold are skipped with a warning.

    Args:
        result: A dissection.
        directory: The dissection's output folder.

    Returns:
        A new result whose layers carry their :class:`~ganlens.dissect.result.AceResult` s (and
        so ``"<concept>-ace"`` rankings in :meth:`~DissectionResult.to_dict`).

    Raises:
        ValueError: If an ACE file is unreadable or lacks required keys (the message names it).

    Example:
        >>> import tempfile, torch
        >>> from ganlens.dissect.result import DissectionSettings, LayerDissection, LayerSummary
        >>> root = Path(tempfile.mkdtemp()); (root / "ace" / "layer1").mkdir(parents=True)
        >>> ace = {"layer": "layer1", "concept": "sky", "num_units": 3, "alpha": [0.1, 0.9, 0.0],
        ...        "ranking": {"ace": [1, 0], "iou": [0, 1]},
        ...        "curves": {"n": [1, 2], "ablation": {"ace": [0.5, 0.6]}}}
        >>> _ = (root / "ace" / "layer1" / "sky.json").write_text(json.dumps(ace))
        >>> layer = LayerDissection("layer1", (), LayerSummary(3, 0, 0, {}, {}), torch.zeros(3, 2))
        >>> s = DissectionSettings("quantile", 0.01, "unrestricted", 8, 4, 4, 0.05, None, 1)
        >>> result = DissectionResult({"layer1": layer}, s, ("-", "sky"), ("none", "object"))
        >>> fold_ace(result, root).to_dict()["layers"][0]["rankings"][0]["score"]
        [1, 0, 3]
    """
    directory = Path(directory)
    found: dict[str, list[AceResult]] = {name: [] for name in result.layers}
    for path in sorted((directory / "ace").glob("*/*.json")):
        layer, ace = _read_ace(path, directory)
        if layer not in found:
            _log.warning("skipping %s: layer %r was not dissected", path, layer)
            continue
        found[layer].append(ace)
    return result.with_layers(
        {name: replace(layer, ace=tuple(found[name])) for name, layer in result.layers.items()}
    )


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
