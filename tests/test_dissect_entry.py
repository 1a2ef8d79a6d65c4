"""``python dissect.py`` as a user runs it: help, the console script, and a killed run."""

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from ganlens.cli import build_parser
from ganlens.dissect.record import read_document as read_dissect_json
from ganlens.dissect.record import validate_dissect_json

ROOT = Path(__file__).parents[1]
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1", "WANDB_MODE": "offline"}


def dissect_py(*args, **kwargs):
    return subprocess.run([sys.executable, str(ROOT / "dissect.py"), *args], env=ENV,
                          capture_output=True, text=True, timeout=300, **kwargs)  # fmt: skip


def test_help_lists_the_subcommands_and_units_options():
    units = dissect_py("units", "--help")
    assert units.returncode == 0, units.stderr
    for flag in ("--generator", "--layers", "--samples", "--threshold-mode", "--iou-mode",
                 "--segmenter", "--seed", "--out", "--device", "--wandb", "--force"):  # fmt: skip
        assert flag in units.stdout
    top = build_parser().format_help()
    assert all(command in top for command in ("fit", "units", "report", "ace", "summary"))


def test_the_ganlens_console_script_is_the_same_entry():
    pyproject = (ROOT / "pyproject.toml").read_text()
    scripts = pyproject.split("[project.scripts]")[1].split("\n[")[0]
    assert re.search(r'^ganlens = "ganlens\.cli:console"$', scripts, flags=re.M)


ARGS = ["units", "--layers", "layer4", "layer6", "--samples", "16", "--images-per-unit", "2",
        "--batch-size", "16"]  # fmt: skip


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    out = tmp_path_factory.mktemp("uninterrupted")
    done = dissect_py(*ARGS, "--out", str(out))
    assert done.returncode == 0, done.stderr
    return read_dissect_json(out)


def killed_then_rerun(out, marker):
    """SIGKILL ``dissect.py units`` when stderr shows ``marker``; then run it again."""
    args = [sys.executable, str(ROOT / "dissect.py"), *ARGS, "--out", str(out)]
    process = subprocess.Popen(args, env=ENV, stderr=subprocess.PIPE, text=True)
    assert process.stderr is not None
    for line in process.stderr:
        if marker in line:
            process.send_signal(signal.SIGKILL)
            break
    process.wait(timeout=120)
    assert process.returncode == -signal.SIGKILL, f"the run ended before {marker!r}"
    assert not (out / "dissect.json").exists() and not (out / "dissect.html").exists()
    rerun = dissect_py(*ARGS, "--out", str(out))
    assert rerun.returncode == 0, rerun.stderr
    return rerun.stderr


@pytest.mark.parametrize(
    "marker, reused",
    [
        pytest.param("layer4: drew", ["layer4: reused cached dissection",
                                      "layer6: reused cached dissection",
                                      "layer4: reused unit images"], id="drawing"),
        pytest.param("dissecting layer4, layer6", [], id="dissecting", marks=pytest.mark.slow),
    ],
)  # fmt: skip
def test_a_killed_run_leaves_no_partial_output_and_the_rerun_gives_the_same_json(
    tmp_path, uninterrupted, marker, reused
):
    err = killed_then_rerun(tmp_path, marker)
    assert all(message in err for message in reused), err
    document = read_dissect_json(tmp_path)
    validate_dissect_json(document)
    assert document == uninterrupted
    assert not [p for p in (tmp_path / "images").iterdir() if p.name.startswith(".")]
