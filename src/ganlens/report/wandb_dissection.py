"""A dissection's summaries as a W&B run: unit tables with images, class distributions as bars.

``dissect.py units --wandb`` (and ``dissect.py report DIR --wandb``) call :func:`log_dissection`
with the ``dissect.json`` document. The run takes ganlens' one W&B mode
(:func:`~ganlens.report.wandb_run.wandb_mode`: offline unless logged in, ``WANDB_MODE`` wins),
its files go under the dissection's folder, and everything is logged in one history row:

* ``<layer>/units``: table of every unit (unit, concept, category, IoU, IQR, threshold,
  interpretable, top samples as a ``wandb.Image``);
* ``<layer>/class_distribution``: bar chart of interpretable units per concept;
* ``layers/comparison``: table of interpretable units per layer and category, and
  ``layers/interpretable_units``: a bar chart of the interpretable units per layer;
* run summary: ``<layer>/num_interpretable``, ``<layer>/num_concepts`` and
  ``<layer>/<category>_units``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ganlens.report.layer_comparison import layer_comparison_rows
from ganlens.report.wandb_run import run_folder, start_run

__all__ = ["UNIT_COLUMNS", "log_dissection"]

UNIT_COLUMNS = (
    "unit", "concept", "category", "iou", "iqr", "threshold", "interpretable", "top_samples",
)  # fmt: skip
"""Columns of the per-layer unit tables."""


def log_dissection(
    document: Mapping[str, Any],
    directory: str | Path,
    *,
    project: str = "ganlens",
    name: str | None = None,
) -> Path:
    """Log a ``dissect.json`` document (and its unit images) to a new W&B run.

    Args:
        document: The document; unit image paths are relative to ``directory``.
        directory: The dissection's folder; the run's files go to ``directory/wandb``.
        project: W&B project.
        name: Run name (default: W&B picks one).

    Returns:
        The run's local folder (``.../wandb/offline-run-*`` or ``run-*``).

    Example:
        >>> import tempfile
        >>> summary = {"num_units": 1, "num_interpretable": 1, "num_concepts": 1,
        ...            "category_counts": {"object": 1},
        ...            "class_distribution": [{"concept": "sky", "category": "object", "count": 1}]}
        >>> unit = {"unit": 0, "concept": "sky", "category": "object", "iou": 0.4, "iqr": 0.2,
        ...         "threshold": 0.1, "interpretable": True, "top_samples": [3], "image": None}
        >>> doc = {"settings": {"threshold_mode": "quantile"}, "categories": ["object"],
        ...        "model": {"source": "toy"},
        ...        "layers": [{"layer": "layer1", "summary": summary, "units": [unit]}]}
        >>> import os
        >>> os.environ["WANDB_MODE"] = "offline"
        >>> log_dissection(doc, tempfile.mkdtemp()).name.startswith("offline-run")
        True
    """
    import wandb

    directory = Path(directory)
    config = {**document["settings"], "model": dict(document["model"])}
    run = start_run(project, directory, name=name, config=config, job_type="dissect")
    try:
        row: dict[str, Any] = {}
        for layer in document["layers"]:
            key, summary = layer["layer"], layer["summary"]
            table = wandb.Table(columns=[*UNIT_COLUMNS, "image"])
            for unit in layer["units"]:
                image = unit.get("image")
                picture = wandb.Image(str(directory / image)) if image else None
                values = [unit[c] for c in UNIT_COLUMNS[:-1]]
                table.add_data(*values, ", ".join(map(str, unit["top_samples"])), picture)
            distribution = wandb.Table(
                columns=["concept", "units"],
                data=[[e["concept"], e["count"]] for e in summary["class_distribution"]],
            )
            row[f"{key}/units"] = table
            row[f"{key}/class_distribution"] = wandb.plot.bar(
                distribution, "concept", "units", title=f"{key}: interpretable units per concept"
            )
            run.summary[f"{key}/num_interpretable"] = summary["num_interpretable"]
            run.summary[f"{key}/num_concepts"] = summary["num_concepts"]
            for category, count in summary["category_counts"].items():
                run.summary[f"{key}/{category}_units"] = count
        rows = layer_comparison_rows(document)
        if rows:
            names = list(rows[0])
            columns: list[str | int] = list(names)
            comparison = wandb.Table(columns=columns, data=[[r[c] for c in names] for r in rows])
            row["layers/comparison"] = comparison
            row["layers/interpretable_units"] = wandb.plot.bar(
                comparison, "layer", "interpretable", title="interpretable units per layer"
            )
        run.log(row)
        return run_folder(run, directory)
    finally:
        run.finish()
