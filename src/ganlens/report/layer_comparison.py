"""``layers.html``: interpretable units per layer and category, like GAN Dissection's Fig. 6.

Bau et al. (ICLR 2019, arXiv:1811.10597, section 4.1) compare the layers of a generator by how
many of their units match object, part and material concepts. :func:`layer_comparison_rows`
tabulates a ``dissect.json`` document that way and :func:`render_layer_comparison` draws it: a
grouped bar chart (units per category per layer), the numbers, and a concept-by-layer table.
"""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from typing import Any

from ganlens.report.page import page, report_header
from ganlens.report.svg import CATEGORY_COLORS, grouped_bar_chart

__all__ = ["layer_comparison_rows", "render_layer_comparison"]


def layer_comparison_rows(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One row per layer: units, interpretable units, their share, concepts, per-category counts.

    Example:
        >>> summary = {"num_units": 4, "num_interpretable": 2, "num_concepts": 1,
        ...            "category_counts": {"object": 2, "part": 0}, "class_distribution": []}
        >>> doc = {"categories": ["object", "part"],
        ...        "layers": [{"layer": "layer4", "summary": summary}]}
        >>> layer_comparison_rows(doc)
        [{'layer': 'layer4', 'units': 4, 'interpretable': 2, 'share': 0.5, 'concepts': 1,
          'object': 2, 'part': 0}]
    """
    rows = []
    for layer in document["layers"]:
        summary = layer["summary"]
        row: dict[str, Any] = {
            "layer": layer["layer"],
            "units": summary["num_units"],
            "interpretable": summary["num_interpretable"],
            "share": summary["num_interpretable"] / max(summary["num_units"], 1),
            "concepts": summary["num_concepts"],
        }
        for category in document["categories"]:
            row[category] = int(summary["category_counts"].get(category, 0))
        rows.append(row)
    return rows


def _concept_table(document: Mapping[str, Any]) -> str:
    layers = document["layers"]
    counts: dict[str, dict[str, int]] = {}
    categories: dict[str, str] = {}
    for layer in layers:
        for entry in layer["summary"]["class_distribution"]:
            counts.setdefault(entry["concept"], {})[layer["layer"]] = entry["count"]
            categories[entry["concept"]] = entry["category"]
    if not counts:
        return ""
    top = max(n for per_layer in counts.values() for n in per_layer.values())
    order = sorted(counts, key=lambda c: (document["categories"].index(categories[c])
                                          if categories[c] in document["categories"] else 9,
                                          -sum(counts[c].values()), c))  # fmt: skip
    head = "".join(f"<th>{escape(layer['layer'])}</th>" for layer in layers)
    body = []
    for concept in order:
        color = CATEGORY_COLORS.get(categories[concept], "#777")
        cells = []
        for layer in layers:
            n = counts[concept].get(layer["layer"], 0)
            alpha = 0.12 + 0.6 * n / top if n else 0.0
            shade = f"{color}{round(alpha * 255):02x}" if n else "transparent"
            cells.append(f'<td class="heat" style="background:{shade}">{n or ""}</td>')
        chip = f'<span class="chip {escape(categories[concept])}">{escape(concept)}</span>'
        body.append(f"<tr><td>{chip}</td>{''.join(cells)}</tr>")
    return (
        "<h2>Units per concept and layer</h2>"
        f'<table class="numbers concepts"><tr><th>concept</th>{head}</tr>{"".join(body)}</table>'
    )


def render_layer_comparison(document: Mapping[str, Any]) -> str:
    """The layer-comparison page of a ``dissect.json`` document.

    Example:
        >>> summary = {"num_units": 4, "num_interpretable": 2, "num_concepts": 1,
        ...            "category_counts": {"object": 2},
        ...            "class_distribution": [{"concept": "sky", "category": "object", "count": 2}]}
        >>> doc = {"model": {"source": "toy", "fingerprint": "0" * 64}, "ganlens_version": "0",
        ...        "settings": {"threshold_mode": "quantile", "iou_mode": "unrestricted",
        ...                     "num_probe": 4, "resolution": 8}, "categories": ["object"],
        ...        "layers": [{"layer": "layer4", "summary": summary}]}
        >>> html = render_layer_comparison(doc)
        >>> html.count("<rect") >= 2 and "<td>layer4</td>" in html
        True
    """
    from ganlens.report.html import layer_anchor  # html imports this module

    rows = layer_comparison_rows(document)
    categories = list(document["categories"])
    chart = grouped_bar_chart(
        [row["layer"] for row in rows],
        [(c, [row[c] for row in rows], CATEGORY_COLORS.get(c, "#777")) for c in categories],
        title="interpretable units per layer and category",
    )
    head = "".join(
        f"<th>{escape(h)}</th>"
        for h in ("layer", "units", "interpretable", "share", "concepts", *categories)
    )
    body = "".join(
        f"<tr><td>{escape(row['layer'])}</td><td>{row['units']}</td>"
        f"<td>{row['interpretable']}</td><td>{row['share']:.0%}</td><td>{row['concepts']}</td>"
        + "".join(f"<td>{row[c]}</td>" for c in categories)
        + "</tr>"
        for row in rows
    )
    links = [("dissect.html", "per-layer report")] + [
        (f"dissect.html#{layer_anchor(row['layer'])}", row["layer"]) for row in rows
    ]
    header = report_header(document, "Layers compared:", links)
    content = (
        '<section class="overview"><h2>Interpretable units per layer and category</h2>'
        f'<figure class="chart-box">{chart}<figcaption>Units whose best concept clears the IoU '
        f"cut-off, by the concept's category (cf. GAN Dissection, Fig. 6).</figcaption></figure>"
        f'<table class="numbers layers"><tr>{head}</tr>{body}</table>'
        f"{_concept_table(document)}</section>"
    )
    return page(f"Layers of {document['model']['source']}", header, content, script=False)
