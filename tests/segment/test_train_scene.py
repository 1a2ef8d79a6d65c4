import torch

from ganlens.cli import main
from ganlens.segment.scene_segmenter import load_scene_segmenter


def test_help_runs_as_a_user_types_it(capsys):
    try:
        main(["segmenter", "--help"])
    except SystemExit as exit_info:
        assert exit_info.code == 0
    out = capsys.readouterr().out
    for flag in ("--steps", "--out", "--augment-probability", "--zoom-probability", "--threads"):
        assert flag in out
    assert "default: 5000)" in out


def test_tiny_run_writes_loadable_weights(tmp_path):
    code = main([
        "segmenter", "--steps", "3", "--batch-size", "2", "--resolution", "32", "--widths", "4",
        "8", "--val-size", "2", "--val-every", "3", "--out", str(tmp_path / "seg.pt"),
        "--log-dir", str(tmp_path), "--quiet",
    ])  # fmt: skip
    assert code == 0
    segmenter = load_scene_segmenter(weights=tmp_path / "seg.pt")
    assert segmenter.network.widths == (4, 8)
    assert segmenter.segment(torch.zeros(1, 3, 32, 32)).shape == (1, 3, 32, 32)
