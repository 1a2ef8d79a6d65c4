"""Settings: every field documented (``--help`` text), parseable by jsonargparse, validated."""

from __future__ import annotations

import dataclasses
import re

import pytest

from ganlens.applications.settings import ArtifactsSettings, CompareSettings, ContextSettings
from ganlens.applications.validation import validate

ALL = (ArtifactsSettings, ContextSettings, CompareSettings)


@pytest.mark.parametrize("cls", ALL)
def test_every_field_is_documented(cls):
    documented = set(re.findall(r"^        (\w+): ", cls.__doc__ or "", flags=re.MULTILINE))
    fields = {f.name for f in dataclasses.fields(cls)}
    assert fields == documented


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
    validate(settings)
    with pytest.raises(SystemExit):
        build_parser().parse_args([name, "--help"])
    assert "Seed of" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (ArtifactsSettings(samples=1), "samples must be an integer >= 2; got 1"),
        (
            ArtifactsSettings(quality="kid"),
            "quality must be one of ('fsd', 'swd', 'fid'); got 'kid'",
        ),
        (ArtifactsSettings(repair_quality=["psnr"]), "repair_quality must be a non-empty list"),
        (ArtifactsSettings(quality="fid"), "inception_weights must name a weights file"),
        (
            ArtifactsSettings(top_k=600, samples=1024, real=512, quality="swd"),
            "top_k must be <= real",
        ),
        (ArtifactsSettings(batch_size=0), "batch_size must be an integer >= 1; got 0"),
        (ContextSettings(units=0), "units must be an integer >= 1; got 0"),
        (ContextSettings(radius=-1), "radius must be an integer >= 0; got -1"),
        (ContextSettings(context_layers=[]), "context_layers must name at least one"),
        (CompareSettings("scene", "scene", layers=[]), "layers must name at least one layer"),
        (CompareSettings("scene", "scene", seed_b=-2), "seed_b must be an integer >= 0; got -2"),
    ],
)
def test_validation_names_field_value_and_allowed(settings, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        validate(settings)


def test_settings_import_only_the_standard_library():
    import subprocess
    import sys

    code = (
        "import sys; import ganlens.applications.settings; "
        "print(sorted({'torch', 'numpy', 'PIL'} & set(sys.modules)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
