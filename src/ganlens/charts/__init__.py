"""SVG charts, the one chart renderer of ganlens: bars, grouped bars, lines and ACE curves.

Standard library only, so both the report pages (:mod:`ganlens.report`) and the ACE pipeline
(:mod:`ganlens.ace`) use it without importing each other. Every chart is one ``<svg>`` element as
a string, sized in CSS pixels with a ``viewBox`` so it scales; :func:`standalone` puts charts side
by side in an SVG document of their own (the ACE curve files).
"""

from ganlens.charts.bars import bar_chart, grouped_bar_chart
from ganlens.charts.elements import CATEGORY_COLORS
from ganlens.charts.lines import ace_curve_charts, line_chart, standalone

__all__ = [
    "CATEGORY_COLORS",
    "ace_curve_charts",
    "bar_chart",
    "grouped_bar_chart",
    "line_chart",
    "standalone",
]
