"""Reports and W&B output: HTML pages, ``dissect.json`` publishing, run summaries, W&B runs.

The package imports nothing heavy: the names below are loaded on first use (PEP 562), so
``import ganlens.report`` and the HTML renderer (:mod:`ganlens.report.html`) import neither torch
nor wandb.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ganlens.lazy import lazy_exports

if TYPE_CHECKING:
    from ganlens.report.publish import publish_dissection
    from ganlens.report.run_summary import summarize_run
    from ganlens.report.wandb_run import log_results, start_run, wandb_mode

__all__ = ["log_results", "publish_dissection", "start_run", "summarize_run", "wandb_mode"]

__getattr__ = lazy_exports(
    __name__,
    {
        "publish_dissection": "publish",
        "summarize_run": "run_summary",
        "log_results": "wandb_run",
        "start_run": "wandb_run",
        "wandb_mode": "wandb_run",
    },
)
