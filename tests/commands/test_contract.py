"""Every subcommand but ``fit`` follows the one contract, walked from the registry.

``ganlens.commands.<name>`` holds a frozen, keyword-only settings dataclass built on
``ganlens.options.Settings`` and ``run(settings) -> int``; every field has ``--help`` text; a bad
value fails when the settings are built, as one line with status 2, before ``run`` is called.
"""

from __future__ import annotations

import dataclasses
import pkgutil
import subprocess
import sys

import pytest

from ganlens.cli import COMMANDS, main
from ganlens.options import Settings
from ganlens.settings import field_help


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_each_command_is_a_settings_class_and_a_run_in_its_own_module(name):
    settings_path, run_path = COMMANDS[name].settings, COMMANDS[name].run
    module = f"ganlens.commands.{name}"
    assert settings_path.split(":")[0] == module and run_path.split(":")[0] == module
    cls = pkgutil.resolve_name(settings_path)
    assert issubclass(cls, Settings) and dataclasses.is_dataclass(cls)
    assert cls.__dataclass_params__.frozen  # type: ignore[attr-defined]
    assert all(f.kw_only for f in dataclasses.fields(cls))
    assert "__post_init__" not in vars(cls)  # checks are check() methods, run by Settings
    helps = field_help(cls)
    assert [f.name for f in dataclasses.fields(cls) if not helps.get(f.name)] == []
    assert callable(pkgutil.resolve_name(run_path))


def test_no_settings_module_imports_torch():
    modules = sorted({c.settings.split(":")[0] for c in COMMANDS.values()})
    code = (
        f"import sys, importlib; [importlib.import_module(m) for m in {modules!r}]; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'numpy', 'PIL'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


COMPUTE = [("units", []), ("ace", ["--concept", "tree"]), ("artifacts", []), ("context", []),
           ("compare", ["scene", "scene"])]  # fmt: skip


@pytest.mark.parametrize(("name", "required"), COMPUTE)
def test_an_output_that_is_a_file_fails_in_one_line_before_run(name, required, monkeypatch, capsys):
    run = COMMANDS[name].run
    monkeypatch.setattr(run.replace(":", "."), lambda s: pytest.fail(f"{run} ran"), raising=True)
    assert main([name, *required, "--out", "/dev/null"]) == 2
    err = capsys.readouterr().err
    assert err == f"ganlens {name}: error: --out /dev/null is a file, not a folder\n"


@pytest.mark.parametrize(("name", "required"), COMPUTE)
def test_a_device_this_machine_lacks_fails_in_one_line(name, required, capsys):
    assert main([name, *required, "--device", "tpu:x"]) == 2
    assert capsys.readouterr().err.startswith(f"ganlens {name}: error: --device 'tpu:x' is not")


@pytest.mark.parametrize(
    ("arguments", "old", "new", "error"),
    [
        (["context", "--units", "0"], "--units", "--top-n", "--top-n must be an integer >= 1"),
        (["compare", "scene", "scene", "--threshold", "quantile", "--out", "/dev/null"],
         "--threshold", "--threshold-mode", "--out /dev/null is a file"),
        (["paint", "--samples", "0"], "--samples", "--images", "--images must lie in 1..64"),
    ],
)  # fmt: skip
def test_renamed_flags_keep_their_old_spelling_with_a_warning(arguments, old, new, error, capsys):
    assert main(arguments) == 2  # the old spelling parsed; the value then fails its check
    err = capsys.readouterr().err.splitlines()
    assert err[0] == f"ganlens {arguments[0]}: warning: {old} is deprecated; use {new}"
    assert error in err[1] and len(err) == 2


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_help_shows_readable_types(name, capsys):
    with pytest.raises(SystemExit):
        main([name, "--help"])
    out = capsys.readouterr().out
    assert "<function" not in out and "<locals>" not in out


def test_the_segmenter_never_writes_inside_the_package_by_default():
    from pathlib import Path

    import ganlens
    from ganlens.commands.segmenter import SegmenterSettings

    package = Path(ganlens.__file__).resolve().parent
    out = Path(SegmenterSettings().out).resolve()
    assert package not in out.parents
