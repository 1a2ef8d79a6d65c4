"""Print a training run's per-epoch monitor numbers from its W&B offline log.

``python -m ganlens.report.run_summary outputs/demo`` finds the newest ``run-*.wandb`` under the
folder, reads it with :mod:`ganlens.report.wandb_history` and prints, per evaluated epoch, the
interpretable units of every dissected layer next to SWD (with its real-vs-real floor) and
FID or FSD, writes an offline HTML dashboard of them (``dashboard.html`` beside the run), then
says how to upload the run.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ganlens.report.run_dashboard import render_run_dashboard
from ganlens.report.wandb_history import find_run_files, wait_for_run

__all__ = ["epoch_table", "main"]

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


def main(argv: Sequence[str] | None = None) -> int:
    """Print the newest run's table under a folder; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m ganlens.report.run_summary", description=__doc__.splitlines()[0]
    )
    parser.add_argument("folder", type=Path, help="a run's root folder, e.g. outputs/demo")
    parser.add_argument("--html", type=Path, default=None,
                        help="where to write the dashboard page (default: the run's folder, "
                        "dashboard.html)")  # fmt: skip
    args = parser.parse_args(argv)
    runs = find_run_files(args.folder)
    if not runs:
        parser.error(f"no W&B run file (run-*.wandb) under {args.folder}")
    run = max(runs, key=lambda path: path.stat().st_mtime)
    logged = wait_for_run(run)
    print(f"W&B run: {run.parent}")
    print(epoch_table(logged.history))
    dashboard = args.html or run.parent / "dashboard.html"
    dashboard.write_text(render_run_dashboard(logged), encoding="utf-8")
    print(f"Dashboard (offline): {dashboard}")
    print(f"Upload the run to W&B to browse its tables and images: wandb sync {run.parent}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
