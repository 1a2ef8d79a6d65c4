"""The shell shared by the report pages: one self-contained HTML document, no network needed.

The stylesheet and script under ``ganlens/report/assets/`` are inlined into every page, so a
report opens from disk (``file://``), offline, and images are the only other files it loads
(relative paths beside the page).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from importlib import resources
from typing import Any

__all__ = ["asset", "page", "report_header"]


def asset(name: str) -> str:
    """The text of a file under ``ganlens/report/assets/``.

    Example:
        >>> "section.layer" in asset("report.js")
        True
    """
    return (resources.files("ganlens.report") / "assets" / name).read_text(encoding="utf-8")


def report_header(document: Mapping[str, Any], title: str, links: Sequence[tuple[str, str]]) -> str:
    """The page header: title, one line of settings and a row of navigation links.

    Args:
        document: The ``dissect.json`` document.
        title: Heading text (the model source is appended as code).
        links: ``(href, label)`` navigation links.

    Example:
        >>> doc = {"model": {"source": "scene", "fingerprint": "ab" * 32}, "ganlens_version": "0",
        ...        "settings": {"threshold_mode": "iqr", "iou_mode": "unrestricted",
        ...                     "num_probe": 8, "resolution": 32}}
        >>> "<code>scene</code>" in report_header(doc, "Dissection of", [("#a", "a")])
        True
    """
    settings, model = document["settings"], document["model"]
    facts = [
        f"{settings['threshold_mode']} thresholds",
        f"{settings['iou_mode']} IoU",
        f"{settings['num_probe']} probe samples",
        f"segmented at {settings['resolution']} px",
    ]
    if "segmenter" in settings:
        facts.append(f"segmenter {settings['segmenter']}")
    facts += [f"weights {model['fingerprint'][:12]}", f"ganlens {document['ganlens_version']}"]
    nav = "".join(f'<a href="{escape(href)}">{escape(label)}</a>' for href, label in links)
    return (
        f'<header class="page"><h1>{escape(title)} <code>{escape(str(model["source"]))}</code>'
        f'</h1><p class="meta">{escape(" · ".join(facts))}</p><nav>{nav}</nav></header>'
    )


def page(title: str, header: str, body: str, *, script: bool = True) -> str:
    """A complete HTML document with the inlined stylesheet (and script).

    Args:
        title: ``<title>`` text.
        header: HTML of the page header.
        body: HTML of the main content.
        script: Whether to inline the sort/filter script.

    Example:
        >>> html = page("t", "<header></header>", "<p>hi</p>")
        >>> html.startswith("<!doctype html>") and "<script>" in html and "http://" not in html
        True
    """
    code = f"<script>{asset('report.js')}</script>" if script else ""
    footer = (
        "<footer>Each unit shows its top-activating probe samples; the region where the unit's "
        "upsampled activation exceeds its threshold t<sub>u</sub> is bright, the rest dimmed. "
        "IoU(u, c) = |A<sub>u</sub> ∩ S<sub>c</sub>| / |A<sub>u</sub> ∪ S<sub>c</sub>| over all "
        "probe pixels (GAN Dissection, Bau et al., ICLR 2019). Written by ganlens.</footer>"
    )
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{asset('report.css')}</style></head>"
        f"<body>{header}<main>{body}</main>{footer}{code}</body></html>\n"
    )
