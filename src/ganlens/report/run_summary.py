"""A training run's per-epoch monitor numbers (``ganlens summary``) from its local history.

A ``ganlens fit`` run keeps every monitor evaluation in ``history.jsonl`` in its run folder
(:class:`ganlens.callbacks.history.RunHistory`: one JSON object per line, flushed and fsynced
before the epoch's checkpoint is written), so the numbers survive a kill. :func:`summarize_run`
reads that file alone (the monitors write their pictures beside it and name them in their
records; W&B is a sink and is never read back). It gives, per evaluated epoch, the interpretable
units of every dissected layer next to SWD (with its real-vs-real floor) and FID or FSD, says
whether the run finished, writes an offline HTML dashboard (``dashboard.html`` beside the run)
and says how to upload the run's offline W&B folders.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ganlens.io import atomic_write_text
from ganlens.report.run_dashboard import render_run_dashboard

__all__ = [
    "END_EVENT",
    "FAILED_EVENT",
    "HISTORY_FILE",
    "START_EVENT",
    "epoch_table",
    "read_history_file",
    "run_status",
    "summarize_run",
]

HISTORY_FILE = "history.jsonl"
START_EVENT, END_EVENT, FAILED_EVENT = "fit_start", "fit_end", "fit_failed"
"""The ``event`` of the records ``RunHistory`` appends when a fit starts, ends and fails."""

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


def read_history_file(path: str | Path) -> list[dict[str, Any]]:
    r"""The records of a ``history.jsonl`` file, in order; a partial last line is dropped.

    Args:
        path: The file.

    Returns:
        One dict per complete line (``epoch``, ``step``, ``monitor`` and the scalars).

    Raises:
        ValueError: If a complete line is not a JSON object (naming the file and line).

    Example:
        >>> import tempfile
        >>> path = Path(tempfile.mkdtemp()) / "history.jsonl"
        >>> _ = path.write_text('{"epoch": 0, "quality/swd": 4.5}\n{"epoch": 1, "qua')
        >>> read_history_file(path)
        [{'epoch': 0, 'quality/swd': 4.5}]
    """
    text = Path(path).read_text(encoding="utf-8")
    lines = text.split("\n")[:-1]  # the last piece is "" or a line a kill cut short
    rows: list[dict[str, Any]] = []
    for number, line in enumerate(lines, 1):
        try:
            row = json.loads(line) if line.strip() else None
        except json.JSONDecodeError as error:
            raise ValueError(f"corrupt history file {path}, line {number}: {error}") from error
        if row is not None and not isinstance(row, dict):
            raise ValueError(f"corrupt history file {path}, line {number}: not a JSON object")
        if row is not None:
            rows.append(row)
    return rows


def run_status(rows: Sequence[dict[str, Any]]) -> str:
    """What the history says about how the run went: finished, failed, interrupted, idle.

    Example:
        >>> run_status([{"epoch": 0, "step": 0, "event": "fit_start"},
        ...             {"epoch": 0, "step": 0, "event": "fit_end"}])
        'The run ended without training a step (is the batch larger than the training set?).'
        >>> run_status([{"epoch": 2, "step": 96, "event": "fit_failed", "error": "OSError: bad"}])
        'The run failed at epoch 2, step 96: OSError: bad. Fix it and resume with --ckpt_path last.'
    """
    events = [row for row in rows if "event" in row]
    last = events[-1] if events else {}
    epochs = sorted({int(row["epoch"]) for row in rows if "event" not in row and "epoch" in row})
    where = f"epoch {last.get('epoch', '-')}, step {last.get('step', '-')}"
    if last.get("event") == END_EVENT:
        if int(last.get("step", 0)) == 0:
            return (
                "The run ended without training a step (is the batch larger than the training "
                "set?)."
            )
        return "The run finished."
    if last.get("event") == FAILED_EVENT:
        error = last.get("error", "")
        return f"The run failed at {where}: {error}. Fix it and resume with --ckpt_path last."
    return (
        "The run did not finish (killed or still running): numbers up to epoch "
        f"{epochs[-1] if epochs else '-'} were logged; resume it with --ckpt_path last"
    )


def summarize_run(folder: str | Path, html: str | Path | None = None) -> str:
    """The run's table under ``folder``; also writes its offline dashboard page.

    Args:
        folder: A run's root folder, e.g. ``outputs/demo``.
        html: Where to write the dashboard (default: ``dashboard.html`` beside the run).

    Returns:
        The text to print: where the numbers come from, whether the run finished, its epoch
        table, the dashboard and how to upload the run.

    Raises:
        FileNotFoundError: If ``folder`` is missing or holds no ``history.jsonl``.
        ValueError: If the history file is corrupt.

    Example:
        >>> summarize_run("/nonexistent")
        Traceback (most recent call last):
        ...
        FileNotFoundError: folder '/nonexistent' does not exist (expected a run's root folder)
    """
    root = Path(folder)
    if not root.is_dir():
        raise FileNotFoundError(
            f"folder {str(folder)!r} does not exist (expected a run's root folder)"
        )
    history_path = root / HISTORY_FILE
    if not history_path.is_file():
        raise FileNotFoundError(
            f"no {HISTORY_FILE} under {folder} (every `ganlens fit` run writes one; a run of "
            "ganlens 0.1 without it can be uploaded with `wandb sync` and read in W&B)"
        )
    rows = read_history_file(history_path)
    numbers = [row for row in rows if "event" not in row]
    status = run_status(rows)
    dashboard = Path(html) if html is not None else root / "dashboard.html"
    atomic_write_text(dashboard, render_run_dashboard(numbers, root, root.name))
    source = f"History: {history_path} ({len(numbers)} evaluation records)"
    lines = [source, status, epoch_table(numbers), f"Dashboard (offline): {dashboard}"]
    offline = sorted(root.glob("**/wandb/offline-run-*"))
    if offline:
        lines.append(
            "Upload the run to W&B to browse its tables and images: wandb sync "
            + " ".join(str(path) for path in offline)
        )
    return "\n".join(lines)
