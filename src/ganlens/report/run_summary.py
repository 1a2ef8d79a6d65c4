"""A training run's per-epoch monitor numbers from its W&B offline log (``ganlens summary``).

:func:`summarize_run` finds the newest ``run-*.wandb`` under a folder, reads it with
:mod:`ganlens.report.wandb_history` and gives, per evaluated epoch, the interpretable units of
every dissected layer next to SWD (with its real-vs-real floor) and FID or FSD; it writes an
offline HTML dashboard of them (``dashboard.html`` beside the run) and says how to upload the run.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ganlens.io import atomic_write_text
from ganlens.report.run_dashboard import render_run_dashboard
from ganlens.report.wandb_history import find_run_files, wait_for_run

__all__ = ["epoch_table", "summarize_run"]

_QUALITY = (
    ("quality/swd", "SWD"),
    ("quality/swd_floor", "SWD floor"),
    ("quality/fid", "FID"),
    ("quality/fsd", "FSD"),
)


def _format(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return "" if value is None else str(value)
    return f"{value:.2f}" if isinstance(value, float) and not value.is_integer() else f"{value:g}"


def epoch_table(history: Sequence[dict[str, Any]]) -> str:
    """A markdown table of the monitor numbers, one row per epoch (rows merged by ``epoch``).

    Example:
        >>> rows = [{"epoch": 3, "dissect/layer4/interpretable_units": 12},
        ...         {"epoch": 3, "quality/swd": 41.5, "quality/swd_floor": 9.25}]
        >>> print(epoch_table(rows))
        | epoch | layer4 units | SWD | SWD floor |
        |---:|---:|---:|---:|
        | 3 | 12 | 41.50 | 9.25 |
    """
    epochs: dict[int, dict[str, Any]] = {}
    for row in history:
        if "epoch" in row and any(k.startswith(("dissect/", "quality/")) for k in row):
            epochs.setdefault(int(row["epoch"]), {}).update(row)
    if not epochs:
        return "(no dissect/ or quality/ numbers were logged)"
    keys = set().union(*epochs.values())
    pattern = re.compile(r"dissect/(.+)/interpretable_units$")
    layers = sorted({m.group(1) for k in keys if (m := pattern.match(k))})
    columns = [(f"dissect/{layer}/interpretable_units", f"{layer} units") for layer in layers]
    columns += [(key, title) for key, title in _QUALITY if key in keys]
    lines = [
        "| epoch | " + " | ".join(title for _, title in columns) + " |",
        "|---:|" + "---:|" * len(columns),
    ]
    for epoch, values in sorted(epochs.items()):
        cells = [_format(values.get(key)) for key, _ in columns]
        lines.append(f"| {epoch} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def summarize_run(folder: str | Path, html: str | Path | None = None) -> str:
    """The newest run's table under ``folder``; also writes its offline dashboard page.

    Args:
        folder: A run's root folder, e.g. ``outputs/demo``.
        html: Where to write the dashboard (default: ``dashboard.html`` beside the run).

    Returns:
        The text to print: the run's folder, its epoch table, the dashboard and how to upload.

    Raises:
        FileNotFoundError: If there is no W&B run file under ``folder``.

    Example:
        >>> summarize_run("/nonexistent")
        Traceback (most recent call last):
        ...
        FileNotFoundError: no W&B run file (run-*.wandb) under /nonexistent
    """
    runs = find_run_files(folder) if Path(folder).is_dir() else []
    if not runs:
        raise FileNotFoundError(f"no W&B run file (run-*.wandb) under {folder}")
    run = max(runs, key=lambda path: path.stat().st_mtime)
    logged = wait_for_run(run)
    dashboard = Path(html) if html is not None else run.parent / "dashboard.html"
    atomic_write_text(dashboard, render_run_dashboard(logged))
    return "\n".join(
        [
            f"W&B run: {run.parent}",
            epoch_table(logged.history),
            f"Dashboard (offline): {dashboard}",
            f"Upload the run to W&B to browse its tables and images: wandb sync {run.parent}",
        ]
    )
