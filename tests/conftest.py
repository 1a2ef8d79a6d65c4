"""Shared pytest configuration: W&B offline; the ``gpu`` marker skips where CUDA is absent."""

import os
import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent))  # test helpers: wandb_log_reader

os.environ["WANDB_MODE"] = "offline"  # tests never reach the network
os.environ.setdefault("WANDB_SILENT", "true")


@pytest.fixture(autouse=True)
def no_wandb_run_outlives_its_test():
    """Finish a W&B run a test left open (``WandbLogger`` never finishes its run).

    An open run is process-global: the next ``wandb.init`` in the same worker returns it instead
    of starting a run in its own folder, so tests would depend on the order xdist gives them.
    """
    yield
    wandb = sys.modules.get("wandb")
    if wandb is not None and getattr(wandb, "run", None) is not None:
        wandb.finish()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if torch.cuda.is_available():
        return
    skip_gpu = pytest.mark.skip(reason="GPU-only: torch.cuda.is_available() is False")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip_gpu)


@pytest.fixture
def tiny_fit(tmp_path: Path):
    """Run ``train.py fit`` on the tiny config for a few batches in a fresh process.

    Called with the environment to add (every ``WANDB_*`` variable of the test's own process is
    dropped first) and the number of batches; returns the finished ``CompletedProcess``.
    """
    import subprocess

    def run(batches: int = 2, **env: str) -> subprocess.CompletedProcess[str]:
        environment = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_")}
        environment.update(OMP_NUM_THREADS="1", **env)
        return subprocess.run(
            [sys.executable, "train.py", "fit", "--config", "configs/tiny_cpu.yaml",
             "--trainer.max_epochs", "1", "--trainer.limit_train_batches", str(batches),
             "--trainer.default_root_dir", str(tmp_path)],
            cwd=Path(__file__).parents[1], capture_output=True, text=True, timeout=600,
            env=environment,
        )  # fmt: skip

    return run
