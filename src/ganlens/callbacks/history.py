"""A run's monitor history that survives kills and resumes: ``history.jsonl`` in the run folder.

:class:`RunHistory` (added to every ``ganlens fit`` trainer) owns the file
``<trainer.default_root_dir>/history.jsonl``. :func:`ganlens.callbacks.log_evaluation` hands it
every evaluation record of every monitor (its scalars, ``epoch``, ``step`` and ``monitor``; not
the W&B media), and the record is appended, flushed and fsynced before ``log_evaluation``
returns. Monitors evaluate in ``on_train_epoch_end`` (or ``on_train_batch_end``), and Lightning
calls those hooks of every callback before those of its ``ModelCheckpoint`` callbacks (the
trainer moves checkpoint callbacks to the end of its list and runs the "monitoring" callbacks
after the others), and ``ganlens fit`` saves on the training epoch end; so when the checkpoint
of an epoch exists on disk, that epoch's records are already in the file. A kill can lose only
evaluations of epochs whose checkpoint was never written, and resuming re-evaluates exactly those.

A resumed fit first drops the records made after its checkpoint's step (a killed attempt's
evaluations, which it repeats), and a record of an evaluation already in the file (same monitor,
epoch and step) replaces the old one instead of duplicating it, so every evaluation is in the
file exactly once. A fit that does not resume from a checkpoint starts a new file and keeps the
previous one as ``history-previous-<k>.jsonl``. The callback's state, saved in every checkpoint,
holds the W&B run id, so ``ganlens fit --ckpt_path ...`` continues the same W&B run.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
from pytorch_lightning.loggers import WandbLogger

from ganlens.io import atomic_write_text
from ganlens.report.run_summary import (
    END_EVENT,
    FAILED_EVENT,
    HISTORY_FILE,
    START_EVENT,
    read_history_file,
)

__all__ = ["HISTORY_FILE", "RunHistory", "append_record"]


def _number(value: Any) -> Any:
    if isinstance(value, (int, str)):  # bool included; str: a file beside the run
        return value
    number = float(value)  # tensors, numpy scalars
    return number if math.isfinite(number) else str(number)


def append_record(path: str | Path, record: Mapping[str, Any]) -> Path:
    """Add one evaluation record to a history file, durably (flushed and fsynced).

    A record with the same ``monitor``, ``epoch`` and ``step`` as one in the file replaces it
    (the file is rewritten atomically); a partial last line (a write cut by a kill) is dropped.

    Args:
        path: The ``history.jsonl`` file (created with its folder if missing).
        record: ``monitor`` (str), ``epoch`` and ``step`` (int), scalar values and file paths
            (str, relative to the run folder).

    Returns:
        ``path``.

    Example:
        >>> import tempfile
        >>> path = Path(tempfile.mkdtemp()) / "history.jsonl"
        >>> for swd in (3.5, 2.0):
        ...     _ = append_record(path, {"monitor": "m", "epoch": 0, "step": 8, "q/swd": swd})
        >>> _ = append_record(path, {"monitor": "m", "epoch": 1, "step": 16, "q/swd": 1.5})
        >>> [(row["epoch"], row["q/swd"]) for row in read_history_file(path)]
        [(0, 2.0), (1, 1.5)]
    """
    path = Path(path)
    text = ("monitor", "event", "error")
    line = json.dumps({key: v if key in text else _number(v) for key, v in record.items()})
    key = (record.get("monitor"), record.get("epoch"), record.get("step"))
    if path.is_file():
        rows = read_history_file(path)
        same = [(r.get("monitor"), r.get("epoch"), r.get("step")) == key for r in rows]
        if any(same):
            lines = [line if hit else json.dumps(row) for row, hit in zip(rows, same, strict=True)]
            atomic_write_text(path, "".join(f"{text}\n" for text in lines))
            return path
        data = path.read_bytes()
        if data and not data.endswith(b"\n"):  # a line cut by a kill: drop it
            with path.open("r+b") as file:
                file.truncate(data.rfind(b"\n") + 1)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as file:
        file.write(line + "\n")
        file.flush()
        os.fsync(file.fileno())
    return path


class RunHistory(pl.Callback):
    """Keeps every monitor evaluation in ``history.jsonl`` and the W&B run id in checkpoints.

    At the start of training, a resumed fit drops from the file the records made after its
    checkpoint's step; a fit that is not resumed moves an existing file aside.

    Args:
        path: The history file (default ``<trainer.default_root_dir>/history.jsonl``).

    Example:
        >>> import tempfile
        >>> from ganlens.callbacks import log_evaluation
        >>> folder = tempfile.mkdtemp()
        >>> trainer = pl.Trainer(default_root_dir=folder, logger=False, callbacks=[RunHistory()])
        >>> log_evaluation(trainer, {"quality/swd": 12.5}, owner="ImageQualityMonitor")
        >>> read_history_file(Path(folder) / "history.jsonl")
        [{'epoch': 0, 'step': 0, 'monitor': 'ImageQualityMonitor', 'quality/swd': 12.5}]
    """

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else None
        self.wandb_run_id: str | None = None
        self._resumed = False

    def history_file(self, trainer: pl.Trainer) -> Path:
        """Where this run's history is kept."""
        return self.path or Path(trainer.default_root_dir) / HISTORY_FILE

    def record(self, trainer: pl.Trainer, owner: str, scalars: Mapping[str, Any]) -> None:
        """Append one evaluation of ``owner`` at the trainer's epoch and step (rank zero)."""
        if not trainer.is_global_zero:
            return
        row = {"epoch": trainer.current_epoch, "step": trainer.global_step, "monitor": owner}
        append_record(self.history_file(trainer), {**row, **scalars})

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        """Note the W&B run id, then prepare the file for this fit (rank zero).

        Called once the checkpoint's training state (``global_step``) is restored.

        A resumed fit keeps the records up to the restored checkpoint's step and drops later
        ones (evaluations after the checkpoint, which this fit repeats) and the end mark of an
        earlier fit. A fit that is not resumed sets an existing file aside.
        """
        for logger in trainer.loggers:
            if isinstance(logger, WandbLogger):
                self.wandb_run_id = str(logger.version)
        if trainer.is_global_zero:
            self._prepare_file(trainer)
            self._event(trainer, START_EVENT)

    def _event(self, trainer: pl.Trainer, event: str, **values: str) -> None:
        row = {"epoch": trainer.current_epoch, "step": trainer.global_step, "monitor": "fit"}
        append_record(self.history_file(trainer), {**row, "event": event, **values})

    def _prepare_file(self, trainer: pl.Trainer) -> None:
        path = self.history_file(trainer)
        if not path.is_file():
            return
        if self._resumed or trainer.ckpt_path is not None:
            rows = read_history_file(path)
            kept = [
                row for row in rows if "event" not in row and row["step"] <= trainer.global_step
            ]
            if len(kept) != len(rows) or not path.read_bytes().endswith(b"\n"):
                atomic_write_text(path, "".join(json.dumps(row) + "\n" for row in kept))
            return
        index = 1
        while (aside := path.with_name(f"{path.stem}-previous-{index}{path.suffix}")).exists():
            index += 1
        path.rename(aside)

    def on_fit_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        """Mark the history as complete: the fit reached its end (not killed, not failed)."""
        if trainer.is_global_zero:
            self._event(trainer, END_EVENT)

    def on_exception(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, exception: BaseException
    ) -> None:
        """Mark the history as failed, with the error's first line (a kill leaves no mark)."""
        if trainer.is_global_zero:
            message = (str(exception).strip().splitlines() or [""])[0]
            self._event(trainer, FAILED_EVENT, error=f"{type(exception).__name__}: {message}")

    def state_dict(self) -> dict[str, Any]:
        """The W&B run id (``None`` without a W&B logger)."""
        return {"wandb_run_id": self.wandb_run_id}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore the run id: this fit resumes a run."""
        self.wandb_run_id = state_dict.get("wandb_run_id")
        self._resumed = True
