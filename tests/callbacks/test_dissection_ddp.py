"""DissectionMonitor under a real 2-process CPU DDP run logs what one process logs on the bank."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from ganlens.callbacks.dissection import layer_scalars
from ganlens.dissect import SceneLabelSegmenter, dissect

sys.path.insert(0, str(Path(__file__).parent))
from planted_module import NUM_SAMPLES, PlantedModule, scene_bank

WORKER = Path(__file__).with_name("ddp_monitor_worker.py")


@pytest.mark.slow  # a 2-process Trainer (~15 s); like tests/training/test_multinode_fit.py
@pytest.mark.skipif(not torch.distributed.is_available(), reason="torch.distributed unavailable")
def test_two_process_ddp_monitor_equals_one_process(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PL_DISABLE_FORK": "1"}
    completed = subprocess.run([sys.executable, str(WORKER), str(tmp_path)], env=env,
                               capture_output=True, text=True, timeout=300)  # fmt: skip
    assert completed.returncode == 0, completed.stderr[-3000:]
    probe, held_out = scene_bank()
    segmenter = SceneLabelSegmenter(range(2 * NUM_SAMPLES))
    result = dissect(PlantedModule().generator_ema, "layer1", segmenter, probe, held_out,
                     threshold_mode="iqr")  # fmt: skip
    expected = result["layer1"]
    generated = []
    for rank in range(2):
        got = torch.load(tmp_path / f"rank{rank}.pt", weights_only=False)
        assert got["scalars"] == layer_scalars(expected, result.concept_names)
        torch.testing.assert_close(got["iou_table"], expected.iou_table)
        assert torch.equal(got["thresholds"], torch.tensor([u.threshold for u in expected.units]))
        assert got["top_samples"] == [u.top_samples for u in expected.units]
        generated.append(got["generated"])
    # each rank rendered its half of the three passes (plus one probe image to find the layers)
    assert generated == [1 + 3 * NUM_SAMPLES // 2] * 2
