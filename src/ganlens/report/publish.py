"""Publishing a dissection: fold in ACE fits, write ``dissect.json``, its pages and a W&B run.

GAN Dissection (Bau et al., ICLR 2019): the record of section 3.1's dissection with section
3.2's causal effects folded in, as written by ``ganlens units`` and rebuilt by ``ganlens report``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ganlens.dissect.record import fold_ace, write_dissection
from ganlens.dissect.result import DissectionResult
from ganlens.dissect.stages import prune_unit_images
from ganlens.report.html import write_report

__all__ = ["Published", "publish_dissection"]


@dataclass(frozen=True)
class Published:
    """What :func:`publish_dissection` wrote.

    Attributes:
        document: The ``dissect.json`` document.
        files: The files written (``dissect.json`` and the HTML pages).
        wandb_folder: The W&B run's local folder, or None without a run.
    """

    document: dict[str, Any]
    files: list[Path]
    wandb_folder: Path | None

    def describe(self) -> str:
        """One line naming what was written (for the command's log)."""
        line = "wrote " + ", ".join(str(path) for path in self.files)
        if self.wandb_folder is not None:
            line += f"; logged to W&B run files {self.wandb_folder}"
        return line


def publish_dissection(
    result: DissectionResult,
    directory: str | Path,
    *,
    prune: bool = False,
    wandb_project: str | None = None,
    wandb_name: str | None = None,
) -> Published:
    """Fold in the ACE fits under ``directory/ace``, write ``dissect.json`` and the HTML pages.

    Args:
        result: The dissection.
        directory: Its output folder.
        prune: Delete unit-image folders the new document does not use.
        wandb_project: Also log the document to a W&B run of this project (None: no run).
        wandb_name: The W&B run's name (default: W&B picks).

    Returns:
        The :class:`Published` document, files and W&B folder.

    Example:
        >>> import tempfile
        >>> from ganlens.dissect.result import DissectionSettings
        >>> settings = DissectionSettings("quantile", 0.01, "unrestricted", 8, 4, 4, 0.05, None, 1)
        >>> result = DissectionResult({}, settings, ("-", "sky"), ("none", "object"),
        ...                           model={"source": "toy", "fingerprint": "0" * 64})
        >>> published = publish_dissection(result, tempfile.mkdtemp())
        >>> sorted(path.name for path in published.files)[:2], published.wandb_folder
        (['dissect.html', 'dissect.json'], None)
    """
    folder = Path(directory)
    result = fold_ace(result, folder)
    files = [write_dissection(result, folder / "dissect.json")]
    document = result.to_dict()
    files += write_report(folder, document)
    if prune:
        prune_unit_images(folder, result)
    wandb_folder = None
    if wandb_project is not None:
        from ganlens.report.wandb_dissection import log_dissection

        wandb_folder = log_dissection(document, folder, project=wandb_project, name=wandb_name)
    return Published(document, files, wandb_folder)
