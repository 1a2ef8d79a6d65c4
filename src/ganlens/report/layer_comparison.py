"""``layers.html``: interpretable units per layer and category, like GAN Dissection's Fig. 6.

Bau et al. (ICLR 2019, arXiv:1811.10597, section 4.1) compare the layers of a generator by how
many of their units match object, part and material concepts. :func:`layer_comparison_rows`
tabulates a ``dissect.json`` document that way and :func:`render_layer_comparison` fills the
``layers.html`` template with it: a grouped bar chart (units per category per layer), the
numbers, and a concept-by-layer table shaded by count.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ganlens.charts import CATEGORY_COLORS, grouped_bar_chart
from ganlens.report.page import layer_anchor, render, safe

__all__ = ["concept_rows", "layer_comparison_rows", "render_layer_comparison"]


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


def concept_rows(document: Mapping[str, Any]) -> list[tuple[str, str, list[tuple[int, int]]]]:
    """Per concept: its category and, per layer, its unit count and a shade step of 1 to 10.

    Concepts are ordered by category (in the document's order), then by units in all layers
    (most first), then by name. The step is the count relative to the largest count in the
    table, in tenths (at least 1 where the count is not 0, 0 where it is).

    Args:
        document: A ``dissect.json`` document.

    Returns:
        ``(concept, category, [(count, step) per layer])`` rows.

    Example:
        >>> def layer(name, counts):
        ...     entries = [{"concept": c, "category": "object", "count": n} for c, n in counts]
        ...     return {"layer": name, "summary": {"class_distribution": entries}}
        >>> doc = {"categories": ["object"],
        ...        "layers": [layer("layer2", [("sky", 4)]), layer("layer4", [("sky", 1),
        ...                                                                   ("tree", 2)])]}
        >>> concept_rows(doc)
        [('sky', 'object', [(4, 10), (1, 2)]), ('tree', 'object', [(0, 0), (2, 5)])]
    """
    layers = document["layers"]
    counts: dict[str, dict[str, int]] = {}
    categories: dict[str, str] = {}
    for layer in layers:
        for entry in layer["summary"]["class_distribution"]:
            counts.setdefault(entry["concept"], {})[layer["layer"]] = entry["count"]
            categories[entry["concept"]] = entry["category"]
    if not counts:
        return []
    top = max(n for per_layer in counts.values() for n in per_layer.values())
    known = list(document["categories"])
    rank = {category: i for i, category in enumerate(known)}
    order = sorted(counts, key=lambda c: (rank.get(categories[c], len(known)),
                                          -sum(counts[c].values()), c))  # fmt: skip
    rows = []
    for concept in order:
        cells = [counts[concept].get(layer["layer"], 0) for layer in layers]
        steps = [max(1, round(10 * n / top)) if n else 0 for n in cells]
        rows.append((concept, categories[concept], list(zip(cells, steps, strict=True))))
    return rows


def render_layer_comparison(document: Mapping[str, Any]) -> str:
    """The layer-comparison page of a ``dissect.json`` document.

    Args:
        document: A ``dissect.json`` document.

    Returns:
        A self-contained HTML document.

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
    rows = layer_comparison_rows(document)
    categories = list(document["categories"])
    chart = grouped_bar_chart(
        [row["layer"] for row in rows],
        [(c, [row[c] for row in rows], CATEGORY_COLORS.get(c, "#777")) for c in categories],
        title="interpretable units per layer and category",
    )
    links = [("dissect.html", "per-layer report")] + [
        (f"dissect.html#{layer_anchor(row['layer'])}", row["layer"]) for row in rows
    ]
    return render(
        "layers.html",
        title=f"Layers of {document['model']['source']}",
        document=document,
        links=links,
        chart=safe(chart),
        rows=rows,
        categories=categories,
        concepts=concept_rows(document),
        script=False,
    )
