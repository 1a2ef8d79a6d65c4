"""The whole ACE procedure for one concept: search, fit alpha, evaluate, record.

GAN Dissection (Bau et al., ICLR 2019, arXiv:1811.10597, section 3.2):
:func:`run_concept` searches present and candidate cells on the fitting latents, fits
:class:`~ganlens.ace.CausalUnitFitter` with a Lightning ``Trainer``, searches the held-out latents
for their own candidate cells (with the fitting set's k), and evaluates the ACE ranking against
the IoU ranking (:func:`~ganlens.ace.causal_curves`). :func:`write_record` saves the JSON
record and its SVG plot atomically.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from torch import Tensor, nn

from ganlens.ace.evaluation import CausalCurves, causal_curves, iou_ranking
from ganlens.ace.fitter import CausalUnitFitter
from ganlens.ace.plot import save_curve_plot
from ganlens.ace.search import CellSearch, search_cells
from ganlens.hooks import module_device
from ganlens.io import atomic_write_text

__all__ = ["run_concept", "write_record"]


def _trainer_device(device: torch.device) -> dict[str, Any]:
    if device.type == "cpu":
        return {"accelerator": "cpu", "devices": 1}
    return {"accelerator": "gpu", "devices": [device.index or 0]}


def _check_present(search: CellSearch, name: str, option: str) -> None:
    """Fail before any fitting when a latent set shows none of the concept."""
    if float(search.coverage.sum()) <= 0 or search.present.shape[0] == 0:
        raise ValueError(
            f"the {name} images contain no {search.concept!r} (checked before fitting): raise "
            f"{option}, or pick a concept the generator draws at this layer"
        )


def run_concept(
    generator: nn.Module,
    segmenter: Any,
    layer: str,
    concept: str,
    fit_latents: Tensor,
    eval_latents: Tensor,
    iou: Tensor,
    *,
    steps: int = 300,
    batch_size: int = 16,
    forward_batch_size: int = 32,
    top_n: int = 20,
    radius: int = 0,
    spacing: int = 3,
    lr: float = 0.01,
    penalty: float = 0.005,
    present_per_image: int = 1,
    candidates_per_image: int = 1,
    loggers: Sequence[Any] = (),
    progress: bool = False,
    seed: int = 0,
    distributed: bool = False,
) -> dict[str, Any]:
    """Search, fit and evaluate one concept; returns the JSON-ready record.

    Args:
        generator: Maps latents to images (frozen by the fitter).
        segmenter: A :class:`~ganlens.segment.Segmenter`.
        layer: Dotted layer name.
        concept: Concept name.
        fit_latents: ``[N, ...]`` latents searched for training pairs.
        eval_latents: ``[M, ...]`` held-out latents for the curves.
        iou: ``[U]`` IoU of every unit with the concept (initialisation and IoU ranking).
        steps: Optimiser steps.
        batch_size: Pairs per step.
        forward_batch_size: Samples per forward pass in search and evaluation.
        top_n: Largest n of the curves.
        radius: Intervention window half side around a cell.
        spacing: Lattice step of the candidate search.
        lr: Adam learning rate.
        penalty: L2 weight lambda.
        present_per_image: Present cells per image.
        candidates_per_image: Candidate cells per image.
        loggers: Lightning loggers for the fit.
        progress: Show progress bars.
        seed: Seed of the fit's pair order.
        distributed: Split the searches and the curves over the process group (each process
            renders its share of the images; the results are assembled exactly); the fit of
            alpha, small beside them, runs the same in every process (the same pairs in the same
            order), so every process returns the record one process would.

    Returns:
        ``{"layer", "concept", "num_units", "alpha", "ranking", "curves", "units", "settings",
        "fit"}`` (the record :func:`write_record` saves), plus the
        :class:`~ganlens.ace.CausalCurves` under ``"_curves"``.

    Example:
        >>> from ganlens.ace.planted import PlantedCausalGenerator, PlantedConceptSegmenter
        >>> _ = torch.manual_seed(0)
        >>> g = PlantedCausalGenerator(grid=4, scale=2, jitter=0.1)
        >>> z = torch.randn(24, g.latent_size)
        >>> iou = torch.tensor([1.0, 1.0, 1.0, 0.8, 0.8, 0.8, 0.0, 0.0])  # decoys look best
        >>> record = run_concept(g, PlantedConceptSegmenter(), "layer1", "tree", z[:16], z[16:],
        ...                      iou, steps=60, batch_size=8, top_n=3)
        >>> sorted(record["ranking"]["ace"][:3]), record["ranking"]["iou"][:3]
        ([3, 4, 5], [0, 1, 2])
    """

    def search(latents: Tensor, k: Tensor | None = None) -> CellSearch:
        return search_cells(
            generator, layer, segmenter, concept, latents, k=k,
            present_per_image=present_per_image, candidates_per_image=candidates_per_image,
            spacing=spacing, radius=radius, batch_size=forward_batch_size, progress=progress,
            distributed=distributed,
        )  # fmt: skip

    fit_search = search(fit_latents)
    _check_present(fit_search, "search", "--samples")
    held_out = search(eval_latents, k=fit_search.k)
    _check_present(held_out, "held-out", "--eval-samples")
    fitter = CausalUnitFitter(
        generator, segmenter, fit_search, iou=iou, lr=lr, penalty=penalty, batch_size=batch_size,
        radius=radius,
    )  # fmt: skip
    device = module_device(generator)
    trainer = pl.Trainer(
        max_steps=steps, logger=list(loggers) or False, enable_checkpointing=False,
        enable_progress_bar=progress, enable_model_summary=False, log_every_n_steps=10,
        **_trainer_device(device),
    )  # fmt: skip
    torch.manual_seed(seed)  # the pair order: the same fit in every process
    started = time.perf_counter()
    lightning = logging.getLogger("pytorch_lightning.utilities.rank_zero")
    level = lightning.level
    if not progress:  # Lightning's "`Trainer.fit` stopped" line too: the caller reports the fit
        lightning.setLevel(logging.WARNING)
    try:
        trainer.fit(fitter)
    finally:
        lightning.setLevel(level)
    seconds = time.perf_counter() - started
    final_loss = float(trainer.callback_metrics.get("fit/loss", torch.tensor(float("nan"))))
    ace_ranking, by_iou = fitter.ranking(), iou_ranking(iou)
    curves = causal_curves(
        generator, segmenter, held_out, {"ace": ace_ranking, "iou": by_iou}, k=fit_search.k,
        top_n=top_n,
        radius=radius, batch_size=forward_batch_size, progress=progress, distributed=distributed,
    )  # fmt: skip
    alpha = fitter.alpha.detach().cpu()
    units = [
        {"unit": u, "alpha": float(alpha[u]), "iou": float(iou[u]), "k": float(fit_search.k[u])}
        for u in ace_ranking[:top_n]
    ]
    settings = {
        "present_per_image": present_per_image,
        "candidates_per_image": candidates_per_image,
        "spacing": spacing,
        "radius": radius,
        "forward_batch_size": forward_batch_size,
        "steps": steps,
        "pairs_per_step": batch_size,
        "lr": lr,
        "penalty": penalty,
        "top_n": top_n,
        "fit_samples": int(fit_latents.shape[0]),
        "eval_samples": int(eval_latents.shape[0]),
        "present_cells": int(fit_search.present.shape[0]),
        "candidate_cells": int(fit_search.candidates.shape[0]),
        "held_out_candidate_cells": int(held_out.candidates.shape[0]),
        "concept_coverage": fit_search.statistics.coverage,
        "grid": list(fit_search.grid),
    }
    return {
        "layer": layer,
        "concept": concept,
        "num_units": int(alpha.numel()),
        "alpha": alpha.tolist(),
        "ranking": {"ace": ace_ranking, "iou": by_iou},
        "curves": curves.to_dict(),
        "units": {"ace": units},
        "settings": settings,
        "fit": {"steps": int(trainer.global_step), "seconds": seconds, "final_loss": final_loss},
        "_curves": curves,
    }


def write_record(record: dict[str, Any], out: str | os.PathLike[str]) -> tuple[Path, Path]:
    """Write ``OUT/ace/<layer>/<concept>.json`` and ``.svg`` atomically.

    Args:
        record: A :func:`run_concept` record (keys starting with ``_`` are not saved).
        out: The output folder.

    Returns:
        The JSON and SVG paths.

    Example:
        >>> import tempfile
        >>> curves = CausalCurves([1], {"ace": [0.5]}, {"ace": [0.1]})
        >>> record = {"layer": "layer4", "concept": "tree", "_curves": curves}
        >>> paths = write_record(record, tempfile.mkdtemp())
        >>> [p.name for p in paths], json.loads(paths[0].read_text())
        (['tree.json', 'tree.svg'], {'layer': 'layer4', 'concept': 'tree'})
    """
    folder = Path(out) / "ace" / str(record["layer"])
    saved = {key: value for key, value in record.items() if not key.startswith("_")}
    target = atomic_write_text(
        folder / f"{record['concept']}.json", json.dumps(saved, indent=1) + "\n"
    )
    curves: CausalCurves = record["_curves"]
    title = f"{record['layer']} / {record['concept']}: ACE vs IoU ranking"
    concept = str(record["concept"])
    picture = save_curve_plot(curves, folder / f"{concept}.svg", concept=concept, title=title)
    return target, picture
