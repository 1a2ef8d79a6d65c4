"""The report pages from their Jinja2 templates: escaping, no inline styles, shading, lightness."""

import re
import subprocess
import sys

import pytest
from markupsafe import escape

from ganlens.report.html import render_dissect_html, write_report
from ganlens.report.layer_comparison import concept_rows, render_layer_comparison
from ganlens.report.page import asset
from ganlens.report.run_dashboard import render_run_dashboard

HOSTILE = '<script>alert("x")</script>&'


def unit(index, concept, category, iou, image=None):
    return {"unit": index, "concept": concept, "concept_index": index + 1, "category": category,
            "iou": iou, "iqr": 0.1, "threshold": 0.2, "interpretable": iou > 0.1,
            "top_samples": [3, 1], "image": image}  # fmt: skip


def document(source="toy"):
    units = [unit(0, HOSTILE, "object", 0.5, "images/a b.png"), unit(1, "door", "part", 0.3),
             unit(2, "door", "part", 0.2), unit(3, "-", "none", 0.0)]  # fmt: skip
    distribution = [{"concept": "door", "category": "part", "count": 2},
                    {"concept": HOSTILE, "category": "object", "count": 1}]  # fmt: skip
    summary = {
        "num_units": 4,
        "num_interpretable": 3,
        "num_concepts": 2,
        "category_counts": {"object": 1, "part": 2},
        "class_distribution": distribution,
    }
    fit = {"concept": "door", "file": "ace/layer1/door.json", "image": "ace/layer1/door.svg",
           "num_units": 4, "ranking": [1, 2, 0, 3], "alpha": [0.0] * 4,
           "curves": {"n": [1, 2], "ablation": {"ace": [0.4, 0.9], "iou": [0.1, 0.2]},
                      "insertion": {"ace": [0.1, 0.3], "iou": [0.0, 0.1]}}}  # fmt: skip
    layers = [{"layer": name, "num_units": 4, "summary": summary, "units": units,
               "rankings": [], "ace": [fit] if name == "layer1" else []}
              for name in ("layer1", "features.3")]  # fmt: skip
    return {"model": {"source": source, "fingerprint": "ab" * 32}, "ganlens_version": "0",
            "settings": {"threshold_mode": "iqr", "iou_mode": "unrestricted", "num_probe": 8,
                         "resolution": 32}, "categories": ["object", "part", "material"],
            "layers": layers}  # fmt: skip


def pages(tmp_path):
    (tmp_path / "lineage").mkdir(exist_ok=True)
    (tmp_path / "lineage" / "layer4.png").write_bytes(b"\x89PNG fake")
    rows = [{"epoch": e, "dissect/layer4/interpretable_units": u, "dissect/layer4/units_part": 1,
             "dissect/layer4/lineage_image": "lineage/layer4.png", "quality/fid": 30.0 - e}
            for e, u in [(1, 3), (2, 5)]]  # fmt: skip
    dashboard = render_run_dashboard(rows, tmp_path, HOSTILE)
    doc = document(HOSTILE)
    return {"dissect": render_dissect_html(doc), "layers": render_layer_comparison(doc),
            "dashboard": dashboard}  # fmt: skip


def test_text_from_documents_and_runs_is_escaped_everywhere(tmp_path):
    for name, page in pages(tmp_path).items():
        assert "<script>alert" not in page, name
        assert "&lt;script&gt;alert(" in page, name
        assert page.count("<script>") == (0 if name == "layers" else 1)
    dissect = pages(tmp_path)["dissect"]
    assert f'data-concept="{escape(HOSTILE)}"' in dissect  # attribute values too
    assert f'<option value="{escape(HOSTILE)}">' in dissect
    assert 'src="images/a b.png"' in dissect and 'href="ace/layer1/door.svg">plot</a>' in dissect


def test_pages_carry_no_inline_style_attributes(tmp_path):
    for name, page in pages(tmp_path).items():
        assert not re.search(r"\sstyle\s*=", page), name
        assert "<style>" in page  # the one inlined stylesheet
    dashboard = pages(tmp_path)["dashboard"]
    assert '<figure class="lineage"><img' in dashboard and "data:image/png;base64," in dashboard


def test_every_class_the_pages_use_has_a_rule_in_the_stylesheet(tmp_path):
    """Classes replace inline styles; only the script's and tests' hooks need no rule."""
    rules = asset("report.css")
    used = set()
    for page in pages(tmp_path).values():
        for classes in re.findall(
            r'<(?!svg|rect|text|line|polyline|circle)\w+[^>]*\sclass="([^"]*)"', page
        ):
            used.update(classes.split())
    hooks = {"concept-filter", "interpretable-only", "interpretable", "layers", "concepts"}
    missing = {c for c in used - hooks if not re.search(rf"\.{re.escape(c)}\b", rules)}
    assert not missing, missing


def test_concept_table_shades_cells_by_step_of_the_largest_count(tmp_path):
    doc = document()
    doc["layers"][1]["summary"] = {**doc["layers"][1]["summary"], "class_distribution": [
        {"concept": "door", "category": "part", "count": 8}]}  # fmt: skip
    rows = concept_rows(doc)
    assert rows == [(HOSTILE, "object", [(1, 1), (0, 0)]), ("door", "part", [(2, 2), (8, 10)])]
    page = render_layer_comparison(doc)
    assert '<td class="heat part step-10">8</td>' in page and '<td class="heat"></td>' in page


def test_ace_fits_draw_both_curves_and_layers_get_anchors(tmp_path):
    page = render_dissect_html(document())
    assert page.count('class="chart line-chart"') == 2  # layer1's door: ablation, insertion
    assert 'id="layer-features-3"' in page and 'href="#layer-features-3"' in page
    paths = write_report(tmp_path, document())
    assert [p.read_text() for p in paths] == [page, render_layer_comparison(document())]


@pytest.mark.parametrize("module", ["ganlens.report", "ganlens.report.html", "ganlens.charts"])
def test_the_renderer_imports_neither_torch_nor_wandb(module):
    code = (f"import sys, {module}; heavy = sorted({{'torch', 'wandb'}} & set(sys.modules)); "
            "assert not heavy, heavy")  # fmt: skip
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60, check=False)  # fmt: skip
    assert result.returncode == 0, result.stderr


def test_application_results_inside_the_folder_appear_on_the_page(tmp_path):
    import json

    from ganlens.report.html import write_report

    (tmp_path / "context_door").mkdir()
    row = {"context": "wall", "cells": 8, "successes": 2, "success_rate": 0.25, "mean_added": 0.1}
    record = {"concept": "door", "layer": "layer4", "table": [row],
              "images": {"grid": "context_grid.png", "rates": "context_rates.svg"}}  # fmt: skip
    (tmp_path / "context_door" / "context.json").write_text(json.dumps(record))
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "artifacts.json").write_text("{not json")
    write_report(tmp_path, document())
    page = (tmp_path / "dissect.html").read_text()
    assert "Insertion in context" in page and "wall: 2 of 8 cells (25.0%)" in page
    assert 'src="context_door/context_grid.png"' in page and "Artifact units" not in page
