"""Validation helpers shared by the settings of every subcommand (standard library only)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

__all__ = ["GENERATOR_HELP", "SEGMENTER_HELP", "check_choice", "check_output", "check_positive"]

GENERATOR_HELP = (
    "generator: 'scene' (shipped 32 px scene ProgGAN), a .ckpt of ours, a gandissect/Karras "
    ".pth, or 'package.module:factory' returning an nn.Module"
)
SEGMENTER_HELP = (
    "segmenter: 'scene' (shipped), 'segformer:PATH' (local SegFormer ADE20K folder, needs the "
    "ade20k extra) or 'package.module:factory' (called without arguments)"
)


def check_positive(**values: int | float | None) -> None:
    """Raise ``ValueError`` naming the first option that is given and not positive.

    Example:
        >>> check_positive(samples=3, resolution=None)
        >>> check_positive(batch_size=0)
        Traceback (most recent call last):
        ...
        ValueError: --batch-size must be a positive number; got 0
    """
    for name, value in values.items():
        if value is not None and (isinstance(value, bool) or not value > 0):
            flag = "--" + name.replace("_", "-")
            raise ValueError(f"{flag} must be a positive number; got {value!r}")


def check_choice(name: str, value: str, allowed: Sequence[str]) -> None:
    """Raise ``ValueError`` when ``value`` is not one of ``allowed``.

    Example:
        >>> check_choice("threshold_mode", "median", ("iqr", "quantile"))
        Traceback (most recent call last):
        ...
        ValueError: --threshold-mode must be one of iqr, quantile; got 'median'
    """
    if value not in allowed:
        flag = "--" + name.replace("_", "-")
        raise ValueError(f"{flag} must be one of {', '.join(allowed)}; got {value!r}")


def check_output(name: str, path: str, folder: bool = True) -> None:
    """Raise ``ValueError`` when ``path`` cannot become an output folder (or file).

    The nearest existing ancestor must be a writable folder; ``path`` itself, when it exists,
    must be a folder (or, with ``folder=False``, a file). Nothing is created.

    Example:
        >>> check_output("out", "/dev/null")
        Traceback (most recent call last):
        ...
        ValueError: --out /dev/null is a file, not a folder
    """
    flag, target = "--" + name.replace("_", "-"), Path(path)
    if target.exists() and folder != target.is_dir():
        kind = "a file, not a folder" if folder else "a folder, not a file"
        raise ValueError(f"{flag} {path} is {kind}")
    ancestor = target if target.exists() else target.parent
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise ValueError(f"{flag} {path}: {ancestor} is a file, not a folder")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise ValueError(f"{flag} {path}: {ancestor} is not writable")
