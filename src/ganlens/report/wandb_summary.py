"""A dissection's summaries as a W&B run: unit tables with images, class distributions as bars.

``dissect.py units --wandb`` (and ``dissect.py report DIR --wandb``) call :func:`log_dissection`
with the ``dissect.json`` document. The run is offline unless the user is logged in
(:func:`wandb_logged_in`; ``WANDB_MODE`` overrides), its files go under the
dissection's folder, and everything is logged in one history row:

* ``<layer>/units``: table of every unit (unit, concept, category, IoU, IQR, threshold,
  interpretable, top samples as a ``wandb.Image``);
* ``<layer>/class_distribution``: bar chart of interpretable units per concept;
* ``layers/comparison``: table of interpretable units per layer and category, and
  ``layers/interpretable_units``: a bar chart of the interpretable units per layer;
* run summary: ``<layer>/num_interpretable``, ``<layer>/num_concepts`` and
  ``<layer>/<category>_units``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from ganlens.report.layer_comparison import layer_comparison_rows

__all__ = ["UNIT_COLUMNS", "log_dissection", "wandb_logged_in"]

UNIT_COLUMNS = (
    "unit", "concept", "category", "iou", "iqr", "threshold", "interpretable", "top_samples",
)  # fmt: skip
"""Columns of the per-layer unit tables."""


RunMode = Literal["online", "offline", "disabled"]


def wandb_logged_in() -> bool:
    """Whether W&B can go online: ``WANDB_MODE``, then an API key in the environment or netrc.

    Example:
        >>> import os
        >>> os.environ["WANDB_MODE"] = "offline"
        >>> wandb_logged_in()
        False
    """
    mode = os.environ.get("WANDB_MODE", "").lower()
    if mode in ("offline", "dryrun", "disabled"):
        return False
    if mode == "online" or os.environ.get("WANDB_API_KEY"):
        return True
    netrc = Path(os.environ.get("NETRC", Path.home() / ".netrc"))
    try:
        return "api.wandb.ai" in netrc.read_text()
    except OSError:
        return False


def _run_mode(mode: RunMode | None) -> RunMode:
    if mode is not None:
        return mode

    return "online" if wandb_logged_in() else "offline"


def log_dissection(
    document: Mapping[str, Any],
    directory: str | Path,
    *,
    project: str = "ganlens",
    name: str | None = None,
    mode: RunMode | None = None,
) -> Path:
    """Log a ``dissect.json`` document (and its unit images) to a new W&B run.

    Args:
        document: The document; unit image paths are relative to ``directory``.
        directory: The dissection's folder; the run's files go to ``directory/wandb``.
        project: W&B project.
        name: Run name (default: W&B picks one).
        mode: ``"online"``, ``"offline"`` or ``"disabled"`` (default: offline unless logged in).

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
        >>> log_dissection(doc, tempfile.mkdtemp(), mode="offline").name.startswith("offline-run")
        True
    """
    import wandb

    directory = Path(directory)
    (directory / "wandb").mkdir(parents=True, exist_ok=True)
    config = {**document["settings"], "model": dict(document["model"])}
    run = wandb.init(
        project=project, name=name, dir=str(directory), mode=_run_mode(mode),
        config=config, job_type="dissect",
    )  # fmt: skip
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
        disabled = run.settings.mode == "disabled" if hasattr(run, "settings") else False
        run_dir = directory / "wandb" if disabled else Path(run.dir).parent
    finally:
        run.finish()
    return run_dir
