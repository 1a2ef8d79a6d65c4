"""What the command line prints: ganlens' own lines, not other libraries' chatter.

Lightning, W&B and torch print lines that say nothing to a ganlens user (device banners, a
product tip, deprecations inside Lightning, W&B's own run banners). :func:`quiet_other_libraries`
hides exactly the lines named here; anything else another library prints still shows. W&B's
banners go through its own printer, so W&B is made silent (``WANDB_SILENT``, unless the user set
it) and ganlens prints its own line about the run instead. Standard library only.
"""

from __future__ import annotations

import logging
import os
import sys
import warnings

__all__ = [
    "HIDDEN_LINES",
    "HIDDEN_WARNINGS",
    "QuietChildProcess",
    "log_to_stderr",
    "quiet_other_libraries",
]

_PROCESS_GROUP_FRAME = "-" * 100 + "\ndistributed_backend="  # Fabric's banner of a group

HIDDEN_LINES = {
    # (rank-zero lines go to whichever of these loggers Lightning set last)
    "pytorch_lightning.utilities.rank_zero": (
        "GPU available:", "TPU available:", "HPU available:", "💡 Tip:", _PROCESS_GROUP_FRAME,
    ),
    "lightning_fabric.utilities.rank_zero": (_PROCESS_GROUP_FRAME,),
    "lightning_fabric.utilities.seed": ("Seed set to",),
    # one line per rank of a `--devices N` run, as its process joins the group
    "lightning_fabric.utilities.distributed": ("Initializing distributed:",),
}  # fmt: skip
"""Per logger, the starts of the informational lines hidden (what they say is in the config)."""

HIDDEN_WARNINGS = (
    # The GAN has no validation step by design; the data modules' validation sets serve others.
    r"You passed in a `val_dataloader` but have no `validation_step`",
    # Inside Lightning's own pytree helper on torch >= 2.10; nothing a user can change.
    r"`isinstance\(treespec, LeafSpec\)` is deprecated",
    # Lightning's model summary under bf16-mixed: an estimate, and said to be one.
    r"Precision bf16-mixed is not supported by the model summary",
)
"""Messages of the warnings hidden (regular expressions matched at the message's start)."""


class _DropLines(logging.Filter):
    def __init__(self, starts: tuple[str, ...]) -> None:
        super().__init__()
        self.starts = starts

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.getMessage()).startswith(self.starts)


def quiet_other_libraries() -> None:
    """Hide the named lines and warnings of other libraries; make W&B's banners silent.

    Idempotent: filters are installed once per logger.

    Example:
        >>> quiet_other_libraries()
        >>> log = logging.getLogger("lightning_fabric.utilities.seed")
        >>> any(isinstance(f, _DropLines) for f in log.filters)
        True
    """
    for name, starts in HIDDEN_LINES.items():
        log = logging.getLogger(name)
        if not any(isinstance(existing, _DropLines) for existing in log.filters):
            log.addFilter(_DropLines(starts))
    for message in HIDDEN_WARNINGS:
        warnings.filterwarnings("ignore", message=message)
    os.environ.setdefault("WANDB_SILENT", "true")


def log_to_stderr(quiet: bool = False) -> logging.Handler:
    """Print ganlens' own log lines (``INFO`` and up, or ``WARNING`` when quiet) to stderr.

    Called again in the same process, it changes the level and keeps the one handler.

    Returns:
        The handler on the ``ganlens`` logger (remove it when done).

    Example:
        >>> handler = log_to_stderr(quiet=True)
        >>> logging.getLogger("ganlens").level == logging.WARNING
        True
        >>> logging.getLogger("ganlens").removeHandler(handler)
    """
    package_log = logging.getLogger("ganlens")
    package_log.setLevel(logging.WARNING if quiet else logging.INFO)
    for existing in package_log.handlers:  # called again in one process: one handler still
        if isinstance(existing, _StderrHandler):
            return existing
    handler = _StderrHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    package_log.addHandler(handler)
    return handler


class _StderrHandler(logging.StreamHandler):
    """The handler of :func:`log_to_stderr` (told apart from a user's own handlers)."""


class QuietChildProcess:
    """A token that, unpickled in a new process, runs :func:`quiet_other_libraries` there.

    Give it to a process launcher with the work (e.g. in the ``functools.partial`` handed to
    Lightning Fabric's ``ddp_spawn``): a spawned process unpickles its work before the launcher
    prints its process-group banners, so the named lines are hidden in every process. It
    unpickles to None.

    Example:
        >>> import pickle
        >>> pickle.loads(pickle.dumps(QuietChildProcess())) is None
        True
    """

    def __reduce__(self) -> tuple[object, tuple[()]]:
        """Unpickle as a call of :func:`_quiet_here`."""
        return (_quiet_here, ())


def _quiet_here() -> None:
    quiet_other_libraries()
