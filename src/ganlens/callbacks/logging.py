"""One logged record per evaluation: scalars to every Lightning logger, media to W&B with them.

Monitors call :func:`log_evaluation` once per evaluation, on every rank after their metrics have
synced; it writes on rank zero only and holds no collective. Keys follow the scheme documented in
the README (``dissect/<layer>/...``, ``quality/...``, ``causal/<layer>/<concept>/...``) and every
record carries ``epoch``, the step metric of those key families in W&B. Lightning's
``WandbLogger`` makes a separate history row for every ``log_image`` / ``log_table`` call, so
this function calls ``experiment.log`` once with the scalars and the media together. A failing
logger warns once and never stops training.

First of all, the record's scalars go to the run's local history (``history.jsonl``, written
synchronously, flushed and fsynced, by the trainer's :class:`~ganlens.callbacks.history.RunHistory`
callback when it has one, as every ``ganlens fit`` trainer does). Because this happens inside the
monitor's hook, before it returns, and Lightning runs ``ModelCheckpoint`` after every other
callback's epoch-end hook, an epoch's records are on disk before that epoch's checkpoint is
written; W&B and the other loggers are sinks that may lag or lose the tail on a kill. A failure
to write the history is not swallowed: it stops the run (its checkpoint is then not written, so
a resume evaluates that epoch again).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pytorch_lightning as pl
from pytorch_lightning.loggers import TensorBoardLogger, WandbLogger
from pytorch_lightning.utilities import rank_zero_only, rank_zero_warn
from torch import Tensor

__all__ = ["EPOCH_KEY", "STEP_METRIC_GROUPS", "log_evaluation"]

EPOCH_KEY = "epoch"
STEP_METRIC_GROUPS = ("dissect", "quality", "causal", "samples")
"""Key families plotted against ``epoch`` in W&B."""

MediaBuilder = Callable[[], Any]
_warned: set[tuple[str, str]] = set()
_defined: set[int] = set()


def _define_step_metrics(experiment: Any) -> None:
    if id(experiment) in _defined:
        return
    experiment.define_metric(EPOCH_KEY)
    for group in STEP_METRIC_GROUPS:
        experiment.define_metric(f"{group}/*", step_metric=EPOCH_KEY)
    _defined.add(id(experiment))


def _warn_once(owner: str, logger: Any, error: Exception) -> None:
    key = (owner, type(logger).__name__)
    if key not in _warned:
        _warned.add(key)
        rank_zero_warn(f"{owner} could not log to {type(logger).__name__} (continuing): {error!r}")


@rank_zero_only
def log_evaluation(
    trainer: pl.Trainer,
    scalars: Mapping[str, float],
    media: Mapping[str, MediaBuilder] | None = None,
    *,
    images: Mapping[str, Tensor] | None = None,
    files: Mapping[str, str] | None = None,
    owner: str = "ganlens",
) -> None:
    """Log one evaluation's values for the trainer's current epoch, on rank zero.

    Args:
        trainer: The running trainer; every logger in ``trainer.loggers`` receives the scalars
            (with ``epoch``) at ``trainer.global_step``.
        scalars: Key to number.
        media: Key to a zero-argument function building a W&B object (``wandb.Table``,
            ``wandb.Image``, a ``wandb.plot`` chart); called only when a ``WandbLogger`` is
            attached, and logged in the same record as the scalars.
        images: Key to a ``uint8 [3, H, W]`` picture, logged as a ``wandb.Image`` in the same
            W&B record and with ``add_image`` to TensorBoard.
        files: Key to a file the monitor wrote beside the run (a path relative to the run
            folder), recorded in ``history.jsonl`` only, not sent to the loggers.
        owner: Name used in the warning when a logger fails.

    Example:
        >>> from pytorch_lightning.loggers import CSVLogger
        >>> import tempfile
        >>> folder = tempfile.mkdtemp()
        >>> trainer = pl.Trainer(logger=CSVLogger(folder), enable_progress_bar=False)
        >>> log_evaluation(trainer, {"quality/swd": 12.5})
        >>> trainer.logger.save()
        >>> "quality/swd" in open(trainer.logger.experiment.metrics_file_path).read()
        True
    """
    epoch = trainer.current_epoch
    from ganlens.callbacks.history import RunHistory

    callbacks = trainer.callbacks  # type: ignore[attr-defined]
    for callback in callbacks:  # the durable copy first (see the module docstring)
        if isinstance(callback, RunHistory):
            callback.record(trainer, owner, {**scalars, **(files or {})})
    for logger in trainer.loggers:
        try:
            if isinstance(logger, WandbLogger):
                experiment = logger.experiment
                _define_step_metrics(experiment)
                built = {key: build() for key, build in (media or {}).items()}
                if images:
                    from ganlens.report.wandb_media import wandb_image

                    built.update({key: wandb_image(picture) for key, picture in images.items()})
                record = {**scalars, **built, EPOCH_KEY: epoch}
                experiment.log({**record, "trainer/global_step": trainer.global_step})
                continue
            if scalars:
                logger.log_metrics({**scalars, EPOCH_KEY: epoch}, step=trainer.global_step)
            if isinstance(logger, TensorBoardLogger):
                for key, picture in (images or {}).items():
                    logger.experiment.add_image(key, picture, trainer.global_step)
        except Exception as error:  # a broken logger must never stop training
            _warn_once(owner, logger, error)
