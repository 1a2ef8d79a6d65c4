"""The applications' settings: documented, parseable, checked when built (one line per error)."""

from __future__ import annotations

import re

import pytest

from ganlens.commands.artifacts import ArtifactsSettings
from ganlens.commands.compare import CompareSettings
from ganlens.commands.context import ContextSettings


@pytest.mark.parametrize(
    ("name", "cls", "required"),
    [("artifacts", ArtifactsSettings, []), ("context", ContextSettings, []),
     ("compare", CompareSettings, ["scene", "scene"])],
)  # fmt: skip
def test_the_command_line_builds_help_and_parses(name, cls, required, capsys):
    from ganlens.cli import build_parser
    from ganlens.settings import settings_from_namespace

    parsed = build_parser().parse_args([name, *required, "--seed", "3", "--quiet"])
    settings = settings_from_namespace(cls, parsed[name])
    assert settings.seed == 3 and settings.quiet is True
    with pytest.raises(SystemExit):
        build_parser().parse_args([name, "--help"])
    assert "Seed of" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("cls", "changes", "message"),
    [
        (ArtifactsSettings, {"samples": 1}, "--samples must be an integer >= 2; got 1"),
        (ArtifactsSettings, {"quality": "kid"}, "--quality must be one of fsd, swd, fid; got"),
        (ArtifactsSettings, {"repair_quality": ["psnr"]}, "--repair-quality must name one or more"),
        (ArtifactsSettings, {"quality": "fid"}, "--inception-weights must name a weights file"),
        (ArtifactsSettings, {"top_k": 600, "samples": 1024, "real": 512, "quality": "swd"},
         "--top-k must be <= --real"),
        (ArtifactsSettings, {"batch_size": 0}, "--batch-size must be a positive number; got 0"),
        (ArtifactsSettings, {"out": "/dev/null"}, "--out /dev/null is a file, not a folder"),
        (ContextSettings, {"top_n": 0}, "--top-n must be an integer >= 1; got 0"),
        (ContextSettings, {"radius": -1}, "--radius must be an integer >= 0; got -1"),
        (ContextSettings, {"context_layers": []}, "--context-layers must name at least one"),
        (ContextSettings, {"ranking": "ace"}, "--ranking ace needs --dissection"),
        (ContextSettings, {"out": "/dev/null"}, "--out /dev/null is a file, not a folder"),
        (CompareSettings, {"layers": []}, "--layers must name at least one layer"),
        (CompareSettings, {"seed_b": -2}, "--seed-b must be an integer >= 0; got -2"),
        (CompareSettings, {"out": "/dev/null"}, "--out /dev/null is a file, not a folder"),
    ],
)  # fmt: skip
def test_bad_values_raise_when_built_naming_flag_value_and_allowed(cls, changes, message):
    sides = {"a": "scene", "b": "scene"} if cls is CompareSettings else {}
    with pytest.raises(ValueError, match=re.escape(message)):
        cls(**sides, **changes)


def test_settings_import_only_the_standard_library():
    import subprocess
    import sys

    code = (
        "import sys; import ganlens.commands.artifacts, ganlens.commands.context, "
        "ganlens.commands.compare; "
        "print(sorted({'torch', 'numpy', 'PIL'} & set(sys.modules)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
