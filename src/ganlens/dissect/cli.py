"""``dissect.py`` (also the ``ganlens`` command): dissect a generator, fit ACE, build the report.

Subcommands:

* ``units``: dissect layers of a generator (the shipped scene model, a ``.ckpt`` of ours, a
  gandissect/Karras ``.pth`` or ``package.module:factory``) and write ``dissect.json``, unit images
  and the HTML report into ``--out``; finished stages are cached there and reused on re-runs.
* ``report DIR``: rebuild ``dissect.html`` and ``layers.html`` from ``DIR/dissect.json``, folding in
  ACE results written since (``DIR/ace/<layer>/<concept>.json``).
* ``ace``: fit the average causal effect of units on a concept (:mod:`ganlens.ace.cli`).

Example: ``python dissect.py units --layers layer2 layer4 layer6 --samples 256 --out outputs/dis``.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

__all__ = ["build_parser", "main"]

PROG = "dissect.py"
_log = logging.getLogger(__name__)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer; got {value}")
    return value


def _non_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more; got {value}")
    return value


def _fraction(text: str) -> float:
    value = float(text)
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"must lie in (0, 1]; got {value}")
    return value


def _add_wandb(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--wandb",
        action="store_true",
        help="also log the summaries to a W&B run (offline unless logged in)",
    )
    parser.add_argument("--wandb-project", default="ganlens", help="W&B project (default ganlens)")
    parser.add_argument("--wandb-name", default=None, help="W&B run name (default: W&B picks)")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``dissect.py`` with its subcommands.

    Example:
        >>> args = build_parser().parse_args(["units", "--layers", "layer4", "--samples", "64"])
        >>> args.command, args.layers, args.samples, args.threshold
        ('units', ['layer4'], 64, 'iqr')
    """
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True, metavar="{units,report,ace}")
    units = commands.add_parser(
        "units",
        help="dissect layers; write dissect.json, images, report",
        description="Dissect generator layers (GAN Dissection, section 3.1) and write "
        "dissect.json, unit images and an HTML report.",
    )
    add = units.add_argument
    add(
        "--model",
        default="scene",
        metavar="SOURCE",
        help="generator: 'scene' (shipped 32 px scene ProgGAN, default), a .ckpt of ours, a "
        "gandissect/Karras .pth, or 'package.module:factory' returning an nn.Module",
    )
    add(
        "--layers",
        nargs="+",
        default=["layer2", "layer4", "layer6"],
        metavar="LAYER",
        help="dotted names of the layers to dissect (default: layer2 layer4 layer6)",
    )
    add(
        "--samples",
        type=_positive,
        default=512,
        help="probe samples N (iqr mode draws N more, held out, for the thresholds; default 512)",
    )
    add(
        "--threshold",
        choices=["iqr", "quantile"],
        default="iqr",
        help="threshold policy: 'iqr' search on a held-out set (default) or top 'quantile'",
    )
    add(
        "--quantile",
        type=_fraction,
        default=0.01,
        help="top fraction q of the quantile policy (default 0.01)",
    )
    add(
        "--iou-mode",
        choices=["unrestricted", "category"],
        default="unrestricted",
        help="count a unit's region everywhere (default) or only in images with the category",
    )
    add(
        "--resolution",
        type=_positive,
        default=None,
        help="segmentation side S (default: image side capped at 128)",
    )
    add("--min-iou", type=float, default=0.05, help="IoU cut-off of interpretable units (0.05)")
    add("--min-iqr", type=float, default=0.01, help="IQR cut-off in iqr mode (default 0.01)")
    add(
        "--num-levels",
        type=_positive,
        default=100,
        help="candidate threshold levels B of the IQR search (default 100)",
    )
    add("--top-k", type=_positive, default=10, help="top samples recorded per unit (default 10)")
    add(
        "--images-per-unit",
        type=_non_negative,
        default=4,
        help="top samples drawn per unit in the report (default 4; 0 draws none)",
    )
    add(
        "--segmenter",
        default="scene",
        metavar="SOURCE",
        help="'scene' (shipped scene segmenter, default), 'segformer:PATH' (local SegFormer "
        "ADE20K folder, needs the ade20k extra) or 'package.module:factory' (called without "
        "arguments)",
    )
    add(
        "--latent-size",
        type=_positive,
        default=None,
        help="latent dimension, for generators without a latent_size attribute",
    )
    add("--seed", type=int, default=0, help="seed of the latent draw (default 0)")
    add("--batch-size", type=_positive, default=64, help="samples per forward pass (default 64)")
    add(
        "--out",
        type=Path,
        default=Path("outputs/dissect"),
        help="output folder (default outputs/dissect); the cache lives in OUT/cache",
    )
    add("--device", default="cpu", help="torch device, e.g. cpu or cuda (default cpu)")
    add("--force", action="store_true", help="recompute every stage instead of reusing the cache")
    add("--quiet", action="store_true", help="no progress bars or stage messages")
    _add_wandb(units)
    report = commands.add_parser(
        "report",
        help="rebuild the HTML report from DIR/dissect.json",
        description="Rebuild dissect.html and layers.html from DIR/dissect.json, folding in ACE "
        "results under DIR/ace/.",
    )
    report.add_argument("directory", type=Path, metavar="DIR", help="output folder of `units`")
    report.add_argument("--quiet", action="store_true", help="no messages")
    _add_wandb(report)
    commands.add_parser("ace", add_help=False, help="fit ACE (dissect.py ace --help for options)")
    return parser


def _units(args: argparse.Namespace) -> int:
    from ganlens.dissect.units import UnitsSettings, make_latents, run_units
    from ganlens.models.sources import load_generator, weights_fingerprint

    generator = load_generator(args.model, args.device)
    latent_size = args.latent_size or getattr(generator, "latent_size", None)
    if latent_size is None:
        raise ValueError(f"--latent-size is needed: {args.model!r} has no latent_size attribute")
    from ganlens.segment.sources import load_segmenter

    try:
        segmenter = load_segmenter(args.segmenter, args.device)
    except ValueError as error:
        raise ValueError(f"--{error}") from error  # name the flag
    segmenter_id = args.segmenter
    if isinstance(segmenter, torch.nn.Module):
        segmenter_id += ":" + weights_fingerprint(segmenter)
    probe, held_out = make_latents(latent_size, args.samples, args.seed, args.threshold == "iqr")
    settings = UnitsSettings(
        threshold_mode=args.threshold, quantile=args.quantile, iou_mode=args.iou_mode,
        resolution=args.resolution, min_iou=args.min_iou, min_iqr=args.min_iqr,
        num_levels=args.num_levels, top_k=args.top_k, images_per_unit=args.images_per_unit,
        batch_size=args.batch_size,
    )  # fmt: skip
    model = {
        "source": str(args.model),
        "class": type(generator).__name__,
        "resolution": getattr(generator, "resolution", None),
    }
    document = run_units(
        generator, args.layers, segmenter, args.out, probe=probe, held_out=held_out,
        settings=settings, model=model, segmenter_id=segmenter_id, force=args.force,
        extra_settings={"seed": args.seed, "segmenter": args.segmenter}, progress=not args.quiet,
    )  # fmt: skip
    for layer in document["layers"]:
        s = layer["summary"]
        top = ", ".join(f"{e['concept']} {e['count']}" for e in s["class_distribution"][:6])
        _log.info("%s: %d of %d units interpretable, %d concepts (%s)", layer["layer"],
                  s["num_interpretable"], s["num_units"], s["num_concepts"], top)  # fmt: skip
    _log.info("open %s", (args.out / "dissect.html").resolve().as_uri())
    if args.wandb:
        _wandb(args, args.out, document)
    return 0


def _report(args: argparse.Namespace) -> int:
    from ganlens.report.dissect_json import fold_ace, read_dissect_json, write_dissect_json
    from ganlens.report.html import write_report

    document = fold_ace(read_dissect_json(args.directory), args.directory)
    write_dissect_json(document, args.directory / "dissect.json")
    for path in write_report(args.directory, document):
        _log.info("wrote %s", path)
    if args.wandb:
        _wandb(args, args.directory, document)
    return 0


def _wandb(args: argparse.Namespace, directory: Path, document: dict[str, Any]) -> None:
    from ganlens.report.wandb_summary import log_dissection

    where = log_dissection(document, directory, project=args.wandb_project, name=args.wandb_name)
    _log.info("logged to W&B run files %s", where)


def _ace(argv: list[str]) -> int:
    try:
        ace_cli = importlib.import_module("ganlens.ace.cli")
    except ModuleNotFoundError as error:
        if error.name not in ("ganlens.ace", "ganlens.ace.cli"):
            raise
        print(f"{PROG} ace: error: ACE fitting is not available in this ganlens "
              f"(no module {error.name!r})", file=sys.stderr)  # fmt: skip
        return 2
    code: int = ace_cli.main(argv)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``dissect.py`` with ``argv`` (default ``sys.argv[1:]``); returns the exit status.

    Example:
        >>> main(["report", "/nonexistent"])
        2
    """
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["ace"]:
        return _ace(arguments[1:])
    args = build_parser().parse_args(arguments)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    package_log = logging.getLogger("ganlens")
    package_log.addHandler(handler)
    package_log.setLevel(logging.WARNING if args.quiet else logging.INFO)
    try:
        return _units(args) if args.command == "units" else _report(args)
    except (ValueError, FileNotFoundError, ImportError) as error:
        print(f"{PROG} {args.command}: error: {error}", file=sys.stderr)
        return 2
    finally:
        package_log.removeHandler(handler)
