"""Reports and W&B output: reading offline run files back (the only code that imports wandb)."""

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
