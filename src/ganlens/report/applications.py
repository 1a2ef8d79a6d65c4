"""The applications' results (GAN Dissection, section 4) as a section of the dissection report.

``ganlens artifacts``, ``context`` and ``compare`` each write a JSON file and pictures into their
``--out`` folder. When that folder lies inside a dissection folder (``--out DIR/artifacts``, say),
``ganlens report DIR`` shows them on ``dissect.html``: :func:`application_views` finds them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

__all__ = ["application_views"]

_TITLES = {
    "artifacts.json": "Artifact units (section 4.3)",
    "context.json": "Insertion in context (section 4.4)",
    "compare.json": "Comparison (section 4.1)",
}


def _pictures(images: Any) -> Iterator[str]:
    """Every file name in an ``images`` entry (names, or a mapping of them, nested)."""
    if isinstance(images, str):
        yield images
    elif isinstance(images, Mapping):
        for value in images.values():
            yield from _pictures(value)


def _lines(name: str, record: Mapping[str, Any]) -> list[str]:
    if name == "artifacts.json":
        summary = record.get("summary", {})
        changes = ", ".join(f"{k} {v:+.3f}" for k, v in summary.get("change", {}).items())
        control = ", ".join(f"{k} {v:+.3f}" for k, v in summary.get("control_change", {}).items())
        worst = ", ".join(map(str, summary.get("worst_units", [])))
        return [
            f"Worst units: {worst}",
            f"Ablating them changes {changes or '-'} (random units: {control or '-'})",
        ]
    if name == "context.json":
        rows = [
            f"{row['context']}: {row['successes']} of {row['cells']} cells "
            f"({100 * row['success_rate']:.1f}%)"
            for row in record.get("table", [])
        ]
        return [f"Inserting {record.get('concept')} at {record.get('layer')}", *rows]
    layers = [f"{entry['layer']}: {entry['a']['interpretable']} -> {entry['b']['interpretable']} "
              "interpretable units" for entry in record.get("layers", [])]  # fmt: skip
    return [f"{record.get('a')} vs {record.get('b')}", *layers]


def application_views(directory: str | Path) -> list[dict[str, Any]]:
    """The application results in the folders directly under ``directory``, for the report.

    Args:
        directory: A dissection's output folder.

    Returns:
        One view per result: ``title``, ``folder``, ``lines`` (a short summary) and ``images``
        (paths relative to ``directory``); unreadable files are skipped.

    Example:
        >>> import tempfile
        >>> root = Path(tempfile.mkdtemp()); (root / "context").mkdir()
        >>> row = {"context": "wall", "cells": 4, "successes": 1, "success_rate": 0.25}
        >>> record = {"concept": "door", "layer": "layer4", "table": [row],
        ...           "images": {"grid": "context_grid.png"}}
        >>> _ = (root / "context" / "context.json").write_text(json.dumps(record))
        >>> view = application_views(root)[0]
        >>> view["lines"][1], view["images"]
        ('wall: 1 of 4 cells (25.0%)', ['context/context_grid.png'])
    """
    views = []
    for name, title in _TITLES.items():
        for path in sorted(Path(directory).glob(f"*/{name}")):
            try:
                record = json.loads(path.read_text())
                lines = _lines(name, record)
            except (OSError, ValueError, KeyError, TypeError, AttributeError):
                continue
            folder = path.parent.name
            images = [f"{folder}/{p}" for p in _pictures(record.get("images"))]
            views.append({"title": title, "folder": folder, "lines": lines, "images": images})
    return views
