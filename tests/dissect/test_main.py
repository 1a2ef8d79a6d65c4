"""``python -m ganlens.dissect`` as a user runs it, on the shipped generator and segmenter."""

import pytest

from ganlens.dissect.__main__ import main


def test_dissects_the_shipped_model_and_prints_each_layer(capsys):
    result = main(["--count", "32", "--layers", "layer2", "layer4", "--batch-size", "16"])
    out = capsys.readouterr().out
    assert "| layer4 | 128 |" in out and "dissected 32 samples (iqr thresholds)" in out
    summary = result["layer4"].summary
    assert summary.num_units == 128 and summary.num_interpretable <= 128


def test_a_wrong_layer_name_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--count", "8", "--layers", "layr4"])
    assert exit_info.value.code == 2
    assert "Did you mean 'layer4'" in capsys.readouterr().err
