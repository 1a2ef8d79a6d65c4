"""``ganlens summary RUN``: a training run's per-epoch monitor numbers and offline dashboard."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["SummarySettings", "run_summary_command"]


@dataclass(frozen=True)
class SummarySettings:
    """Print a training run's per-epoch monitor numbers from its W&B offline log.

    Args:
        folder: A run's root folder, e.g. outputs/demo (searched for the newest run-*.wandb).
        html: Where to write the dashboard page (default: dashboard.html beside the run).
    """

    folder: str
    html: str | None = None


def run_summary_command(settings: SummarySettings) -> int:
    """Run ``ganlens summary``; returns the exit status.

    Example:
        >>> run_summary_command(SummarySettings("/nonexistent"))
        Traceback (most recent call last):
        ...
        FileNotFoundError: no W&B run file (run-*.wandb) under /nonexistent
    """
    from ganlens.report.run_summary import summarize_run

    print(summarize_run(settings.folder, settings.html))
    return 0
