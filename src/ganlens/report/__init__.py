"""Reports and W&B output: HTML pages, ``dissect.json``, reading offline run files back.

The package imports nothing heavy: the names below are loaded on first use (PEP 562), so
``import ganlens.report`` and the HTML renderer (:mod:`ganlens.report.html`) import neither torch
nor wandb; :mod:`ganlens.report.wandb_history` (which reads W&B's protobuf records) is imported
when one of its names is first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ganlens.lazy import lazy_exports

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

__getattr__ = lazy_exports(__name__, dict.fromkeys(__all__, "wandb_history"))
