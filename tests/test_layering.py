"""The package's layering: no subpackage imports one above it, no cycles, light entry points.

Layers, bottom to top (a module may import its own layer or lower ones, never higher ones, and
imports between modules of one layer must not form a cycle):
io, images, lazy, settings, options, console, processes, hooks, charts, data -> functional,
models, segment -> metrics, training -> dissect, ace, applications, sources -> callbacks, report,
paint -> commands, fit -> cli.
"""

import ast
import os
import subprocess
import sys
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import pytest

from fresh_imports import failures_of_each_alone

PACKAGE = Path(__file__).parents[1] / "src" / "ganlens"
LAYERS = [
    {
        "<root>",
        "io",
        "images",
        "lazy",
        "settings",
        "options",
        "console",
        "processes",
        "hooks",
        "charts",
        "data",
    },
    {"functional", "models", "segment"},
    {"metrics", "training"},
    {"dissect", "ace", "applications", "sources"},
    {"callbacks", "report", "paint"},
    {"commands", "fit"},
    {"cli", "__main__"},
]
RANK = {name: rank for rank, names in enumerate(LAYERS) for name in names}


def part_of(module: str) -> str:
    """``ganlens.dissect.stages`` -> ``dissect``; ``ganlens`` -> ``<root>``."""
    parts = module.removesuffix(".__init__").split(".")
    return parts[1] if len(parts) > 1 else "<root>"


def dependencies() -> dict[str, set[tuple[str, str]]]:
    """Each part's imports of other parts (function-level imports included), with the file."""
    found: dict[str, set[tuple[str, str]]] = {}
    for path in PACKAGE.rglob("*.py"):
        relative = path.relative_to(PACKAGE.parent).with_suffix("")
        source = part_of(".".join(relative.parts))
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            for name in names:
                if name.split(".")[0] == "ganlens" and part_of(name) != source:
                    found.setdefault(source, set()).add((part_of(name), str(path.name)))
    return found


def test_every_part_has_a_layer():
    parts = {part_of(".".join(p.relative_to(PACKAGE.parent).with_suffix("").parts))
             for p in PACKAGE.rglob("*.py")}  # fmt: skip
    assert parts <= set(RANK), f"parts without a layer: {sorted(parts - set(RANK))}"


def test_no_part_imports_a_higher_layer():
    upward = [
        f"{source} ({where}) imports {target}"
        for source, targets in dependencies().items()
        for target, where in targets
        if RANK[target] > RANK[source]
    ]
    assert not upward, "\n".join(sorted(upward))


def test_the_parts_import_each_other_without_cycles():
    graph = {source: {t for t, _ in targets} for source, targets in dependencies().items()}
    try:
        list(TopologicalSorter(graph).static_order())
    except CycleError as error:
        pytest.fail(f"import cycle between subpackages: {error.args[1]}")


EXISTING = sorted(
    {p.stem if p.parent == PACKAGE else p.parent.name for p in PACKAGE.glob("**/__init__.py")}
    | {p.stem for p in PACKAGE.glob("*.py")} - {"__init__", "__main__", "ganlens"}
)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="forks a child per part (POSIX)")
def test_each_part_imports_alone_in_a_fresh_interpreter():
    failed = failures_of_each_alone({part: f"import ganlens.{part}" for part in EXISTING})
    assert not failed, failed


def test_the_command_line_help_imports_neither_torch_nor_lightning():
    code = ("import sys, ganlens.cli as cli; cli.build_parser(); "
            "heavy = [m for m in ('torch', 'pytorch_lightning', 'wandb') if m in sys.modules]; "
            "assert not heavy, heavy")  # fmt: skip
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
