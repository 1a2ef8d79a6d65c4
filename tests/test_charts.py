"""The SVG charts: well-formed XML, escaped labels, axes that cover the data, standalone files."""

import xml.etree.ElementTree as ET

import pytest

from ganlens.charts import ace_curve_charts, bar_chart, grouped_bar_chart, line_chart, standalone

SVG = "{http://www.w3.org/2000/svg}"


def texts(svg):
    return [t.text for t in ET.fromstring(svg).iter() if t.tag.endswith("text")]


def test_labels_are_escaped_and_every_chart_is_well_formed_xml():
    label = 'a<b & "c"'
    charts = [
        bar_chart([(label, 2, "#000"), ("x", 1, "#111")], title=label, filter_keys=[label, "x"]),
        grouped_bar_chart([label], [(label, [3], "#000")], title=label),
        line_chart([1, 2], [(label, [0.1, 0.2], "#000", True)], title=label, x_label=label),
    ]
    for svg in charts:
        assert "<b &" not in svg and "a&lt;b &amp;" in svg
        assert label in texts(svg)  # parses, and the text reads back unchanged
    assert ET.fromstring(charts[0]).find("rect").get("data-filter-concept") == label


def test_line_chart_axis_covers_negative_values_with_round_ticks():
    svg = line_chart([1, 2, 3], [("a", [-0.3, 0.2, 0.92], "#000", False)])
    y_ticks = [t.text for t in ET.fromstring(svg).iter("text") if t.get("text-anchor") == "end"]
    assert y_ticks == ["-0.5", "0", "0.5", "1"]
    points = [tuple(map(float, p.split(","))) for p in ET.fromstring(svg).find("polyline")
              .get("points").split()]  # fmt: skip
    assert points[0][1] > points[1][1] > points[2][1]  # rising values go up the page
    with pytest.raises(ValueError, match="series 'a' has 2 values; expected 3"):
        line_chart([1, 2, 3], [("a", [0.0, 1.0], "#000", False)])


def test_grouped_bars_hang_negative_values_below_the_zero_line():
    svg = ET.fromstring(grouped_bar_chart(["wall", "sky"], [("added", [0.3, -0.2], "#000")]))
    bars = [r for r in svg.iter("rect") if r.find("title") is not None]
    up, down = ({k: float(r.get(k)) for k in ("y", "height")} for r in bars)
    zero = next(float(t.get("y")) - 4 for t in svg.iter("text") if t.text == "0")  # label at +4
    assert up["height"] > 0 and down["height"] > 0
    assert up["y"] + up["height"] == pytest.approx(zero)  # rises from the zero line
    assert down["y"] == pytest.approx(zero)  # hangs from it
    assert up["height"] / down["height"] == pytest.approx(1.5)


def test_ace_curves_cover_zero_to_one_and_name_the_rankings():
    ablation, insertion = {"ace": [0.01, 0.02], "iou": [0.0, 0.01]}, {"ace": [0.0, 0.01]}
    charts = ace_curve_charts([1, 2], ablation, insertion, "door")
    assert len(charts) == 2
    assert {"top by ACE", "top by IoU", "ablation: door removed", "1", "0"} <= set(texts(charts[0]))
    assert ace_curve_charts([1, 2], {}, insertion, "door")[0].count("<polyline") == 1


def test_standalone_file_has_the_namespace_and_places_charts_side_by_side():
    charts = ace_curve_charts([1, 2, 3], {"ace": [0.1, 0.5, 0.7]}, {"ace": [0.0, 0.1, 0.1]}, "x")
    root = ET.fromstring(standalone(charts, title="layer4 / x"))
    assert root.tag == f"{SVG}svg"
    inner = root.findall(f"{SVG}svg")
    assert [int(s.get("x")) for s in inner] == [0, int(inner[0].get("width")) + 16]
    assert int(root.get("width")) == sum(int(s.get("width")) for s in inner) + 16


def test_the_last_x_tick_label_fits_inside_the_chart():
    # A centred "1000" at the right end of the axis was cut off by a fixed 10 px margin. At 11 px
    # a digit is at most about 0.6 em (6.6 px) wide, so half of the label must fit.
    svg = ET.fromstring(line_chart([200, 600, 1000], [("a", [1, 2, 3], "#000", False)]))
    width = float(svg.get("width"))
    labels = [t for t in svg.iter() if t.tag.endswith("text") and t.text == "1000"]
    assert labels, "no 1000 tick"
    x = float(labels[0].get("x"))
    assert x + 0.5 * len("1000") * 0.6 * 11 <= width
