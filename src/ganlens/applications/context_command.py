"""``context``: insert a concept's top units at every cell; success per context label.

Writes into ``out`` (GAN Dissection, section 4.4, Fig. 11-12):

* ``context.json`` (``format`` ``"ganlens-context/1"``): ``settings``; ``layer``, ``concept``;
  ``ranking`` (``source``: ``"ace"``, ``"iou"`` (from ``dissection``) or ``"quick-iou"`` (a
  dissection run here), ``units`` the inserted units in order, ``k`` their insertion values);
  ``table``: one row per context label, most cells first, with ``context``, ``label``, ``cells``,
  ``successes``, ``success_rate``, ``mean_added`` (net fraction of the window's pixels that became
  the concept); ``cells_tried``; ``images``; ``seconds``;
* ``context_grid.png`` (per image: sample, success map green / failure red, context labels) and
  ``context_rates.png`` (success rate and mean added per context).
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch

from ganlens.ace.insertion import insertion_statistics
from ganlens.applications.context import insertion_in_context
from ganlens.applications.loading import (
    dissect_generator,
    generator_latent_size,
    load_generator,
    load_segmenter,
    read_dissection,
)
from ganlens.applications.pictures import context_chart, context_grid
from ganlens.applications.plot import save_png
from ganlens.applications.settings import ContextSettings
from ganlens.applications.validation import validate
from ganlens.hooks import get_layer
from ganlens.io import atomic_write_text

__all__ = ["rank_units", "run_context"]


def rank_units(
    dissection: str | None, layer: str, concept: str, ranking: str
) -> tuple[list[int], str] | None:
    """Units of ``layer`` ranked for ``concept`` from a dissection folder, and the source.

    ``auto`` and ``ace`` read ``DIR/ace/<layer>/<concept>.json`` (``ranking.ace``); ``auto`` then
    falls back, and ``iou`` goes, to the ``<concept>-iou`` ranking of ``DIR/dissect.json``.
    Returns None without a dissection.

    Args:
        dissection: A dissection folder or ``dissect.json``, or None.
        layer: The layer.
        concept: The concept.
        ranking: ``"auto"``, ``"ace"`` or ``"iou"``.

    Returns:
        ``(units best first, source)`` or None.

    Raises:
        ValueError: If the requested ranking is not in the dissection.

    Example:
        >>> rank_units(None, "layer4", "door", "auto") is None
        True
    """
    if dissection is None:
        if ranking == "ace":
            raise ValueError("ranking 'ace' needs dissection, a folder with ACE results")
        return None
    folder = Path(dissection)
    folder = folder if folder.is_dir() else folder.parent
    ace = folder / "ace" / layer / f"{concept}.json"
    if ranking in ("auto", "ace") and ace.is_file():
        return [int(u) for u in json.loads(ace.read_text())["ranking"]["ace"]], "ace"
    if ranking == "ace":
        raise ValueError(f"ranking 'ace' needs {ace} (run dissect.py ace first)")
    result = read_dissection(dissection)
    if layer not in result.layers:
        raise ValueError(f"dissection {dissection!r} has no layer {layer!r}")
    names = result.concept_names
    table = result[layer].iou_table  # [U, C]
    if concept not in names or float(table[:, names.index(concept)].max()) <= 0:
        raise ValueError(f"dissection {dissection!r} has no IoU ranking for {concept!r}")
    iou = table[:, names.index(concept)].tolist()
    return sorted(range(len(iou)), key=lambda u: (-iou[u], u)), "iou"


def run_context(settings: ContextSettings) -> int:
    """Run the insertion-in-context application; returns 0 (errors raise ``ValueError``).

    Args:
        settings: The :class:`ContextSettings`.

    Returns:
        0 on success.

    Raises:
        ValueError: On a bad setting, an unknown layer, concept or source.

    Example:
        >>> run_context(ContextSettings(min_added=0.0))
        Traceback (most recent call last):
        ...
        ValueError: min_added must lie in (0, 1]; got 0.0
    """
    validate(settings)
    s, started = settings, time.perf_counter()
    generator = load_generator(s.generator, s.device)
    get_layer(generator, s.layer)
    segmenter = load_segmenter(s.segmenter, s.device)
    if s.concept not in segmenter.vocabulary:
        raise ValueError(
            f"concept must be one of {segmenter.vocabulary.names[1:]}; got {s.concept!r}"
        )
    seeded = torch.Generator().manual_seed(s.seed)
    total = s.samples + s.k_samples + s.dissect_samples
    z = torch.randn(total, generator_latent_size(generator), generator=seeded)
    images_z, k_z, dissect_z = torch.split(z, [s.samples, s.k_samples, s.dissect_samples])
    ranked = rank_units(s.dissection, s.layer, s.concept, s.ranking)
    if ranked is None:
        result = dissect_generator(
            generator,
            [s.layer],
            segmenter,
            dissect_z,
            batch_size=s.batch_size,
            progress=not s.quiet,
        )
        column = result[s.layer].iou_table[:, result.concept_names.index(s.concept)]  # [U]
        order = sorted(range(column.numel()), key=lambda u: (-float(column[u]), u))
        ranked = (order, "quick-iou")
    units = ranked[0][: s.units]
    statistics = insertion_statistics(
        generator,
        s.layer,
        segmenter,
        s.concept,
        k_z,
        batch_size=s.batch_size,
        progress=not s.quiet,
    )
    k = statistics.mean[units]
    table = insertion_in_context(
        generator,
        s.layer,
        segmenter,
        s.concept,
        units,
        k,
        images_z,
        radius=s.radius,
        spacing=s.spacing,
        min_added=s.min_added,
        context_layers=s.context_layers,
        keep_maps=s.show_images,
        batch_size=s.batch_size,
        progress=not s.quiet,
    )
    out = Path(s.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = table.rows()
    if s.show_images:
        save_png(context_grid(table, s.min_added), out / "context_grid.png")
    save_png(
        context_chart(rows, s.concept, least=max(1, s.samples // 4)), out / "context_rates.png"
    )
    images = {"rates": "context_rates.png"}
    if s.show_images:
        images["grid"] = "context_grid.png"
    document: dict[str, Any] = {
        "format": "ganlens-context/1",
        "settings": asdict(s),
        "layer": s.layer,
        "concept": s.concept,
        "ranking": {"source": ranked[1], "units": units, "k": k.tolist()},
        "table": rows,
        "cells_tried": sum(r["cells"] for r in rows),
        "images": images,
        "seconds": time.perf_counter() - started,
    }
    atomic_write_text(out / "context.json", json.dumps(document, indent=1) + "\n")
    top = ", ".join(f"{r['context']} {r['success_rate']:.2f} ({r['cells']})" for r in rows[:6])
    print(
        f"insert {s.concept} ({len(units)} {ranked[1]} units of {s.layer}): success rate by "
        f"context (cells): {top} -> {out}"
    )
    if s.wandb:
        from ganlens.applications.wandb_log import log_to_wandb

        columns = ["context", "cells", "successes", "success_rate", "mean_added"]
        log_to_wandb(
            s.wandb_project,
            f"context-{s.layer}-{s.concept}",
            out,
            {f"context/{r['context']}/success_rate": r["success_rate"] for r in rows},
            {"context/table": (columns, [[r[c] for c in columns] for r in rows])},
            {f"context/{key}": out / name for key, name in images.items()},
            asdict(s),
        )
    return 0
