"""Pictures of ACE evaluation curves: an SVG file drawn by :mod:`ganlens.charts`.

The picture has two charts side by side: the fraction of the concept's pixels removed by ablating
the top n units, and the fraction of candidate-cell pixels that became the concept by inserting
them (:mod:`ganlens.ace.evaluation`; GAN Dissection, Bau et al., ICLR 2019, section 3.2), one
line per ranking. The report page draws the same charts inline. W&B line charts of the curves
are :func:`ganlens.report.wandb_media.wandb_curve_charts` (only the report imports wandb).
"""

from __future__ import annotations

import os
from pathlib import Path

from ganlens.ace.evaluation import CausalCurves
from ganlens.charts import ace_curve_charts, standalone
from ganlens.io import atomic_write_text

__all__ = ["curve_svg", "save_curve_plot"]


def curve_svg(curves: CausalCurves, *, concept: str, title: str = "") -> str:
    """An SVG document of the ablation and insertion curves.

    Args:
        curves: The curves.
        concept: The concept's name, for the chart titles.
        title: Drawn above the charts (e.g. ``"layer4 / tree: ACE vs IoU ranking"``).

    Returns:
        The SVG document (one chart per curve kind, one line per ranking).

    Example:
        >>> curves = CausalCurves([1, 2, 3], {"ace": [0.2, 0.5, 0.7], "iou": [0.1, 0.1, 0.2]},
        ...                       {"ace": [0.1, 0.3, 0.4], "iou": [0.0, 0.1, 0.1]})
        >>> svg = curve_svg(curves, concept="tree", title="layer4 / tree")
        >>> svg.count("<polyline"), ">layer4 / tree</text>" in svg
        (4, True)
    """
    return standalone(ace_curve_charts(curves.n, curves.ablation, curves.insertion, concept), title)


def save_curve_plot(
    curves: CausalCurves, path: str | os.PathLike[str], *, concept: str, title: str = ""
) -> Path:
    """Write :func:`curve_svg` to ``path`` atomically (temporary name, then a rename).

    Args:
        curves: The curves.
        path: The ``.svg`` file to write.
        concept: The concept's name, for the chart titles.
        title: Drawn above the charts.

    Returns:
        ``path``.

    Example:
        >>> import tempfile
        >>> target = Path(tempfile.mkdtemp()) / "tree.svg"
        >>> curves = CausalCurves([1], {"ace": [0.5]}, {"ace": [0.2]})
        >>> save_curve_plot(curves, target, concept="tree").is_file()
        True
    """
    return atomic_write_text(Path(path), curve_svg(curves, concept=concept, title=title))
