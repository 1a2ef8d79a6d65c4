"""``ganlens summary RUN``: a training run's per-epoch monitor numbers and offline dashboard."""

from __future__ import annotations

from dataclasses import dataclass

from ganlens.options import Settings

__all__ = ["SummarySettings", "run_summary_command"]


@dataclass(frozen=True, kw_only=True)
class SummarySettings(Settings):
    """Print a training run's per-epoch monitor numbers from its history (or W&B offline log).

    Args:
        folder: A run's root folder, e.g. outputs/demo (its history.jsonl, else the newest
            run-*.wandb under it, read up to its last complete record).
        html: Where to write the dashboard page (default: dashboard.html beside the run).
        wait: Seconds to wait for a W&B log that is still being written to end (default 0: read
            it as it is now).
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

    print(summarize_run(settings.folder, settings.html, float(settings.wait)))
    return 0
