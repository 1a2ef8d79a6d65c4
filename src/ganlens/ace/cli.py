"""``dissect.py ace``: find the units that cause a concept, and show how much they cause it.

GAN Dissection (Bau et al., ICLR 2019, arXiv:1811.10597, section 3.2). For each ``--concept`` this
searches present and candidate cells, fits per-unit alpha with a Lightning ``Trainer``, and
compares the ACE ranking with the IoU ranking by ablating / inserting the top n units on held-out
samples. It writes ``OUT/ace/<layer>/<concept>.json`` and ``.png`` (atomically) and, with
``--wandb-project``, a W&B run with the fitting curves and line charts. Offline by default: the
shipped scene generator and segmenter. ``--config file.yaml`` reads any of the options from YAML.

Example::

    python dissect.py ace --layer layer4 --concept tree door dome --steps 300
"""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from jsonargparse import ArgumentParser
from torch import Tensor, nn

from ganlens.segment.sources import load_segmenter

__all__ = ["build_parser", "main", "unit_iou"]


def build_parser() -> ArgumentParser:
    """The argument parser of ``dissect.py ace`` (every option has help text).

    Example:
        >>> build_parser().parse_args(["--concept", "tree"]).layer
        'layer4'
    """
    parser = ArgumentParser(prog="dissect.py ace", description=__doc__.split("\n\n")[0])
    add = parser.add_argument
    config_action = importlib.import_module("jsonargparse").ActionConfigFile
    add("--config", action=config_action, help="YAML file with any of these options")
    add(
        "--generator",
        type=str,
        default="scene",
        help="'scene' (shipped), a .ckpt, a gandissect .pth or 'package.module:factory'",
    )
    add(
        "--segmenter",
        type=str,
        default="scene",
        help="'scene' (shipped, default), 'segformer:PATH' (local SegFormer ADE20K folder) or "
        "'package.module:factory' (called without arguments) giving a differentiable Segmenter",
    )
    add("--layer", type=str, default="layer4", help="generator layer to intervene on")
    add("--concept", type=str, nargs="+", required=True, help="one or several concept names")
    # Defaults measured on the shipped scene model: smaller sets leave rare concepts (door, 0.3%
    # of pixels) too noisy to rank (benchmarks/BENCHMARKS.md, "ACE on the shipped scene model").
    add("--samples", type=int, default=768, help="latents searched for training pairs")
    add("--eval-samples", type=int, default=384, help="held-out latents for the curves")
    add("--steps", type=int, default=300, help="optimiser steps of the alpha fit")
    add("--batch-size", type=int, default=16, help="(present, candidate) pairs per step")
    add("--forward-batch-size", type=int, default=32, help="samples per forward pass")
    add("--top-n", type=int, default=20, help="largest number of top units in the curves")
    add("--radius", type=int, default=1, help="intervention window half side (0: one cell)")
    add("--spacing", type=int, default=3, help="lattice step of the candidate search")
    add("--lr", type=float, default=0.01, help="Adam learning rate")
    add("--penalty", type=float, default=0.005, help="L2 penalty lambda on alpha")
    add(
        "--dissection",
        type=str | None,
        default=None,
        help="dissect.json with the layer's IoUs; default: a quick quantile dissection",
    )
    add("--dissect-samples", type=int, default=256, help="samples of the quick dissection")
    add(
        "--dissect-mode",
        type=str,
        default="iqr",
        choices=["iqr", "quantile"],
        help="threshold policy of the quick dissection (iqr: half the samples choose thresholds)",
    )
    add("--seed", type=int, default=0, help="seed of all latents")
    add("--device", type=str, default="cpu", help="torch device, e.g. cuda")
    add("--out", type=str, default="outputs/dissect", help="output folder")
    add(
        "--wandb-project",
        type=str | None,
        default=None,
        help="also log to this W&B project (WANDB_MODE=offline works without an account)",
    )
    add("--progress", type=bool, default=True, help="show progress bars")
    return parser


def unit_iou(dissection: dict[str, Any], layer: str, concept: str) -> Tensor:
    """``[U]`` IoU of each unit with ``concept`` from a ``dissect.json``-style dict.

    Reads the ``dissect.json`` that ``dissect.py units`` writes (``layers`` a list of layer
    records whose ``rankings`` hold ``-IoU`` per unit for each concept any unit overlaps; a
    concept without a ranking has IoU 0 everywhere), or ``DissectionResult.to_dict()`` (``layers``
    keyed by name; each unit's IoU counts when its best concept is ``concept``).

    Raises:
        ValueError: If the layer is missing (the message lists the layers there).

    Example:
        >>> data = {"layers": {"layer4": {"units": [{"concept": "tree", "iou": 0.3},
        ...                                        {"concept": "sky", "iou": 0.5}]}}}
        >>> unit_iou(data, "layer4", "tree").tolist()
        [0.30000001192092896, 0.0]
        >>> doc = {"layers": [{"layer": "layer4", "num_units": 2, "rankings": [
        ...     {"concept": "tree", "metric": "iou", "score": [-0.25, 0.0]}]}]}
        >>> unit_iou(doc, "layer4", "tree").tolist(), unit_iou(doc, "layer4", "sky").tolist()
        ([0.25, 0.0], [0.0, 0.0])
    """
    layers = dissection.get("layers", {})
    if isinstance(layers, list):  # dissect.json of dissect.py units
        layers = {record["layer"]: record for record in layers}
    if layer not in layers:
        raise ValueError(f"dissection has no layer {layer!r}; it has {sorted(layers)}")
    record = layers[layer]
    if "rankings" in record:
        for ranking in record["rankings"]:
            if ranking["metric"] == "iou" and ranking["concept"] == concept:
                return -torch.tensor(ranking["score"], dtype=torch.float32)
        return torch.zeros(int(record["num_units"]))
    return torch.tensor(
        [float(u["iou"]) if u.get("concept") == concept else 0.0 for u in record["units"]]
    )


def _quick_iou(
    generator: nn.Module, segmenter: Any, latents: Tensor, args: Any
) -> tuple[Tensor, tuple[str, ...]]:
    """``[U, C]`` IoU table of ``args.layer`` from a dissection of ``latents``."""
    from ganlens.dissect import dissect

    half = latents.shape[0] // 2
    iqr = args.dissect_mode == "iqr"
    if iqr and half < 1:
        raise ValueError(f"--dissect-samples must be >= 2 in iqr mode; got {latents.shape[0]}")
    probe, held_out = (latents[:half], latents[half:]) if iqr else (latents, None)
    result = dissect(
        generator, args.layer, segmenter, probe, held_out, batch_size=args.forward_batch_size,
        threshold_mode=args.dissect_mode, progress=args.progress,
    )  # fmt: skip
    return result[args.layer].iou_table, tuple(result.concept_names)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``dissect.py ace`` with ``argv`` (default ``sys.argv[1:]``); returns 0 on success."""
    parser = build_parser()
    args = parser.parse_args(list(argv) if argv is not None else sys.argv[1:])
    counts = {
        "--samples": args.samples,
        "--eval-samples": args.eval_samples,
        "--steps": args.steps,
        "--top-n": args.top_n,
        "--dissect-samples": args.dissect_samples,
    }
    for flag, value in counts.items():
        if value < 1:
            parser.error(f"{flag} must be >= 1; got {value}")
    from ganlens.ace.pipeline import run_concept, write_record
    from ganlens.hooks import get_layer
    from ganlens.models.sources import load_generator

    try:
        generator = load_generator(args.generator, args.device)
        get_layer(generator, args.layer)
        segmenter = load_segmenter(args.segmenter, args.device)
        for concept in args.concept:
            if concept not in segmenter.vocabulary:
                known = ", ".join(c.name for c in segmenter.vocabulary)
                raise ValueError(f"unknown concept {concept!r}; the segmenter knows: {known}")
    except (ValueError, FileNotFoundError) as error:
        parser.error(str(error))
    latent_size = int(getattr(generator, "latent_size", 0))
    if latent_size < 1:
        parser.error("the generator must have a positive integer attribute latent_size")
    seeded = torch.Generator().manual_seed(args.seed)
    z = torch.randn(args.samples + args.eval_samples, latent_size, generator=seeded)
    fit_latents, eval_latents = z[: args.samples], z[args.samples :]
    if args.dissection is not None:
        try:
            dissection = json.loads(Path(args.dissection).read_text(encoding="utf-8"))
            tables = {c: unit_iou(dissection, args.layer, c) for c in args.concept}
        except (OSError, ValueError) as error:
            parser.error(f"--dissection {args.dissection}: {error}")
    else:
        try:
            table, names = _quick_iou(
                generator, segmenter, fit_latents[: args.dissect_samples], args
            )
        except ValueError as error:
            parser.error(str(error))
        tables = {c: table[:, names.index(c)] for c in args.concept}
    for concept in args.concept:
        loggers: list[Any] = []
        if args.wandb_project:
            from pytorch_lightning.loggers import WandbLogger

            loggers.append(WandbLogger(project=args.wandb_project, save_dir=args.out,
                                       name=f"ace-{args.layer}-{concept}"))  # fmt: skip
        record = run_concept(
            generator, segmenter, args.layer, concept, fit_latents, eval_latents, tables[concept],
            steps=args.steps, batch_size=args.batch_size,
            forward_batch_size=args.forward_batch_size, top_n=args.top_n, radius=args.radius,
            spacing=args.spacing, lr=args.lr, penalty=args.penalty, loggers=loggers,
            progress=args.progress,
        )  # fmt: skip
        source = args.dissection or "quick dissection"
        record["settings"].update(
            generator=args.generator, segmenter=args.segmenter, seed=args.seed, iou_source=source
        )
        json_path, png_path = write_record(record, args.out)
        if loggers:
            _log_wandb(loggers[0], record)
        curves = record["curves"]
        print(f"{args.layer}/{concept}: top units {record['ranking']['ace'][:5]} (ACE) vs "
              f"{record['ranking']['iou'][:5]} (IoU); ablating top {curves['n'][-1]} removes "
              f"{curves['ablation']['ace'][-1]:.3f} (ACE) vs {curves['ablation']['iou'][-1]:.3f} "
              f"(IoU) of its pixels; fit {record['fit']['seconds']:.1f} s -> {json_path}, "
              f"{png_path}")  # fmt: skip
    return 0


def _log_wandb(logger: Any, record: dict[str, Any]) -> None:
    """Log the curves' end points and line charts to the fit's W&B run, then finish it."""
    from ganlens.ace.plot import wandb_curve_charts

    prefix = f"causal/{record['layer']}/{record['concept']}"
    curves = record["_curves"]
    scalars = {f"{prefix}/{kind}_top{curves.n[-1]}/{name}": values[-1]
               for kind in ("ablation", "insertion")
               for name, values in getattr(curves, kind).items()}  # fmt: skip
    charts = {key: build() for key, build in wandb_curve_charts(curves, prefix).items()}
    logger.experiment.log({**scalars, **charts})
    logger.experiment.finish()
