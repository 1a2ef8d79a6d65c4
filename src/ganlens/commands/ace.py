"""``ganlens ace``: find the units that cause a concept, and show how much they cause it.

GAN Dissection (Bau et al., ICLR 2019, arXiv:1811.10597, section 3.2). For each ``--concept`` this
searches present and candidate cells, fits per-unit alpha with a Lightning ``Trainer``, and
compares the ACE ranking with the IoU ranking by ablating / inserting the top n units on held-out
samples. It writes ``OUT/ace/<layer>/<concept>.json`` and its plot (atomically) and, with
``--wandb``, a W&B run with the fitting curves and line charts. Offline by default: the shipped
scene generator and segmenter.

Example: ``python dissect.py ace --layer layer4 --concept tree door --steps 300``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from ganlens.options import (
    ComputeOptions,
    ProcessOptions,
    check_choice,
    check_positive,
)

if TYPE_CHECKING:
    from torch import Tensor, nn

__all__ = ["AceSettings", "run_ace_command"]

_log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class AceSettings(ComputeOptions, ProcessOptions):
    """Fit the average causal effect of a layer's units on concepts (GAN Dissection, 3.2).

    Args:
        concept: One or several concept names.
        segmenter: The segmenter: 'scene' (shipped), 'segformer:PATH' (local SegFormer ADE20K
            folder) or 'package.module:factory' giving a differentiable Segmenter.
        layer: Generator layer to intervene on.
        samples: Latents searched for training pairs.
        eval_samples: Held-out latents for the curves.
        steps: Optimiser steps of the alpha fit.
        pairs_per_step: (present, candidate) pairs per optimiser step.
        top_n: Largest number of top units in the curves.
        radius: Intervention window half side in feature cells (0: one cell).
        spacing: Lattice step of the candidate search.
        lr: Adam learning rate.
        penalty: L2 penalty lambda on alpha.
        dissection: A dissect.json (or its folder) with the layer's IoUs; default: a quick
            dissection.
        dissect_samples: Probe samples of the quick dissection (in iqr mode as many more, held
            out, choose the thresholds), drawn as `ganlens units --samples` draws them.
        dissect_threshold_mode: Threshold policy of the quick dissection.
        out: Output folder (the fits go to OUT/ace/<layer>/).
    """

    concept: list[str] = field(metadata={"option": True})
    layer: str = "layer4"
    # Defaults measured on the shipped scene model: smaller sets leave rare concepts (door, 0.3%
    # of pixels) too noisy to rank (benchmarks/BENCHMARKS.md, "ACE on the shipped scene model").
    samples: int = 768
    eval_samples: int = 384
    steps: int = 300
    pairs_per_step: int = 16
    batch_size: int = 32
    top_n: int = 20
    radius: int = 1
    spacing: int = 3
    lr: float = 0.01
    penalty: float = 0.005
    dissection: str | None = None
    dissect_samples: int = 256
    dissect_threshold_mode: Literal["iqr", "quantile"] = "iqr"
    out: str = "outputs/dissect"

    def check(self) -> None:
        """Check the fit's own values."""
        check_positive(eval_samples=self.eval_samples, steps=self.steps,
                       pairs_per_step=self.pairs_per_step, top_n=self.top_n,
                       spacing=self.spacing, lr=self.lr,
                       dissect_samples=self.dissect_samples)  # fmt: skip
        check_choice("dissect_threshold_mode", self.dissect_threshold_mode, ("iqr", "quantile"))
        if self.radius < 0:
            raise ValueError(f"--radius must be 0 or more; got {self.radius}")
        if self.penalty < 0:
            raise ValueError(f"--penalty must be 0 or more; got {self.penalty}")
        if not self.concept:
            raise ValueError("--concept must name at least one concept")


def _quick_iou(
    generator: nn.Module, segmenter: Any, settings: AceSettings, progress: bool, distributed: bool
) -> tuple[Tensor, tuple[str, ...]]:
    """``[U, C]`` IoU table of the layer from a quick dissection (``--dissect-samples``)."""
    from ganlens.dissect.quick import quick_dissection

    result = quick_dissection(
        generator, settings.layer, segmenter, settings.dissect_samples, seed=settings.seed,
        threshold_mode=settings.dissect_threshold_mode, batch_size=settings.batch_size,
        progress=progress, distributed=distributed,
    )  # fmt: skip
    return result[settings.layer].iou_table, tuple(result.concept_names)


def _iou_tables(
    generator: nn.Module, segmenter: Any, settings: AceSettings, progress: bool, distributed: bool
) -> dict[str, Tensor]:
    """``[U]`` IoU of every unit with each concept, from ``--dissection`` or a quick one."""
    if settings.dissection is None:
        table, names = _quick_iou(generator, segmenter, settings, progress, distributed)
    else:
        from ganlens.dissect.record import read_dissection

        table, names = _recorded_iou(read_dissection(settings.dissection), settings)
    import torch

    return {c: table[:, names.index(c)] if c in names else torch.zeros(table.shape[0])
            for c in settings.concept}  # fmt: skip


def _recorded_iou(result: Any, settings: AceSettings) -> tuple[Tensor, tuple[str, ...]]:
    """The layer's IoU table and concept names from a read ``--dissection``."""
    if settings.layer not in result.layers:
        raise ValueError(f"--dissection {settings.dissection} has no layer "
                         f"{settings.layer!r}; it has {sorted(result.layers)}")  # fmt: skip
    return result[settings.layer].iou_table, tuple(result.concept_names)


def run_ace_command(settings: AceSettings) -> int:
    """Run ``ganlens ace``; returns the exit status.

    The settings, the layer, the concepts and a ``--dissection`` are checked here, in this
    process; with ``--devices N > 1`` Lightning Fabric then starts N processes that split the
    searches and the curves (the fit runs the same in each) and the first writes the records.

    Example:
        >>> run_ace_command(AceSettings(concept=["tree"], layer="layer99"))
        Traceback (most recent call last):
        ...
        ValueError: ... 'layer99' ...
    """
    from functools import partial

    from ganlens.hooks import get_layer
    from ganlens.processes import run_on_devices
    from ganlens.sources import load_generator, load_segmenter

    generator = load_generator(settings.generator, settings.device, settings.truncation)
    get_layer(generator, settings.layer)
    segmenter = load_segmenter(settings.segmenter, settings.device)
    for concept in settings.concept:
        if concept not in segmenter.vocabulary:
            known = ", ".join(c.name for c in segmenter.vocabulary)
            raise ValueError(
                f"--concept: unknown concept {concept!r}; the segmenter knows: {known}"
            )
    latent_size = int(getattr(generator, "latent_size", 0))
    if latent_size < 1:
        raise ValueError("the generator must have a positive integer attribute latent_size")
    several = settings.devices * settings.num_nodes > 1
    if settings.dissection is not None and several:  # one process reads it once, in _ace
        from ganlens.dissect.record import read_dissection

        _recorded_iou(read_dissection(settings.dissection), settings)  # fails before a spawn
    models = None if several else (generator, segmenter)
    work = partial(_ace, settings, latent_size, models)
    return run_on_devices(work, settings.devices, settings.device, settings.quiet,
                          settings.num_nodes, settings.timeout)  # fmt: skip


def _ace(settings: AceSettings, latent_size: int, models: tuple[Any, Any] | None, *,
         device: str, writer: bool, distributed: bool) -> int:  # fmt: skip
    """One process's ACE: every concept searched, fitted and evaluated; the writer saves."""
    import torch

    from ganlens.ace.pipeline import run_concept, write_record
    from ganlens.sources import load_generator, load_segmenter

    if models is None:
        models = (load_generator(settings.generator, device, settings.truncation),
                  load_segmenter(settings.segmenter, device))  # fmt: skip
    generator, segmenter = models
    progress = not settings.quiet and writer
    seeded = torch.Generator().manual_seed(settings.seed)
    z = torch.randn(settings.samples + settings.eval_samples, latent_size, generator=seeded)
    fit_latents, eval_latents = z[: settings.samples], z[settings.samples :]
    tables = _iou_tables(generator, segmenter, settings, progress, distributed)
    for concept in settings.concept:
        loggers: list[Any] = []
        if settings.wandb and writer:
            from pytorch_lightning.loggers import WandbLogger

            from ganlens.report.wandb_run import wandb_logger

            name = settings.wandb_name or f"ace-{settings.layer}-{concept}"
            record = wandb_logger(settings.wandb_project, save_dir=settings.out, name=name)
            loggers.append(WandbLogger(**record["init_args"]))
        record = run_concept(
            generator, segmenter, settings.layer, concept, fit_latents, eval_latents,
            tables[concept], steps=settings.steps, batch_size=settings.pairs_per_step,
            forward_batch_size=settings.batch_size, top_n=settings.top_n, radius=settings.radius,
            spacing=settings.spacing, lr=settings.lr, penalty=settings.penalty, loggers=loggers,
            progress=progress, seed=settings.seed, distributed=distributed,
        )  # fmt: skip
        if not writer:
            continue
        record["settings"].update(
            generator=settings.generator, segmenter=settings.segmenter, seed=settings.seed,
            iou_source=settings.dissection or "quick dissection",
        )  # fmt: skip
        json_path, plot_path = write_record(record, settings.out)
        if loggers:
            _log_wandb(loggers[0], record)
        curves = record["curves"]
        _log.info("%s/%s: top units %s (ACE) vs %s (IoU); ablating top %d removes %.3f (ACE) vs "
                  "%.3f (IoU) of its pixels; fit %.1f s -> %s, %s", settings.layer, concept,
                  record["ranking"]["ace"][:5], record["ranking"]["iou"][:5], curves["n"][-1],
                  curves["ablation"]["ace"][-1], curves["ablation"]["iou"][-1],
                  record["fit"]["seconds"], json_path, plot_path)  # fmt: skip
    return 0


def _log_wandb(logger: Any, record: dict[str, Any]) -> None:
    """Log the curves' end points and line charts to the fit's W&B run, then finish it."""
    from ganlens.report.wandb_media import wandb_curve_charts

    prefix = f"causal/{record['layer']}/{record['concept']}"
    curves = record["_curves"]
    scalars = {f"{prefix}/{kind}_top{curves.n[-1]}/{name}": values[-1]
               for kind in ("ablation", "insertion")
               for name, values in getattr(curves, kind).items()}  # fmt: skip
    charts = {key: build() for key, build in wandb_curve_charts(curves, prefix).items()}
    logger.experiment.log({**scalars, **charts})
    logger.experiment.finish()
