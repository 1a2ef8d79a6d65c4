"""``ganlens summary RUN``: a training run's per-epoch monitor numbers and offline dashboard."""

from __future__ import annotations

import sys
from dataclasses import dataclass

from ganlens.options import Settings

__all__ = ["SummarySettings", "run_summary_command"]


@dataclass(frozen=True, kw_only=True)
class SummarySettings(Settings):
    """Print a training run's per-epoch monitor numbers from its history.jsonl.

    Args:
        folder: A run's root folder, e.g. outputs/demo (it holds history.jsonl).
        html: Where to write the dashboard page (default: dashboard.html beside the run).
        wait: Deprecated and ignored: the summary reads history.jsonl, which holds every
            evaluation once its monitor's hook has returned, and no longer waits for W&B logs.
    """

    folder: str
    html: str | None = None
    wait: float = 0.0

    def check(self) -> None:
        """Check ``wait``."""
        if isinstance(self.wait, bool) or not isinstance(self.wait, (int, float)) or self.wait < 0:
            raise ValueError(f"--wait must be a number of seconds >= 0, got {self.wait!r}")


def run_summary_command(settings: SummarySettings) -> int:
    """Run ``ganlens summary``; returns the exit status.

    Example:
        >>> run_summary_command(SummarySettings(folder="/nonexistent"))
        Traceback (most recent call last):
        ...
        FileNotFoundError: folder '/nonexistent' does not exist (expected a run's root folder)
    """
    from ganlens.report.run_summary import summarize_run

    if settings.wait:
        print("ganlens summary: warning: --wait is deprecated and ignored", file=sys.stderr)
    print(summarize_run(settings.folder, settings.html))
    return 0
