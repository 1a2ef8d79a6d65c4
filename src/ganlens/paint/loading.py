"""The dissection the painting server shows: ``dissect.json`` with its folder's ACE folded in."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ganlens.dissect.record import fold_ace, read_dissection

__all__ = ["open_dissection"]


def open_dissection(path: str | Path) -> dict[str, Any]:
    """A ``dissect.json`` (a folder means its ``dissect.json``) with the folder's ACE folded in.

    Raises:
        FileNotFoundError: If there is no ``dissect.json`` there.
        ValueError: If it is not a ganlens ``dissect.json`` or an ACE file is unreadable.

    Example:
        >>> open_dissection("/nonexistent")
        Traceback (most recent call last):
        ...
        FileNotFoundError: no dissect.json at /nonexistent/dissect.json ...
    """
    folder = Path(path) if Path(path).is_dir() else Path(path).parent
    return fold_ace(read_dissection(path), folder).to_dict()
