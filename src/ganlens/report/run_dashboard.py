"""An offline HTML dashboard of a training run's monitors, drawn from its ``history.jsonl``.

:func:`ganlens.report.run_summary.summarize_run` gives it the run's records; the unit-lineage
pictures are the files the records name (``dissect/<layer>/lineage_image``, relative to the run
folder), so the page needs nothing from W&B.

The page shows what the README suggests setting up in W&B: per dissected layer the interpretable
units (in all and per category) against the epoch and the latest unit-lineage image, and the
image quality (SWD against its real-vs-real floor, FID or FSD). It is one self-contained file
(the ``dashboard.html`` template): inline SVG charts (:mod:`ganlens.charts`) and the lineage
image inlined as a data URI.
"""

from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import Any

from markupsafe import Markup

from ganlens.charts import CATEGORY_COLORS, line_chart
from ganlens.report.page import render, safe

__all__ = ["render_run_dashboard"]

_LAYER = re.compile(r"dissect/(.+)/interpretable_units$")


def _epochs(history: list[dict[str, Any]], key: str) -> tuple[list[float], list[float]]:
    rows = [row for row in history if isinstance(row.get(key), (int, float)) and "epoch" in row]
    return [float(row["epoch"]) for row in rows], [float(row[key]) for row in rows]


def _layer_view(rows: list[dict[str, Any]], folder: Path, layer: str) -> dict[str, Any]:
    prefix = f"dissect/{layer}"
    x, total = _epochs(rows, f"{prefix}/interpretable_units")
    series = [("all", total, "#222222", False)]
    for category, color in CATEGORY_COLORS.items():
        xs, values = _epochs(rows, f"{prefix}/units_{category}")
        if values and xs == x:
            series.append((category, values, color, True))
    chart = line_chart(x, series, title=f"{layer}: interpretable units", x_label="epoch")
    lineage = None
    images = [row[f"{prefix}/lineage_image"] for row in rows if f"{prefix}/lineage_image" in row]
    if images and (folder / str(images[-1])).is_file():
        data = base64.b64encode((folder / str(images[-1])).read_bytes()).decode()
        lineage = f"data:image/png;base64,{data}"
    return {"name": layer, "chart": safe(chart), "lineage": lineage}


def _quality_charts(rows: list[dict[str, Any]]) -> list[Markup]:
    charts = []
    x, swd = _epochs(rows, "quality/swd")
    if swd:
        series = [("SWD", swd, "#c0392b", False)]
        xs, floor = _epochs(rows, "quality/swd_floor")
        if xs == x:
            series.append(("real-vs-real floor", floor, "#7f8c8d", True))
        charts.append(line_chart(x, series, title="SWD x1e3", x_label="epoch"))
    for key, title in (("quality/fid", "FID"), ("quality/fsd", "FSD")):
        x, values = _epochs(rows, key)
        if values:
            chart = line_chart(x, [(title, values, "#8e44ad", False)], title=title, x_label="epoch")
            charts.append(chart)
    return [safe(chart) for chart in charts]


def render_run_dashboard(rows: list[dict[str, Any]], folder: str | Path, title: str) -> str:
    """The dashboard page of a run's ``history.jsonl`` records.

    Args:
        rows: The records (``epoch`` and the monitors' values).
        folder: The run folder, which the records' file paths are relative to.
        title: The page's title, e.g. the run folder's name.

    Returns:
        A self-contained HTML document.

    Example:
        >>> rows = [{"epoch": e, "dissect/layer4/interpretable_units": u, "quality/swd": s,
        ...          "quality/swd_floor": 9.0} for e, u, s in [(1, 3, 60.0), (2, 7, 41.0)]]
        >>> dashboard = render_run_dashboard(rows, ".", "demo")
        >>> dashboard.count("<polyline"), "layer4" in dashboard, "https://" in dashboard
        (3, True, False)
    """
    folder = Path(folder)
    layers = sorted({m.group(1) for row in rows for k in row if (m := _LAYER.match(k))})
    return render(
        "dashboard.html",
        title=f"ganlens run {title}",
        path=str(folder / "history.jsonl"),
        quality=_quality_charts(rows),
        layers=[_layer_view(rows, folder, layer) for layer in layers],
        script=True,
    )
