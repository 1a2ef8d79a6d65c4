"""The shell shared by the report pages: Jinja2 templates, one self-contained HTML document each.

The templates under ``ganlens/report/templates/`` extend ``base.html`` (header, footer and the
stylesheet and script under ``ganlens/report/assets/``, inlined), so a report opens from disk
(``file://``), offline, and images are the only other files it loads (relative paths beside the
page). Autoescaping is on: every value from a document is escaped, and only the SVG charts of
:mod:`ganlens.charts` (escaped when built) are marked safe.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

import jinja2
from markupsafe import Markup

__all__ = ["asset", "environment", "layer_anchor", "render", "safe"]


def asset(name: str) -> str:
    """The text of a file under ``ganlens/report/assets/``.

    Example:
        >>> "section.layer" in asset("report.js")
        True
    """
    return (resources.files("ganlens.report") / "assets" / name).read_text(encoding="utf-8")


def layer_anchor(layer: str) -> str:
    """The HTML id of a layer's section.

    Example:
        >>> layer_anchor("features.3")
        'layer-features-3'
    """
    return "layer-" + "".join(c if c.isalnum() or c in "_-" else "-" for c in layer)


def safe(svg: str) -> Markup:
    """Mark a chart of :mod:`ganlens.charts` (whose text is escaped when built) as safe HTML.

    Example:
        >>> from ganlens.charts import bar_chart
        >>> str(safe(bar_chart([("a<b", 1, "#000")]))).count("a&lt;b")
        2
    """
    return Markup(svg)  # built by ElementTree, which escapes all text


@cache
def environment() -> jinja2.Environment:
    """The Jinja2 environment of the report templates (autoescaping, strict undefined names).

    Globals: ``asset(name)`` (an asset's text, inlined as is); filters: ``anchor``
    (:func:`layer_anchor`).

    Example:
        >>> environment().autoescape, sorted(environment().list_templates())[0]
        (True, 'base.html')
    """
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("ganlens.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.globals["asset"] = lambda name: Markup(asset(name))  # our own files
    env.filters["anchor"] = layer_anchor
    return env


def render(template: str, **context: Any) -> str:
    """Render a template of ``ganlens/report/templates/``.

    Args:
        template: Its file name, e.g. ``"dissect.html"``.
        **context: The template's variables.

    Returns:
        The HTML document.

    Raises:
        jinja2.UndefinedError: If the template uses a variable not given.

    Example:
        >>> html = render("base.html", title="t <1>", script=True)
        >>> html.startswith("<!doctype html>"), "<title>t &lt;1&gt;</title>" in html
        (True, True)
        >>> "<script>" in html and "http://" not in html
        True
    """
    return environment().get_template(template).render(**context)
