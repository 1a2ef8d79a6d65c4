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


@pytest.mark.slow
def test_a_killed_run_leaves_no_partial_output_and_the_rerun_reuses_finished_stages(tmp_path):
    args = [sys.executable, str(ROOT / "dissect.py"), "units", "--layers", "layer4", "layer6",
            "--samples", "32", "--images-per-unit", "2", "--out", str(tmp_path)]  # fmt: skip
    process = subprocess.Popen(args, env=ENV, stderr=subprocess.PIPE, text=True)
    assert process.stderr is not None
    for line in process.stderr:
        if "layer4: drew" in line:  # dissection cached, layer6 images being drawn
            process.send_signal(signal.SIGKILL)
            break
    process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL
    assert not (tmp_path / "dissect.json").exists() and not (tmp_path / "dissect.html").exists()
    rerun = dissect_py(*args[2:])
    assert rerun.returncode == 0, rerun.stderr
    assert "layer4: reused cached dissection" in rerun.stderr
    assert "layer6: reused cached dissection" in rerun.stderr
    assert "layer4: reused unit images" in rerun.stderr
    validate_dissect_json(read_dissect_json(tmp_path))
    assert not [p for p in (tmp_path / "images").iterdir() if p.name.startswith(".")]
