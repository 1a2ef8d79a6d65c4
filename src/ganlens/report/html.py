"""The HTML report of a dissection: ``dissect.html`` (per layer) and ``layers.html`` (comparison).

GAN Dissection (Bau et al., ICLR 2019, arXiv:1811.10597) presents each layer by its class
distribution (interpretable units per concept, coloured by category, Fig. 4) and each unit by its
top images with the thresholded region marked (Fig. 3); ACE curves (section 3.2, Fig. 9) show
the effect of ablating or inserting the most causal units. :func:`render_dissect_html` builds that
page from a ``dissect.json`` document; it is self-contained (inline CSS, JS and SVG; unit images
are local files beside it), so it opens offline from disk. :func:`write_report` writes both pages
atomically.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from pathlib import Path
from typing import Any

from ganlens.io import atomic_write_text
from ganlens.report.layer_comparison import render_layer_comparison
from ganlens.report.page import page, report_header
from ganlens.report.svg import CATEGORY_COLORS, bar_chart, line_chart

__all__ = ["layer_anchor", "render_dissect_html", "write_report"]

_RANKED_BY = (("ace", "ACE", "#1d4ed8", False), ("iou", "IoU", "#9a3412", True))


def layer_anchor(layer: str) -> str:
    """The HTML id of a layer's section.

    Example:
        >>> layer_anchor("features.3")
        'layer-features-3'
    """
    return "layer-" + "".join(c if c.isalnum() or c in "_-" else "-" for c in layer)


def _headline(layer: Mapping[str, Any], categories: Sequence[str]) -> str:
    summary = layer["summary"]
    stats = [
        (f"{summary['num_interpretable']}", f"of {summary['num_units']} units interpretable", ""),
        (f"{summary['num_concepts']}", "distinct concepts", ""),
    ]
    stats += [(str(summary["category_counts"].get(c, 0)), f"{c} units", c) for c in categories]
    return (
        '<div class="headline">'
        + "".join(
            f'<div class="stat {cls}"><b>{escape(value)}</b><span>{escape(text)}</span></div>'
            for value, text, cls in stats
        )
        + "</div>"
    )


def _distribution(layer: Mapping[str, Any], categories: Sequence[str]) -> str:
    bars = [
        (entry["concept"], entry["count"], CATEGORY_COLORS.get(entry["category"], "#777"))
        for entry in layer["summary"]["class_distribution"]
    ]
    if not bars:
        return '<figure class="chart-box"><figcaption>No interpretable units.</figcaption></figure>'
    legend = "".join(
        f'<span><i style="background:{CATEGORY_COLORS[c]}"></i>{escape(c)}</span>'
        for c in categories
    )
    chart = bar_chart(
        bars,
        title=f"{layer['layer']}: interpretable units per concept",
        filter_keys=[label for label, _, _ in bars],
    )
    return (
        f'<figure class="chart-box">{chart}<figcaption>Interpretable units per concept (click a '
        f'bar to filter)<span class="legend">{legend}</span></figcaption></figure>'
    )


def _best_units(layer: Mapping[str, Any], count: int = 8) -> str:
    best = sorted((u for u in layer["units"] if u["interpretable"]), key=lambda u: -u["iou"])
    if not best:
        return ""
    items = "".join(
        f'<li><span class="id">#{u["unit"]}</span><span class="chip {escape(u["category"])}">'
        f'{escape(u["concept"])}</span><span class="iou">IoU {u["iou"]:.3f}</span></li>'
        for u in best[:count]
    )
    return f'<div class="best"><h3>Highest IoU</h3><ol>{items}</ol></div>'


def _ace_section(layer: Mapping[str, Any]) -> str:
    fits = layer.get("ace") or []
    if not fits:
        return ""
    blocks = []
    for fit in fits:
        curves, concept = fit["curves"], fit["concept"]
        n = curves.get("n", [])
        charts = []
        for kind, label in (("ablation", "removed"), ("insertion", "added")):
            series = [
                (f"top by {label_by}", curves[kind][by], color, dashed)
                for by, label_by, color, dashed in _RANKED_BY
                if kind in curves and by in curves[kind] and len(curves[kind][by]) == len(n)
            ]
            if series:
                charts.append(
                    line_chart(n, series, title=f"{kind}: {concept} {label}",
                               x_label="units intervened (n)", y_label=f"fraction {label}")
                )  # fmt: skip
        top = ", ".join(str(u) for u in fit["ranking"][:12])
        link = f' <a href="{escape(fit["image"])}">plot</a>' if fit.get("image") else ""
        blocks.append(
            f'<div class="ace-fit" data-concept="{escape(concept)}"><div><h3>{escape(concept)}'
            f"</h3><p>Most causal units (ACE): {escape(top)}</p><p>Fitted over "
            f'{fit["num_units"]} units. <a href="{escape(fit["file"])}">JSON</a>{link}</p>'
            f"</div>{''.join(charts)}</div>"
        )
    return '<div class="ace"><h3>Causal effect (ACE)</h3>' + "".join(blocks) + "</div>"


def _controls(layer: Mapping[str, Any]) -> str:
    options = "".join(
        f'<option value="{escape(e["concept"])}">{escape(e["concept"])} ({e["count"]})</option>'
        for e in layer["summary"]["class_distribution"]
    )
    others = sorted(
        {u["concept"] for u in layer["units"]}
        - {e["concept"] for e in layer["summary"]["class_distribution"]}
    )
    options += "".join(f'<option value="{escape(c)}">{escape(c)}</option>' for c in others)
    return (
        '<div class="controls"><span>Sort by</span>'
        '<button type="button" data-sort="unit" class="active">unit</button>'
        '<button type="button" data-sort="iou">IoU</button>'
        '<button type="button" data-sort="concept">concept</button>'
        f'<label>Concept <select class="concept-filter"><option value="">all concepts</option>'
        f"{options}</select></label>"
        '<label><input type="checkbox" class="interpretable-only"> interpretable only</label>'
        f'<span class="shown">{len(layer["units"])} units</span></div>'
    )


def _unit_card(unit: Mapping[str, Any]) -> str:
    interpretable = bool(unit["interpretable"])
    image = (
        f'<img src="{escape(unit["image"])}" alt="unit {unit["unit"]}: top samples">'
        if unit.get("image")
        else ""
    )
    title = (
        f"unit {unit['unit']}: {unit['concept']} ({unit['category']}), IoU {unit['iou']:.3f}, "
        f"IQR {unit['iqr']:.3f}, threshold {unit['threshold']:.3g}, top samples "
        + ", ".join(str(s) for s in unit["top_samples"])
    )
    return (
        f'<figure class="unit {"interpretable" if interpretable else "not-interpretable"}" '
        f'data-unit="{unit["unit"]}" data-iou="{unit["iou"]}" '
        f'data-concept="{escape(unit["concept"])}" data-interpretable="{int(interpretable)}" '
        f'title="{escape(title)}">{image}<figcaption><span class="id">#{unit["unit"]}</span>'
        f'<span class="chip {escape(unit["category"])}">{escape(unit["concept"])}</span>'
        f'<span class="iou">IoU {unit["iou"]:.3f}</span></figcaption></figure>'
    )


def render_dissect_html(document: Mapping[str, Any]) -> str:
    """The per-layer report page of a ``dissect.json`` document.

    Args:
        document: The document (see :mod:`ganlens.report.dissect_json`).

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
    header = report_header(document, "GAN Dissection of", links)
    sections = []
    for layer in document["layers"]:
        name = layer["layer"]
        units = "".join(_unit_card(unit) for unit in layer["units"])
        sections.append(
            f'<section class="layer" id="{layer_anchor(name)}" data-layer="{escape(name)}">'
            f'<h2>{escape(name)}</h2><div class="top">{_headline(layer, categories)}'
            f"{_distribution(layer, categories)}{_best_units(layer)}</div>{_ace_section(layer)}"
            f'{_controls(layer)}<div class="units">{units}</div></section>'
        )
    title = f"Dissection of {document['model']['source']}"
    return page(title, header, "".join(sections))


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
        atomic_write_text(directory / "dissect.html", render_dissect_html(document)),
        atomic_write_text(directory / "layers.html", render_layer_comparison(document)),
    ]
