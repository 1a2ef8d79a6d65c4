"""Reports and W&B output: HTML pages, ``dissect.json``, reading offline run files back.

The package imports nothing heavy: the names below are loaded on first use (PEP 562), so
``import ganlens.report`` and the HTML renderer (:mod:`ganlens.report.html`) import neither torch
nor wandb; :mod:`ganlens.report.wandb_history` (which reads W&B's protobuf records) is imported
when one of its names is first used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ganlens.report.wandb_history import (
        LoggedTable,
        WandbRun,
        find_run_files,
        read_history,
        read_records,
        read_run,
        read_table,
        wait_for_run,
    )

__all__ = [
    "LoggedTable",
    "WandbRun",
    "find_run_files",
    "read_history",
    "read_records",
    "read_run",
    "read_table",
    "wait_for_run",
]


def __getattr__(name: str) -> Any:
    """Import ``ganlens.report.wandb_history`` when one of its names is first used.

    Example:
        >>> import ganlens.report
        >>> ganlens.report.WandbRun.__name__
        'WandbRun'
    """
    if name in __all__:
        return getattr(importlib.import_module("ganlens.report.wandb_history"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
