"""``ganlens context``: insert a concept's top units at every cell; success per context label.

Writes into ``out`` (GAN Dissection, section 4.4, Fig. 11-12):

* ``context.json`` (``format`` ``"ganlens-context/1"``): ``settings``; ``layer``, ``concept``;
  ``ranking`` (``source``: ``"ace"``, ``"iou"`` (from ``dissection``) or ``"quick-iou"`` (a
  dissection run here), ``units`` the inserted units in order, ``k`` their insertion values);
  ``table``: one row per context label, most cells first, with ``context``, ``label``, ``cells``,
  ``successes``, ``success_rate``, ``mean_added`` (net fraction of the window's pixels that became
  the concept); ``cells_tried``; ``images``; ``seconds``;
* ``context_grid.png`` (per image: sample, success map green / failure red, context labels) and
  ``context_rates.svg`` (success rate and mean added per context).
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from ganlens.options import (
    ComputeOptions,
    ProcessOptions,
    check_at_least,
    check_choice,
    check_dissection,
)

__all__ = ["RANKINGS", "ContextSettings", "run_context"]

_log = logging.getLogger(__name__)

RANKINGS = ("auto", "ace", "iou")
"""Where the inserted units come from: ACE when the dissection has it, else IoU; or either."""


@dataclass(frozen=True, kw_only=True)
class ContextSettings(ComputeOptions, ProcessOptions):
    """Insert a concept's top units at every feature cell and see where the concept appears.

    GAN Dissection, section 4.4 (Fig. 11-12): the effect of inserting units depends on the
    location's context (a door appears on a wall, not in the sky). Success at a cell: the
    concept's pixels added in the edited window's image region reach ``min_added`` of it.
    Results are grouped by the unedited image's label at the cell. Writes ``context.json`` and a
    picture grid into ``out``.

    Args:
        layer: Generator layer whose units are inserted.
        concept: Concept to insert, e.g. 'door'.
        top_n: How many of the concept's top units to insert (formerly --units).
        ranking: 'auto' (ACE ranking from dissection when it has one, else IoU), 'ace' or 'iou'.
        samples: Images whose every cell is tried (cost: samples x cells forward passes).
        k_samples: Samples that measure the insertion constant k (mean activation where the
            concept is present).
        dissect_samples: Probe samples of the quick dissection that ranks units by IoU when no
            dissection is given (as many more, held out, choose its iqr thresholds).
        radius: Half side of the inserted window around each cell (0: the cell alone).
        spacing: Try every spacing-th cell in each direction (1: every cell).
        min_added: Success threshold: net fraction of the window's pixels that become the concept.
        context_layers: Label layers that name a cell's context, first labelled one wins.
        show_images: Images drawn in the picture grid.
        dissection: A dissection folder or dissect.json (its IoU rankings and ACE results).
    """

    layer: str = "layer4"
    concept: str = "door"
    top_n: int = field(default=20, metadata={"aliases": ("--units",)})
    ranking: Literal["auto", "ace", "iou"] = "auto"
    samples: int = 48
    k_samples: int = 256
    dissect_samples: int = 256
    radius: int = 1
    spacing: int = 1
    min_added: float = 0.1
    context_layers: list[str] = field(default_factory=lambda: ["part", "object"])
    show_images: int = 8
    dissection: str | None = None
    out: str = "outputs/context"

    def check(self) -> None:
        """Check the insertion's own values."""
        check_at_least(1, top_n=self.top_n, k_samples=self.k_samples, spacing=self.spacing)
        check_at_least(1, dissect_samples=self.dissect_samples)
        check_at_least(0, radius=self.radius, show_images=self.show_images)
        check_choice("ranking", self.ranking, RANKINGS)
        if not 0.0 < self.min_added <= 1.0:
            raise ValueError(f"--min-added must lie in (0, 1]; got {self.min_added!r}")
        if not self.context_layers:
            raise ValueError("--context-layers must name at least one label layer; got []")
        if self.ranking == "ace" and self.dissection is None:
            raise ValueError("--ranking ace needs --dissection, a folder with ACE results")
        if self.dissection is not None:
            check_dissection(self.dissection)


def run_context(settings: ContextSettings) -> int:
    """Run the insertion-in-context application; returns 0 (errors raise ``ValueError``).

    Args:
        settings: The :class:`ContextSettings` (checked when they were built).

    Returns:
        0 on success.

    Raises:
        ValueError: On an unknown layer, concept or source.

    Example:
        >>> run_context(ContextSettings(concept="unicorn"))
        Traceback (most recent call last):
        ...
        ValueError: --concept must be one of ...; got 'unicorn'
    """
    from functools import partial

    from ganlens.applications.context import rank_units
    from ganlens.hooks import get_layer
    from ganlens.processes import run_on_devices
    from ganlens.sources import load_generator, load_segmenter

    s, started = settings, time.perf_counter()
    generator = load_generator(s.generator, s.device, s.truncation)
    get_layer(generator, s.layer)
    segmenter = load_segmenter(s.segmenter, s.device)
    if s.concept not in segmenter.vocabulary:
        raise ValueError(
            f"--concept must be one of {', '.join(segmenter.vocabulary.names[1:])}; "
            f"got {s.concept!r}"
        )
    several = s.devices * s.num_nodes > 1  # then each process loads its own, on its device
    if several:
        rank_units(s.dissection, s.layer, s.concept, s.ranking)  # fails before the spawn
    models = None if several else (generator, segmenter)
    work = partial(_context, s, started, models)
    return run_on_devices(work, s.devices, s.device, s.quiet, s.num_nodes,
                          s.timeout)  # fmt: skip


def _context(s: ContextSettings, started: float, models: tuple[Any, Any] | None, *, device: str,
             writer: bool, distributed: bool) -> int:  # fmt: skip
    """The application in one process (rank 0 of several writes)."""
    import torch

    from ganlens.ace.insertion import insertion_statistics
    from ganlens.applications.context import insertion_in_context, iou_ranking, rank_units
    from ganlens.applications.loading import generator_latent_size
    from ganlens.applications.pictures import context_chart, context_grid, save_png
    from ganlens.dissect.quick import quick_dissection
    from ganlens.io import atomic_write_text
    from ganlens.sources import load_generator, load_segmenter

    if models is None:
        generator = load_generator(s.generator, device, s.truncation)
        models = generator, load_segmenter(s.segmenter, device)
    generator, segmenter = models
    shown = not s.quiet and writer
    seeded = torch.Generator().manual_seed(s.seed)
    z = torch.randn(s.samples + s.k_samples, generator_latent_size(generator), generator=seeded)
    images_z, k_z = torch.split(z, [s.samples, s.k_samples])
    ranked = rank_units(s.dissection, s.layer, s.concept, s.ranking)
    if ranked is None:
        result = quick_dissection(
            generator, s.layer, segmenter, s.dissect_samples, seed=s.seed,
            batch_size=s.batch_size, progress=shown, distributed=distributed,
        )  # fmt: skip
        column = result[s.layer].iou_table[:, result.concept_names.index(s.concept)]  # [U]
        ranked = (iou_ranking(column), "quick-iou")
    units = ranked[0][: s.top_n]
    statistics = insertion_statistics(
        generator,
        s.layer,
        segmenter,
        s.concept,
        k_z,
        batch_size=s.batch_size,
        progress=shown,
        distributed=distributed,
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
        progress=shown,
        distributed=distributed,
    )
    if not writer:
        return 0
    out = Path(s.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = table.rows()
    if s.show_images:
        save_png(context_grid(table, s.min_added), out / "context_grid.png")
    chart = context_chart(rows, s.concept, least=max(1, s.samples // 4))
    atomic_write_text(out / "context_rates.svg", chart)
    images = {"rates": "context_rates.svg"}
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
    _log.info("insert %s (%d %s units of %s): success rate by context (cells): %s -> %s",
              s.concept, len(units), ranked[1], s.layer, top, out)  # fmt: skip
    if s.wandb:
        from ganlens.report.wandb_run import log_results

        columns = ["context", "cells", "successes", "success_rate", "mean_added"]
        log_results(
            s.wandb_project,
            s.wandb_name or f"context-{s.layer}-{s.concept}",
            out,
            scalars={f"context/{r['context']}/success_rate": r["success_rate"] for r in rows},
            tables={"context/table": (columns, [[r[c] for c in columns] for r in rows])},
            images={f"context/{key}": out / name for key, name in images.items()},
            config=asdict(s),
        )
    return 0
