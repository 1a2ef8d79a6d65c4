"""DDP parity of the dissection metrics: a real two-process gloo run, and an emulated gather.

The real run spawns two ranks on CPU (about 20 s; part of the default run because it is the
only check of a real process group); the fast test replays torchmetrics' sync with
a ``dist_sync_fn`` that returns both halves' states, exercising the same reductions.
"""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest
import torch
from torchmetrics import Metric

from ganlens.metrics.top_activations import TopActivations
from ganlens.metrics.unit_concept_iou import UnitConceptIoU
from ganlens.metrics.unit_quantile import UnitQuantile

WORKER = Path(__file__).with_name("ddp_worker.py")


def load_worker() -> ModuleType:
    spec = importlib.util.spec_from_file_location("ddp_worker", WORKER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.slow  # two gloo processes (~20 s); the default run has test_cli.py's 2-process run
@pytest.mark.skipif(not torch.distributed.is_available(), reason="torch.distributed unavailable")
def test_two_process_ddp_equals_single_process(tmp_path: Path) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    completed = subprocess.run(
        [sys.executable, str(WORKER), str(tmp_path), str(free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    worker = load_worker()
    expected = worker.run_metrics(torch.arange(worker.NUM_SAMPLES))
    for rank in range(2):
        got = torch.load(tmp_path / f"rank{rank}.pt", weights_only=False)
        assert set(got) == set(expected)
        for key, value in expected.items():
            if isinstance(value, torch.Tensor):
                assert torch.equal(got[key], value), (rank, key)
            else:
                assert got[key] == value, (rank, key)
    # The planted units are found, so the comparison is not between empty results.
    assert expected["search.concept"][:5].tolist() == [
        worker.SCENE_VOCABULARY.index(name) for name in worker.PLANTED
    ]
    assert bool(expected["search.interpretable"][:5].all())
    assert expected["sampled.concept"][:5].tolist() == expected["search.concept"][:5].tolist()


def emulated_gather(metric: Metric, other: Metric) -> Callable[..., list[torch.Tensor]]:
    """A dist_sync_fn returning [this rank's state, the other rank's state] for each state."""
    names = {id(getattr(metric, name)): name for name in metric._defaults}

    def gather(tensor: torch.Tensor, group: object = None) -> list[torch.Tensor]:
        return [tensor, getattr(other, names[id(tensor)])]

    return gather


def test_emulated_two_rank_sync_equals_single_process() -> None:
    worker = load_worker()
    features, labels = worker.dataset()
    thresholds = UnitQuantile(features.shape[1], 0.02, resolution=32)
    thresholds.update(features)
    t = thresholds.compute()

    def build() -> list[Metric]:
        return [
            UnitQuantile(features.shape[1], [0.01, 0.1], resolution=32),
            UnitConceptIoU(worker.SCENE_VOCABULARY, t, iou_mode="category"),
            TopActivations(features.shape[1], k=4),
        ]

    def feed(metrics: list[Metric], index: torch.Tensor) -> None:
        for part in index.split(4):
            metrics[0].update(features[part])
            metrics[1].update(features[part], labels[part])
            metrics[2].update(features[part], part)

    single, rank0, rank1 = build(), build(), build()
    feed(single, torch.arange(len(features)))
    feed(rank0, torch.arange(0, len(features), 2))
    feed(rank1, torch.arange(1, len(features), 2))
    for one, mine, theirs in zip(single, rank0, rank1, strict=True):
        mine.sync(dist_sync_fn=emulated_gather(mine, theirs), distributed_available=lambda: True)
        for name in one._defaults:
            assert torch.equal(getattr(mine, name), getattr(one, name)), name
        mine.unsync()
    # After unsync each rank holds its own half again.
    assert not torch.equal(rank0[0].histogram, single[0].histogram)
