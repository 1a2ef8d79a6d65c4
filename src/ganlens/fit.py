"""``ganlens fit`` (``train.py``): LightningCLI over the GAN and data modules, W&B by default.

W&B runs offline unless the user is logged in (``WANDB_API_KEY``, or an ``api.wandb.ai`` entry
in ``~/.netrc`` as ``wandb login`` writes), so nothing fails without network; ``WANDB_MODE``
overrides the guess. Sync an offline run later with ``wandb sync outputs/wandb/offline-run-*``.
Any other Lightning logger can be chosen with ``--trainer.logger``.

A run lives in ``trainer.default_root_dir`` (the run folder): ``checkpoints/last.ckpt`` (every
``ModelCheckpoint`` without a ``dirpath`` saves in ``<run folder>/checkpoints``, on the training
epoch end; one with ``save_last`` is added when a config has none), ``history.jsonl`` (every
monitor evaluation, :class:`ganlens.callbacks.history.RunHistory`), ``config.yaml`` and the W&B
log. ``--ckpt_path last`` resumes from ``<run folder>/checkpoints/last.ckpt`` when it exists
(and starts the run when it does not); a resumed run continues the same history file and the
same W&B run (its id is kept in the checkpoint). The checkpoint is checked (it exists and loads)
and the model, data and callbacks are built before anything is written, so a mistyped path or
an invalid model fails without touching the run folder.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from jsonargparse import Namespace
from pytorch_lightning.cli import LightningArgumentParser, LightningCLI
from pytorch_lightning.loggers import WandbLogger

from ganlens.callbacks.history import RunHistory
from ganlens.data.datamodules import SceneDataModule  # noqa: F401  (imported: listed in --help)
from ganlens.data.image_folder import ImageFolderDataModule  # noqa: F401
from ganlens.report.wandb_run import wandb_mode
from ganlens.training import ProgressiveGAN

__all__ = [
    "GanLensCLI",
    "check_run_folder",
    "checkpoint_folder",
    "default_logger",
    "load_checkpoint",
    "main",
]

CHECKPOINT = "pytorch_lightning.callbacks.ModelCheckpoint"
LIGHTNING_NAMES = ("best", "hpc", "registry")  # ckpt_path values Lightning resolves itself


def checkpoint_folder(default_root_dir: str | Path | None) -> Path:
    """Where ``ganlens fit`` keeps a run's checkpoints: ``<default_root_dir>/checkpoints``.

    Example:
        >>> checkpoint_folder("outputs/tiny_cpu").as_posix()
        'outputs/tiny_cpu/checkpoints'
    """
    return Path(default_root_dir or ".") / "checkpoints"


def check_run_folder(folder: str | Path | None) -> None:
    """Check that ``trainer.default_root_dir`` is a writable folder, or can be made one.

    Args:
        folder: The run folder (``None``: the working directory).

    Raises:
        NotADirectoryError: If it, or the nearest existing folder above it, is a file.
        PermissionError: If that folder is not writable.

    Example:
        >>> check_run_folder("outputs/new_run")  # a folder that does not exist yet is fine
        >>> check_run_folder(__file__)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        NotADirectoryError: --trainer.default_root_dir '...fit.py' is a file (expected a folder ...)
    """
    given = Path(folder or ".")
    existing = given
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise NotADirectoryError(
            f"--trainer.default_root_dir {str(folder)!r} is a file (expected a folder for the "
            f"run's checkpoints, history and logs{'' if existing == given else f': {existing}'})"
        )
    if not os.access(existing, os.W_OK | os.X_OK):
        raise PermissionError(
            f"--trainer.default_root_dir {str(folder)!r} is not writable ({existing}); "
            "choose a folder you can write to"
        )


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Load a Lightning checkpoint on the CPU, or say in one line why it cannot be resumed.

    Args:
        path: The ``--ckpt_path`` value.

    Returns:
        The checkpoint dict (``state_dict``, ``callbacks``, ``hyper_parameters``, ...).

    Raises:
        FileNotFoundError: If there is no such file.
        IsADirectoryError: If ``path`` is a folder.
        ValueError: If the file is not a readable Lightning checkpoint (truncated, corrupt).

    Example:
        >>> load_checkpoint("missing.ckpt")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        FileNotFoundError: --ckpt_path 'missing.ckpt' does not exist (expected a .ckpt ...)
    """
    file = Path(path)
    if file.is_dir():
        raise IsADirectoryError(f"--ckpt_path {str(path)!r} is a folder (expected a .ckpt file)")
    if not file.is_file():
        raise FileNotFoundError(
            f"--ckpt_path {str(path)!r} does not exist (expected a .ckpt file written by ganlens "
            "fit, e.g. <run folder>/checkpoints/last.ckpt, or 'last')"
        )
    try:
        checkpoint = torch.load(file, map_location="cpu", weights_only=True, mmap=True)
    except Exception as error:  # torch raises RuntimeError, UnpicklingError, EOFError, ...
        reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise ValueError(
            f"--ckpt_path {str(path)!r} is not a readable Lightning checkpoint (truncated or "
            f"corrupt?): {type(error).__name__}: {reason}"
        ) from error
    if not isinstance(checkpoint, dict) or "state_dict" not in checkpoint:
        raise ValueError(
            f"--ckpt_path {str(path)!r} is not a Lightning checkpoint (no 'state_dict' entry)"
        )
    return checkpoint


PROGRESS_BAR = "pytorch_lightning.callbacks.TQDMProgressBar"


def _terminal() -> bool:
    """Whether the progress bar's stream (standard error) is a terminal."""
    return sys.stderr.isatty()


def default_logger(project: str = "ganlens") -> dict[str, Any]:
    """The default logger as a LightningCLI ``class_path`` record: W&B in ganlens' one mode.

    Its ``save_dir`` and ``mode`` are left empty: :class:`GanLensCLI` fills in
    ``trainer.default_root_dir`` and :func:`~ganlens.report.wandb_run.wandb_mode` once the W&B
    logger is the one chosen, so choosing another logger never probes the W&B server.

    Example:
        >>> default_logger()["init_args"]
        {'project': 'ganlens'}
    """
    return {
        "class_path": "pytorch_lightning.loggers.WandbLogger",
        "init_args": {"project": project},
    }


def _data_resolution(args: Sequence[str]) -> str | None:
    """The data resolution given on the command line, if any (``--data[.init_args].resolution``).

    Example:
        >>> _data_resolution(["fit", "--data.init_args.resolution", "64"])
        '64'
        >>> _data_resolution(["--data.resolution=32"]), _data_resolution(["--model.resolution=8"])
        ('32', None)
    """
    names = ("--data.init_args.resolution", "--data.resolution")
    found = None
    for i, arg in enumerate(args):
        name, equals, value = arg.partition("=")
        if name in names:
            found = value if equals else (args[i + 1] if i + 1 < len(args) else None)
    return found


class GanLensCLI(LightningCLI):
    """LightningCLI for ganlens models.

    The data module takes its resolution from the model; a W&B logger without ``save_dir``
    writes under ``trainer.default_root_dir`` and continues the W&B run of a resumed
    checkpoint; checkpoints go to :func:`checkpoint_folder`; ``--ckpt_path`` is checked
    before anything is instantiated; every trainer gets a :class:`RunHistory`.
    """

    resume_run_id: str | None = None

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        """Link ``model.resolution`` to the data module's ``resolution``."""
        parser.link_arguments("model.resolution", "data.init_args.resolution")

    def _subconfig(self) -> Namespace:
        subcommand = self.config.get("subcommand")
        config: Namespace = self.config[subcommand] if subcommand else self.config
        return config

    def parse_arguments(self, parser: LightningArgumentParser, args: Any) -> None:
        """Parse, then resolve ``--ckpt_path last`` and check the checkpoint (no side effects).

        A data resolution given on the command line that differs from the model's is an error:
        the link would replace it silently.
        """
        given = _data_resolution(sys.argv[1:] if args is None else list(args))
        super().parse_arguments(parser, args)
        config = self._subconfig()
        if given is not None and given != str(config.model.resolution):
            raise ValueError(
                f"--data.init_args.resolution {given} differs from the model's resolution "
                f"{config.model.resolution}; the data module takes the model's: set "
                "--model.resolution instead"
            )
        check_run_folder(config.trainer.default_root_dir)
        path = config.get("ckpt_path")
        if path is None or path in LIGHTNING_NAMES:
            return
        if path == "last":
            last = checkpoint_folder(config.trainer.default_root_dir) / "last.ckpt"
            if not last.exists():
                print(f"--ckpt_path last: no {last} yet; starting a new run", file=sys.stderr)
                config.ckpt_path = None
                return
            config.ckpt_path = path = str(last)
        state = load_checkpoint(path).get("callbacks", {}).get(RunHistory.__qualname__, {})
        self.resume_run_id = state.get("wandb_run_id") if isinstance(state, dict) else None

    def before_instantiate_classes(self) -> None:
        """Fill in W&B's folder, mode and run id and the checkpoint folder the config leaves out."""
        config = self._subconfig()
        trainer = config.trainer
        loggers = trainer.logger
        for logger in loggers if isinstance(loggers, list) else [loggers]:
            if not getattr(logger, "class_path", "").endswith("WandbLogger"):
                continue
            if logger.init_args.get("save_dir") in (None, "."):
                logger.init_args.save_dir = trainer.default_root_dir or "outputs"
            if logger.init_args.get("mode") is None and not logger.init_args.get("offline"):
                logger.init_args.mode = wandb_mode()
            if self.resume_run_id and not logger.init_args.get("id"):
                logger.init_args.id = self.resume_run_id  # WandbLogger resumes ("allow")
        folder = str(checkpoint_folder(trainer.default_root_dir))
        callbacks = trainer.get("callbacks") or []
        checkpoints = [c for c in callbacks if getattr(c, "class_path", "") == CHECKPOINT]
        for callback in checkpoints:
            if callback.init_args.get("dirpath") is None:
                callback.init_args.dirpath = folder
            if callback.init_args.get("save_on_train_epoch_end") is None:
                callback.init_args.save_on_train_epoch_end = True  # after the monitors' records
        bars = [c for c in callbacks if "ProgressBar" in getattr(c, "class_path", "")]
        if not bars and trainer.get("enable_progress_bar") is not False and not _terminal():
            # Rich's live bar draws nothing into a file until the end; tqdm writes each refresh.
            bar = Namespace(class_path=PROGRESS_BAR, init_args=Namespace(refresh_rate=20))  # type: ignore[no-untyped-call]
            callbacks = [*callbacks, bar]
            trainer.callbacks = callbacks
        if not checkpoints and trainer.get("enable_checkpointing") is not False:
            added = {"dirpath": folder, "save_last": True, "save_on_train_epoch_end": True,
                     "enable_version_counter": False}  # fmt: skip
            init_args = Namespace(**added)  # type: ignore[no-untyped-call]
            entry = Namespace(class_path=CHECKPOINT, init_args=init_args)  # type: ignore[no-untyped-call]
            trainer.callbacks = [*callbacks, entry]

    def after_instantiate_classes(self) -> None:
        """Give the trainer a :class:`RunHistory` unless it has one; drop W&B's no-op argument."""
        callbacks = self.trainer.callbacks  # type: ignore[attr-defined]
        if not any(isinstance(callback, RunHistory) for callback in callbacks):
            callbacks.append(RunHistory())
        for logger in self.trainer.loggers:
            # WandbLogger always passes anonymous=None, which wandb warns it ignores.
            init = getattr(logger, "_wandb_init", None)
            if (
                isinstance(logger, WandbLogger)
                and isinstance(init, dict)
                and init.get("anonymous", False) is None
            ):
                del init["anonymous"]


def wandb_run_line(trainer: pl.Trainer) -> str | None:
    """One line naming the W&B run a fit logged to, and how to upload an offline one.

    Example:
        >>> wandb_run_line(pl.Trainer(logger=False, enable_progress_bar=False)) is None
        True
    """
    for logger in trainer.loggers:
        if isinstance(logger, WandbLogger) and logger._experiment is not None:
            run = logger.experiment
            folder = Path(run.dir).parent
            if run.settings.mode == "offline":
                return f"W&B offline run {folder}; upload it with: wandb sync {folder}"
            if run.settings.mode != "disabled":
                return f"W&B run {run.url} (files in {folder})"
    return None


def main(
    args: Sequence[str] | None = None, run: bool = True, prog: str | None = None
) -> GanLensCLI:
    """Run the training command line (``ganlens fit --config configs/X.yaml``).

    ``args`` equal to the process's own command line are left to LightningCLI to read (passing
    both makes it warn that they may disagree).
    """
    if args is not None and list(args) == sys.argv[1:]:
        args = None
    return GanLensCLI(
        ProgressiveGAN,
        pl.LightningDataModule,
        subclass_mode_data=True,
        trainer_defaults={"logger": default_logger()},
        save_config_kwargs={"overwrite": True},
        # ProgressiveGAN builds its own two Adam optimizers (model.lr, model.betas); LightningCLI's
        # --optimizer / --lr_scheduler would replace one of them with an untuned default
        auto_configure_optimizers=False,
        parser_kwargs={"prog": prog} if prog else None,
        args=list(args) if args is not None else None,
        run=run,
    )
