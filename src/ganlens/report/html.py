"""The HTML report of a dissection: ``dissect.html`` (per layer) and ``layers.html`` (comparison).

GAN Dissection (Bau et al., ICLR 2019, arXiv:1811.10597) presents each layer by its class
distribution (interpretable units per concept, coloured by category, Fig. 4) and each unit by its
top images with the thresholded region marked (Fig. 3); ACE curves (section 3.2, Fig. 9) show
the effect of ablating or inserting the most causal units. :func:`render_dissect_html` fills the
``dissect.html`` template from a ``dissect.json`` document; the page is self-contained (inline
CSS, JS and SVG; unit images are local files beside it), so it opens offline from disk.
:func:`write_report` writes both pages atomically. Standard library and Jinja2 only: importing
this module imports neither torch nor wandb.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ganlens.charts import CATEGORY_COLORS, ace_curve_charts, bar_chart
from ganlens.io import atomic_write_text
from ganlens.report.applications import application_views
from ganlens.report.layer_comparison import render_layer_comparison
from ganlens.report.page import layer_anchor, render, safe

__all__ = ["layer_anchor", "render_dissect_html", "write_report"]


def _ace_fits(layer: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The layer's ACE fits with their ablation / insertion charts (rankings of full length)."""
    fits = []
    for fit in layer.get("ace") or []:
        curves = fit["curves"]
        n = curves.get("n", [])
        ablation, insertion = (
            {name: values for name, values in curves.get(kind, {}).items() if len(values) == len(n)}
            for kind in ("ablation", "insertion")
        )
        charts = [safe(c) for c in ace_curve_charts(n, ablation, insertion, fit["concept"])]
        fits.append({**fit, "image": fit.get("image"), "charts": charts})
    return fits


def _layer_view(layer: Mapping[str, Any], categories: Sequence[str]) -> dict[str, Any]:
    """What the template shows of one layer."""
    summary = layer["summary"]
    stats = [
        (summary["num_interpretable"], f"of {summary['num_units']} units interpretable", ""),
        (summary["num_concepts"], "distinct concepts", ""),
    ] + [(summary["category_counts"].get(c, 0), f"{c} units", c) for c in categories]
    distribution = summary["class_distribution"]
    bars = [(e["concept"], e["count"], CATEGORY_COLORS.get(e["category"], "#777"))
            for e in distribution]  # fmt: skip
    chart = bar_chart(bars, title=f"{layer['layer']}: interpretable units per concept",
                      filter_keys=[label for label, _, _ in bars])  # fmt: skip
    listed = {e["concept"] for e in distribution}
    options = [(e["concept"], f"{e['concept']} ({e['count']})") for e in distribution] + [
        (c, c) for c in sorted({u["concept"] for u in layer["units"]} - listed)
    ]
    best = sorted((u for u in layer["units"] if u["interpretable"]), key=lambda u: -u["iou"])
    return {
        "name": layer["layer"],
        "stats": stats,
        "distribution": safe(chart) if bars else None,
        "best": best[:8],
        "ace": _ace_fits(layer),
        "options": options,
        "units": layer["units"],
    }


def render_dissect_html(
    document: Mapping[str, Any], applications: Sequence[Mapping[str, Any]] = ()
) -> str:
    """The per-layer report page of a ``dissect.json`` document.

    Args:
        document: The ``dissect.json`` document (:meth:`ganlens.dissect.DissectionResult.to_dict`).
        applications: Results of the paper's applications to show
            (:func:`ganlens.report.applications.application_views`).

    Returns:
        A self-contained HTML document: per layer, headline counts, the class distribution, ACE
        curves when present, and a sortable, filterable grid of units with their pictures.

    Example:
        >>> unit = {"unit": 0, "concept": "sky", "concept_index": 1, "category": "object",
        ...         "iou": 0.4, "iqr": 0.2, "threshold": 0.1, "interpretable": True,
        ...         "top_samples": [3], "image": "images/layer1/unit_0000.png"}
        >>> summary = {"num_units": 1, "num_interpretable": 1, "num_concepts": 1,
        ...            "category_counts": {"object": 1},
        ...            "class_distribution": [{"concept": "sky", "category": "object", "count": 1}]}
        >>> doc = {"model": {"source": "toy", "fingerprint": "0" * 64}, "ganlens_version": "0",
        ...        "settings": {"threshold_mode": "quantile", "iou_mode": "unrestricted",
        ...                     "num_probe": 4, "resolution": 8}, "categories": ["object"],
        ...        "layers": [{"layer": "layer1", "num_units": 1, "summary": summary,
        ...                    "units": [unit], "rankings": [], "ace": []}]}
        >>> html = render_dissect_html(doc)
        >>> 'data-sort="iou"' in html and 'src="images/layer1/unit_0000.png"' in html
        True
    """
    categories = list(document.get("categories") or ["object", "part", "material"])
    links = [("layers.html", "compare layers")] + [
        (f"#{layer_anchor(layer['layer'])}", layer["layer"]) for layer in document["layers"]
    ]
    return render(
        "dissect.html",
        title=f"Dissection of {document['model']['source']}",
        document=document,
        links=links,
        categories=categories,
        layers=[_layer_view(layer, categories) for layer in document["layers"]],
        applications=list(applications),
        script=True,
    )


def write_report(directory: str | Path, document: Mapping[str, Any]) -> list[Path]:
    """Write ``dissect.html`` and ``layers.html`` into ``directory`` (each atomically).

    Args:
        directory: The dissection's output folder (unit image paths are relative to it).
        document: Its ``dissect.json`` document.

    Returns:
        The paths written.

    Example:
        >>> import tempfile
        >>> summary = {"num_units": 1, "num_interpretable": 0, "num_concepts": 0,
        ...            "category_counts": {"object": 0}, "class_distribution": []}
        >>> unit = {"unit": 0, "concept": "-", "concept_index": 0, "category": "none", "iou": 0.0,
        ...         "iqr": 0.0, "threshold": 0.0, "interpretable": False, "top_samples": [],
        ...         "image": None}
        >>> doc = {"model": {"source": "toy", "fingerprint": "0" * 64}, "ganlens_version": "0",
        ...        "settings": {"threshold_mode": "quantile", "iou_mode": "unrestricted",
        ...                     "num_probe": 4, "resolution": 8}, "categories": ["object"],
        ...        "layers": [{"layer": "layer1", "num_units": 1, "summary": summary,
        ...                    "units": [unit], "rankings": [], "ace": []}]}
        >>> [p.name for p in write_report(tempfile.mkdtemp(), doc)]
        ['dissect.html', 'layers.html']
    """
    directory = Path(directory)
    return [
        atomic_write_text(
            directory / "dissect.html",
            render_dissect_html(document, application_views(directory)),
        ),
        atomic_write_text(directory / "layers.html", render_layer_comparison(document)),
    ]
