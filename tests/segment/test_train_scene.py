import runpy
import sys

import pytest
import torch

from ganlens.segment.scene_segmenter import load_scene_segmenter
from ganlens.segment.train_scene import build_parser, main


def test_every_flag_has_help_text():
    for action in build_parser()._actions:
        assert action.help, action.option_strings


def test_help_runs_as_a_user_types_it(monkeypatch, capsys):
    # `python -m ganlens.segment.train_scene --help`, run in-process (a subprocess would spend
    # most of its time importing Lightning again).
    monkeypatch.setattr(sys, "argv", ["train_scene", "--help"])
    with pytest.raises(SystemExit) as exit_info:
        runpy.run_module("ganlens.segment.train_scene", run_name="__main__")
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for flag in ("--steps", "--out", "--augment-probability", "--zoom-probability", "--threads"):
        assert flag in out
    assert "(default: 5000)" in out


def test_tiny_run_writes_loadable_weights(tmp_path):
    scores = main([
        "--steps", "3", "--batch-size", "2", "--resolution", "32", "--widths", "4", "8",
        "--val-size", "2", "--val-every", "3", "--out", str(tmp_path / "seg.pt"),
        "--log-dir", str(tmp_path), "--quiet",
    ])  # fmt: skip
    assert set(scores) == {"val/mean_iou", "val/pixel_accuracy"}
    segmenter = load_scene_segmenter(weights=tmp_path / "seg.pt")
    assert segmenter.network.widths == (4, 8)
    assert segmenter.segment(torch.zeros(1, 3, 32, 32)).shape == (1, 3, 32, 32)
