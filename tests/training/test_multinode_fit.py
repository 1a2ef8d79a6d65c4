"""`ganlens fit` on two simulated nodes (two torchrun launches of one process each, gloo on CPU).

The README's multi-node recipe, run as written but on one machine: both "nodes" share the run
folder, as nodes on a cluster share a file system. The monitors evaluate on both ranks and rank
zero writes one record per evaluation; the growth schedule counts the images of both processes;
a resume with ``--ckpt_path last`` in the same layout continues the history; and the numbers the
monitor logged equal a one-process dissection of the checkpointed generator.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from ganlens.callbacks import DissectionMonitor
from ganlens.callbacks.dissection import layer_scalars
from ganlens.dissect import dissect
from ganlens.sources import load_segmenter
from ganlens.training import ProgressiveGAN

ROOT = Path(__file__).parents[2]
IMAGES_PER_EPOCH = 512  # configs/tiny_cpu.yaml: train_size 512, shared by the two processes


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def fit_on_two_nodes(run_dir: Path, epochs: int, *extra: str) -> None:
    """Start both nodes of ``train.py fit`` under torchrun and wait for them."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_")}
    env.update(OMP_NUM_THREADS="1", WANDB_MODE="offline", PYTHONPATH=str(ROOT / "src"))

    def node(rank: int) -> subprocess.Popen[str]:
        torchrun = [sys.executable, "-m", "torch.distributed.run", "--nnodes", "2", "--node_rank",
                    str(rank), "--nproc-per-node", "1", "--master_addr", "127.0.0.1",
                    "--master_port", str(port)]  # fmt: skip
        fit = ["train.py", "fit", "--config", "configs/tiny_cpu.yaml",
               "--config", "callbacks/interpretability.yaml",
               "--trainer.num_nodes", "2", "--trainer.devices", "1",
               "--trainer.strategy", "ddp_find_unused_parameters_true",
               "--trainer.max_epochs", str(epochs), "--trainer.default_root_dir", str(run_dir),
               *extra]  # fmt: skip
        return subprocess.Popen([*torchrun, *fit], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)  # fmt: skip

    nodes = [node(0), node(1)]
    errors = [process.communicate(timeout=900)[1] for process in nodes]
    assert [process.returncode for process in nodes] == [0, 0], [e[-3000:] for e in errors]


def records(run_dir: Path, monitor: str) -> list[dict[str, object]]:
    lines = (run_dir / "history.jsonl").read_text().splitlines()
    return [r for r in map(json.loads, lines) if r.get("monitor") == monitor]


@pytest.mark.slow  # four torchrun launches of a tiny fit (about 2 minutes on 2 cores)
@pytest.mark.skipif(not torch.distributed.is_available(), reason="torch.distributed unavailable")
def test_two_nodes_fit_log_once_count_every_image_and_resume(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    fit_on_two_nodes(run_dir, 2)
    fit_on_two_nodes(run_dir, 3, "--ckpt_path", "last")

    grids = records(run_dir, "SampleGridMonitor")
    assert [r["epoch"] for r in grids] == [0, 1, 2]  # each epoch once, across the resume
    module = ProgressiveGAN.load_from_checkpoint(run_dir / "checkpoints" / "last.ckpt")
    # the schedule is in images of both processes: 3 epochs of 512 (before: 256 per epoch)
    assert module.images_shown_count == 3 * IMAGES_PER_EPOCH
    dissections = records(run_dir, "DissectionMonitor")
    assert dissections, "the monitor never reached 16 px"
    epochs = [r["epoch"] for r in dissections]
    assert epochs == sorted(set(epochs))
    assert dissections[-1]["dissect/images_shown"] == 3 * IMAGES_PER_EPOCH

    # The last record equals a one-process dissection of the checkpointed EMA generator.
    monitor = DissectionMonitor(["layer4", "layer6"], num_samples=128, min_resolution=16)
    probe, held_out = monitor._bank(module.hparams["latent_size"])
    generator = module.generator_ema.eval()
    result = dissect(generator, ["layer4", "layer6"], load_segmenter("scene"), probe, held_out,
                     batch_size=monitor.batch_size, threshold_mode="iqr")  # fmt: skip
    expected: dict[str, float] = {}
    for layer in ("layer4", "layer6"):
        expected.update(layer_scalars(result[layer], result.concept_names))
    logged = dissections[-1]
    for key, value in expected.items():
        assert logged[key] == pytest.approx(value, rel=1e-4, abs=1e-6), key


def test_the_readme_recipe_uses_the_tested_strategy_and_flags() -> None:
    readme = (ROOT / "README.md").read_text()
    recipe = readme[readme.index("**On several GPUs or nodes.**") :]
    recipe = recipe[: recipe.index("Generator blocks are named")]
    flags = (
        "torchrun --nnodes 2 --node_rank",
        "train.py fit",
        "--trainer.num_nodes 2",
        "--trainer.strategy ddp_find_unused_parameters_true",
        "srun python train.py fit",
    )
    for flag in flags:  # what the two-node test above runs
        assert flag in recipe, flag
