"""Log an application's results to a W&B run (``wandb`` is imported only when called).

One run per command: scalars, tables (columns and rows) and the written pictures. Offline
(``WANDB_MODE=offline``) works without an account.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = ["log_to_wandb"]


def log_to_wandb(
    project: str,
    name: str,
    out: str | Path,
    scalars: Mapping[str, float],
    tables: Mapping[str, tuple[Sequence[str], Sequence[Sequence[Any]]]],
    images: Mapping[str, str | Path],
    config: Mapping[str, Any],
) -> str:
    """Create a run, log everything once, finish it; returns the run's directory.

    Args:
        project: W&B project.
        name: Run name.
        out: Folder W&B writes its files under.
        scalars: Key to number.
        tables: Key to ``(columns, rows)``.
        images: Key to a PNG path.
        config: The settings, stored as the run's config.

    Returns:
        The run's local directory.
    """
    wandb = importlib.import_module("wandb")
    run = wandb.init(project=project, name=name, dir=str(out), config=dict(config), reinit=True)
    payload: dict[str, Any] = dict(scalars)
    for key, (columns, rows) in tables.items():
        payload[key] = wandb.Table(columns=list(columns), data=[list(r) for r in rows])
    for key, path in images.items():
        payload[key] = wandb.Image(str(path))
    run.log(payload)
    directory = str(run.dir)
    run.finish()
    return directory
