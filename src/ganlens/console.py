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
import warnings

__all__ = ["HIDDEN_LINES", "HIDDEN_WARNINGS", "quiet_other_libraries"]

HIDDEN_LINES = {
    "pytorch_lightning.utilities.rank_zero": (
        "GPU available:", "TPU available:", "HPU available:", "💡 Tip:",
    ),
    "lightning_fabric.utilities.seed": ("Seed set to",),
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
