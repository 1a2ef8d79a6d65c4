"""An offline HTML dashboard of a training run's monitors, drawn from its logged history.

:func:`ganlens.report.run_summary.summarize_run` gives it the run's ``history.jsonl`` records
(or, for a run without one, the rows of its W&B offline log), with the W&B media references
(the unit-lineage images) of the run's newest W&B log.

The page shows what the README suggests setting up in W&B: per dissected layer the interpretable
units (in all and per category) against the epoch and the latest unit-lineage image, and the
image quality (SWD against its real-vs-real floor, FID or FSD). It is one self-contained file
(the ``dashboard.html`` template): inline SVG charts (:mod:`ganlens.charts`) and the lineage
image inlined as a data URI.
"""

from __future__ import annotations

import base64
import re
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from ganlens.charts import CATEGORY_COLORS, line_chart
from ganlens.report.page import render, safe

if TYPE_CHECKING:
    from ganlens.report.wandb_history import WandbRun

__all__ = ["render_run_dashboard"]

_LAYER = re.compile(r"dissect/(.+)/interpretable_units$")


def _epochs(history: list[dict[str, Any]], key: str) -> tuple[list[float], list[float]]:
    rows = [row for row in history if isinstance(row.get(key), (int, float)) and "epoch" in row]
    return [float(row["epoch"]) for row in rows], [float(row[key]) for row in rows]


def _layer_view(run: WandbRun, layer: str) -> dict[str, Any]:
    prefix = f"dissect/{layer}"
    x, total = _epochs(run.history, f"{prefix}/interpretable_units")
    series = [("all", total, "#222222", False)]
    for category, color in CATEGORY_COLORS.items():
        xs, values = _epochs(run.history, f"{prefix}/units_{category}")
        if values and xs == x:
            series.append((category, values, color, True))
    chart = line_chart(x, series, title=f"{layer}: interpretable units", x_label="epoch")
    lineage = None
    images = [row[f"{prefix}/lineage"] for row in run.history if f"{prefix}/lineage" in row]
    if images and (run.files / images[-1]["path"]).is_file():
        data = base64.b64encode((run.files / images[-1]["path"]).read_bytes()).decode()
        lineage = f"data:image/png;base64,{data}"
    return {"name": layer, "chart": safe(chart), "lineage": lineage}


def _quality_charts(run: WandbRun) -> list[Markup]:
    charts = []
    x, swd = _epochs(run.history, "quality/swd")
    if swd:
        series = [("SWD", swd, "#c0392b", False)]
        xs, floor = _epochs(run.history, "quality/swd_floor")
        if xs == x:
            series.append(("real-vs-real floor", floor, "#7f8c8d", True))
        charts.append(line_chart(x, series, title="SWD x1e3", x_label="epoch"))
    for key, title in (("quality/fid", "FID"), ("quality/fsd", "FSD")):
        x, values = _epochs(run.history, key)
        if values:
            chart = line_chart(x, [(title, values, "#8e44ad", False)], title=title, x_label="epoch")
            charts.append(chart)
    return [safe(chart) for chart in charts]


def render_run_dashboard(run: WandbRun) -> str:
    """The dashboard page of a run read with :func:`ganlens.report.wandb_history.read_run`.

    Args:
        run: The run (its history rows and files folder).

    Returns:
        A self-contained HTML document.

    Example:
        >>> from pathlib import Path
        >>> from ganlens.report.wandb_history import WandbRun
        >>> rows = [{"epoch": e, "dissect/layer4/interpretable_units": u, "quality/swd": s,
        ...          "quality/swd_floor": 9.0} for e, u, s in [(1, 3, 60.0), (2, 7, 41.0)]]
        >>> run = WandbRun(Path("run-a.wandb"), "a", "demo", {}, {}, rows)
        >>> dashboard = render_run_dashboard(run)
        >>> dashboard.count("<polyline"), "layer4" in dashboard, "https://" in dashboard
        (3, True, False)
    """
    layers = sorted({m.group(1) for row in run.history for k in row if (m := _LAYER.match(k))})
    return render(
        "dashboard.html",
        title=f"ganlens run {run.run_id} ({run.project})",
        path=str(run.path),
        quality=_quality_charts(run),
        layers=[_layer_view(run, layer) for layer in layers],
        script=True,
    )
