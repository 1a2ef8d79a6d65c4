"""``ganlens report DIR``: rebuild a dissection's report, folding in ACE fits written since.

Reads ``DIR/dissect.json`` (GAN Dissection, Bau et al., ICLR 2019, section 3.1), attaches the
ACE results under ``DIR/ace/<layer>/<concept>.json`` (section 3.2), and rewrites
``dissect.json``, ``dissect.html`` and ``layers.html``; with ``--wandb`` also a W&B run.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ganlens.options import WandbOptions

if TYPE_CHECKING:
    from ganlens.dissect.result import DissectionResult

__all__ = ["ReportSettings", "publish_dissection", "run_report_command"]

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


def publish_dissection(
    result: DissectionResult, directory: Path, settings: Any, prune: bool = False
) -> dict[str, Any]:
    """Fold in ACE fits, write ``dissect.json`` and the HTML pages, and log to W&B if asked.

    Args:
        result: The dissection.
        directory: Its output folder.
        settings: Any settings with ``wandb``, ``wandb_project`` and ``wandb_name``.
        prune: Delete unit-image folders the new document does not use.

    Returns:
        The ``dissect.json`` document written.
    """
    from ganlens.dissect.record import fold_ace, write_dissection
    from ganlens.dissect.units import prune_unit_images
    from ganlens.report.html import write_report

    result = fold_ace(result, directory)
    written = [write_dissection(result, directory / "dissect.json")]
    document = result.to_dict()
    written += write_report(directory, document)
    if prune:
        prune_unit_images(directory, result)
    _log.info("wrote %s", ", ".join(str(path) for path in written))
    if settings.wandb:
        from ganlens.report.wandb_summary import log_dissection

        where = log_dissection(
            document, directory, project=settings.wandb_project, name=settings.wandb_name
        )
        _log.info("logged to W&B run files %s", where)
    return document


def run_report_command(settings: ReportSettings) -> int:
    """Run ``ganlens report``; returns the exit status.

    Example:
        >>> run_report_command(ReportSettings(directory="/nonexistent"))
        Traceback (most recent call last):
        ...
        FileNotFoundError: no dissect.json at /nonexistent/dissect.json ...
    """
    from ganlens.dissect.record import read_dissection

    directory = Path(settings.directory)
    publish_dissection(read_dissection(directory), directory, settings)
    return 0
