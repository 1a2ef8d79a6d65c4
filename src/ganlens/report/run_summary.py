"""A training run's per-epoch monitor numbers (``ganlens summary``) from its local history.

A ``ganlens fit`` run keeps every monitor evaluation in ``history.jsonl`` in its run folder
(:class:`ganlens.callbacks.history.RunHistory`: one JSON object per line, flushed and fsynced
before the epoch's checkpoint is written), so the numbers survive a kill. :func:`summarize_run`
reads that file, or, for a run without one, the newest ``run-*.wandb`` W&B offline log under
the folder (every log of that W&B run id, as a resumed run writes one per process), up to its
last complete record. It gives, per evaluated epoch, the interpretable units of every dissected
layer next to SWD (with its real-vs-real floor) and FID or FSD, says whether the run finished,
writes an offline HTML dashboard (``dashboard.html`` beside the run) and says how to upload it.
It never waits for a W&B log still being written unless asked to (``wait``).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ganlens.io import atomic_write_text
from ganlens.report.run_dashboard import render_run_dashboard
from ganlens.report.wandb_history import WandbRun, find_run_files, read_run

__all__ = ["END_EVENT", "HISTORY_FILE", "epoch_table", "read_history_file", "summarize_run"]

HISTORY_FILE = "history.jsonl"
END_EVENT = "fit_end"
"""The ``event`` of the record that ``RunHistory`` appends when a fit ends."""

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


def _read_wandb(runs: list[Path], wait: float) -> WandbRun:
    """The newest W&B run under the folder, its logs of every process joined, partial allowed."""
    newest = max(runs, key=lambda path: path.stat().st_mtime)
    same = sorted((p for p in runs if p.name == newest.name), key=lambda p: p.stat().st_mtime)
    deadline = time.monotonic() + wait
    while True:
        parts = [read_run(path, partial=True) for path in same]
        if parts[-1].finished or time.monotonic() >= deadline:
            break
        time.sleep(0.2)
    history = [row for part in parts for row in part.history]
    last = parts[-1]
    return WandbRun(last.path, last.run_id, last.project, last.config, last.summary, history,
                    last.finished)  # fmt: skip


def _media_rows(run: WandbRun) -> list[dict[str, Any]]:
    keep = [
        {k: v for k, v in row.items() if isinstance(v, dict) or k == "epoch"} for row in run.history
    ]
    return [row for row in keep if len(row) > 1 and "epoch" in row]


def summarize_run(folder: str | Path, html: str | Path | None = None, wait: float = 0.0) -> str:
    """The run's table under ``folder``; also writes its offline dashboard page.

    Args:
        folder: A run's root folder, e.g. ``outputs/demo``.
        html: Where to write the dashboard (default: ``dashboard.html`` beside the run).
        wait: Seconds to wait for a W&B log still being written to end (0: read it as it is).

    Returns:
        The text to print: where the numbers come from, whether the run finished, its epoch
        table, the dashboard and how to upload the run.

    Raises:
        FileNotFoundError: If ``folder`` is missing or holds neither history nor W&B run file.
        ValueError: If ``wait`` is negative, or the history file is corrupt.

    Example:
        >>> summarize_run("/nonexistent")
        Traceback (most recent call last):
        ...
        FileNotFoundError: folder '/nonexistent' does not exist (expected a run's root folder)
    """
    if wait < 0:
        raise ValueError(f"wait must be >= 0 seconds, got {wait!r}")
    root = Path(folder)
    if not root.is_dir():
        raise FileNotFoundError(
            f"folder {str(folder)!r} does not exist (expected a run's root folder)"
        )
    history_path = root / HISTORY_FILE
    runs = find_run_files(root)
    if not runs and not history_path.is_file():
        raise FileNotFoundError(
            f"no {HISTORY_FILE} and no W&B run file (run-*.wandb) under {folder}"
        )
    logged = _read_wandb(runs, wait) if runs else None
    if history_path.is_file():
        rows = read_history_file(history_path)
        finished = bool(rows) and rows[-1].get("event") == END_EVENT
        numbers = [row for row in rows if "event" not in row]
        media = _media_rows(logged) if logged else []
        base = logged or WandbRun(history_path, root.name, "", {}, {}, [])
        shown = WandbRun(base.path, base.run_id, base.project, base.config, base.summary,
                         numbers + media, finished)  # fmt: skip
        source = f"History: {history_path} ({len(numbers)} evaluation records)"
    else:
        assert logged is not None
        shown, numbers = logged, logged.history
        source = f"W&B run: {logged.path.parent} (no {HISTORY_FILE}; read from the W&B log)"
    epochs = sorted({int(row["epoch"]) for row in numbers if "epoch" in row})
    status = "The run finished." if shown.finished else (
        "The run did not finish (killed, failed or still running): numbers up to epoch "
        f"{epochs[-1] if epochs else '-'} were logged; resume it with --ckpt_path"
    )  # fmt: skip
    dashboard = Path(html) if html is not None else (
        logged.path.parent if logged else root) / "dashboard.html"  # fmt: skip
    atomic_write_text(dashboard, render_run_dashboard(shown))
    lines = [source, status, epoch_table(numbers), f"Dashboard (offline): {dashboard}"]
    if logged:
        lines.append(
            f"Upload the run to W&B to browse its tables and images: "
            f"wandb sync {logged.path.parent}"
        )
    return "\n".join(lines)
