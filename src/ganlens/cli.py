"""``ganlens``: the one command line (also ``python train.py`` and ``python dissect.py``).

Subcommands (``ganlens SUBCOMMAND --help`` lists each one's options):

* ``fit``: train a GAN with monitors (LightningCLI: ``--config configs/X.yaml``, ``--trainer.*``);
* ``units``: dissect layers (GAN Dissection, Bau et al., ICLR 2019, section 3.1) and write
  ``dissect.json``, unit images and an HTML report;
* ``report``: rebuild the report of a dissection folder, folding in ACE fits;
* ``ace``: fit the average causal effect of units on concepts (section 3.2);
* ``paint``: serve a page to paint with units (GANPaint, section 4);
* ``artifacts``, ``context``, ``compare``: the paper's applications (sections 4.1-4.4);
* ``summary``: the per-epoch monitor table of a training run, and its offline dashboard;
* ``scenes``: render a grid of scene-world images with their labels;
* ``segmenter``: train the scene-world segmenter.

Every subcommand but ``fit`` is ``ganlens.commands.<name>``: a frozen, keyword-only settings
dataclass composed of the shared option groups of :mod:`ganlens.options` (its fields are the
flags, their defaults and ``--help`` text; its checks run when it is built) and
``run(settings) -> int``; :data:`COMMANDS` names both by import path,
so ``ganlens --help`` imports neither torch nor Lightning. A user error (a bad value, a missing
file) prints one line ``ganlens CMD: error: ...`` and exits with status 2; ``--debug`` (or
``GANLENS_DEBUG=1``) shows the traceback instead.
"""

from __future__ import annotations

import logging
import os
import pkgutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ganlens.processes import ProcessFailure

__all__ = ["COMMANDS", "Command", "build_parser", "console", "main", "run_command"]

PROG = "ganlens"


@dataclass(frozen=True)
class Command:
    """A subcommand: its settings dataclass and runner, as ``module:name`` import paths.

    Attributes:
        settings: The settings dataclass (imports only the standard library).
        run: ``run(settings) -> int``, the exit status.
        help: One line for ``ganlens --help``.

    Example:
        >>> COMMANDS["units"].help
        'dissect layers; write dissect.json, unit images and an HTML report'
    """

    settings: str
    run: str
    help: str


COMMANDS: dict[str, Command] = {
    "units": Command(
        "ganlens.commands.units:UnitsSettings",
        "ganlens.commands.units:run_units_command",
        "dissect layers; write dissect.json, unit images and an HTML report",
    ),
    "report": Command(
        "ganlens.commands.report:ReportSettings",
        "ganlens.commands.report:run_report_command",
        "rebuild the HTML report of a dissection folder, folding in ACE fits",
    ),
    "ace": Command(
        "ganlens.commands.ace:AceSettings",
        "ganlens.commands.ace:run_ace_command",
        "fit the average causal effect of units on concepts",
    ),
    "paint": Command(
        "ganlens.commands.paint:PaintSettings",
        "ganlens.commands.paint:run_paint",
        "paint with units: serve a GANPaint page on loopback",
    ),
    "artifacts": Command(
        "ganlens.commands.artifacts:ArtifactsSettings",
        "ganlens.commands.artifacts:run_artifacts",
        "find the units that cause artifacts, and repair the generator by ablating them",
    ),
    "context": Command(
        "ganlens.commands.context:ContextSettings",
        "ganlens.commands.context:run_context",
        "insert a concept's units at every location: where can it appear?",
    ),
    "compare": Command(
        "ganlens.commands.compare:CompareSettings",
        "ganlens.commands.compare:run_compare",
        "compare two checkpoints or dissections: units per layer and category, lineage",
    ),
    "layers": Command(
        "ganlens.commands.layers:LayersSettings",
        "ganlens.commands.layers:run_layers_command",
        "list a generator's layers and their output shapes, to choose --layers",
    ),
    "summary": Command(
        "ganlens.commands.summary:SummarySettings",
        "ganlens.commands.summary:run_summary_command",
        "per-epoch monitor numbers of a training run, and its offline dashboard",
    ),
    "scenes": Command(
        "ganlens.commands.scenes:ScenesSettings",
        "ganlens.commands.scenes:run_scenes_command",
        "render a grid of scene-world images with their label layers",
    ),
    "segmenter": Command(
        "ganlens.commands.segmenter:SegmenterSettings",
        "ganlens.commands.segmenter:run_segmenter_command",
        "train the scene-world segmenter",
    ),
}
"""Every subcommand except ``fit``, in ``--help`` order."""

DESCRIPTION = (
    "ganlens: train GANs with monitors and dissect what their units learned (GAN Dissection, "
    "Bau et al., ICLR 2019). `SUBCOMMAND --help` lists a subcommand's options."
)
FIT_HELP = "train a GAN with monitors (LightningCLI; `ganlens fit --help` lists its options)"
USER_ERRORS = (ValueError, FileNotFoundError, NotADirectoryError, IsADirectoryError,
               PermissionError)  # fmt: skip
"""Exceptions that are the user's to fix: shown as one line, not a traceback."""


def build_parser(prog: str = PROG) -> Any:
    """The jsonargparse parser of every subcommand except ``fit`` (a placeholder for ``--help``).

    Example:
        >>> args = build_parser().parse_args(["units", "--layers", "layer4", "--samples", "64"])
        >>> args.subcommand, args.units.layers, args.units.samples, args.units.threshold_mode
        ('units', ['layer4'], 64, 'iqr')
    """
    from jsonargparse import ActionConfigFile, ArgumentParser

    from ganlens.settings import add_settings_arguments

    parser = ArgumentParser(prog=prog, description=DESCRIPTION)
    parser.add_argument("--debug", action="store_true", help="show tracebacks of errors")
    commands = parser.add_subcommands(metavar="SUBCOMMAND")
    commands.add_subcommand("fit", ArgumentParser(description=FIT_HELP), help=FIT_HELP)
    for name, command in COMMANDS.items():
        settings = pkgutil.resolve_name(command.settings)
        description = (settings.__doc__ or command.help).split("\n\n")[0]
        sub = ArgumentParser(prog=f"{prog} {name}", description=description)
        sub.add_argument("--config", action=ActionConfigFile, help="YAML file with any option")
        add_settings_arguments(sub, settings)
        commands.add_subcommand(name, sub, help=command.help)
    return parser


def _fit(arguments: list[str], prog: str, debug: bool = False) -> int:
    """``ganlens fit``: LightningCLI; a user error (bad checkpoint, invalid model) is one line."""
    from lightning_fabric.utilities.exceptions import MisconfigurationException

    from ganlens.fit import main as fit_main
    from ganlens.fit import wandb_run_line

    if "--debug" in arguments:
        debug, arguments = True, [a for a in arguments if a != "--debug"]
    try:
        # LightningCLI names the subcommand itself: its usage reads "train.py [options] fit ..."
        cli = fit_main(["fit", *arguments], prog=prog.removesuffix(" fit"))
    except (*USER_ERRORS, MisconfigurationException) as error:  # e.g. a GPU config, no GPU
        if debug:
            raise
        hint = ""
        if isinstance(error, MisconfigurationException) and "gpu" in str(error).lower():
            hint = " (this machine has no GPU: add --trainer.accelerator cpu)"
        print(f"{prog}: error: {error}{hint}", file=sys.stderr)
        return 2
    line = wandb_run_line(cli.trainer)
    if line:
        print(line, file=sys.stderr)
    return 0


def run_command(name: str, settings: Any, prog: str = PROG, debug: bool = False) -> int:
    """Run subcommand ``name`` with ``settings``; a user error becomes one line and status 2.

    Example:
        >>> from ganlens.commands.report import ReportSettings
        >>> run_command("report", ReportSettings(directory="/nonexistent"))
        2
    """
    from ganlens.console import log_to_stderr

    handler = log_to_stderr(quiet=getattr(settings, "quiet", False))
    try:
        code: int = pkgutil.resolve_name(COMMANDS[name].run)(settings)
        return code
    except USER_ERRORS as error:
        if debug:
            raise
        print(f"{prog} {name}: error: {error}", file=sys.stderr)
        return 2
    except ProcessFailure as error:  # the process's own traceback stays behind --debug
        if debug:
            raise
        print(f"{prog} {name}: error: {error} (--debug shows its traceback)", file=sys.stderr)
        return 1
    finally:
        logging.getLogger("ganlens").removeHandler(handler)


def main(argv: Sequence[str] | None = None, prog: str = PROG) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); returns the exit status.

    Example:
        >>> main(["report", "/nonexistent"])
        2
    """
    from ganlens.console import quiet_other_libraries
    from ganlens.settings import deprecated_flags, settings_from_namespace

    quiet_other_libraries()
    arguments = list(sys.argv[1:] if argv is None else argv)
    debug = os.environ.get("GANLENS_DEBUG", "") not in ("", "0")
    if arguments[:1] == ["--debug"]:
        debug, arguments = True, arguments[1:]
    if arguments[:1] == ["fit"]:
        return _fit(arguments[1:], f"{prog} fit", debug)
    config = build_parser(prog).parse_args(arguments)
    debug = debug or bool(config.debug)
    name = str(config.subcommand)
    settings_class = pkgutil.resolve_name(COMMANDS[name].settings)
    for old, new in deprecated_flags(settings_class, arguments):
        print(f"{prog} {name}: warning: {old} is deprecated; use {new}", file=sys.stderr)
    try:
        settings = settings_from_namespace(settings_class, config[name])
    except USER_ERRORS as error:  # a settings class validates its values in __post_init__
        if debug:
            raise
        print(f"{prog} {name}: error: {error}", file=sys.stderr)
        return 2
    return run_command(name, settings, prog, debug)


def console() -> None:
    """Entry point of the installed ``ganlens`` command."""
    raise SystemExit(main())
