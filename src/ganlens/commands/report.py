"""``ganlens report DIR``: rebuild a dissection's report, folding in ACE fits written since.

Reads ``DIR/dissect.json`` (GAN Dissection, Bau et al., ICLR 2019, section 3.1), attaches the
ACE results under ``DIR/ace/<layer>/<concept>.json`` (section 3.2), and rewrites
``dissect.json``, ``dissect.html`` and ``layers.html``; with ``--wandb`` also a W&B run.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from ganlens.options import WandbOptions

__all__ = ["ReportSettings", "run_report_command"]

_log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class ReportSettings(WandbOptions):
    """Rebuild dissect.html and layers.html from DIR/dissect.json, folding in ACE results.

    Args:
        directory: Output folder of `ganlens units`.
        quiet: No messages.
    """

    directory: str
    quiet: bool = False


def run_report_command(settings: ReportSettings) -> int:
    """Run ``ganlens report``; returns the exit status.

    Example:
        >>> run_report_command(ReportSettings(directory="/nonexistent"))
        Traceback (most recent call last):
        ...
        FileNotFoundError: no dissect.json at /nonexistent/dissect.json ...
    """
    from ganlens.dissect.record import read_dissection
    from ganlens.report.publish import publish_dissection

    published = publish_dissection(
        read_dissection(settings.directory), settings.directory, wandb_name=settings.wandb_name,
        wandb_project=settings.wandb_project if settings.wandb else None,
    )  # fmt: skip
    _log.info(published.describe())
    return 0
