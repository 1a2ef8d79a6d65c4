"""Wall-time cost of the training-time monitors: the demo run with and without them.

Runs ``configs/demo_cpu.yaml`` through ``train.py`` (W&B offline) once without the monitor
presets and once with ``callbacks/interpretability.yaml`` and ``callbacks/quality.yaml`` at their
defaults, alternating the order over ``--repeats`` pairs, and prints each run's wall time and the
ratio with / without. Both runs share the same seed, data, schedule and logger.

    OMP_NUM_THREADS=2 python benchmarks/monitor_overhead.py --repeats 1
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PRESETS = ["--config", "callbacks/interpretability.yaml", "--config", "callbacks/quality.yaml"]


def train(with_monitors: bool, extra: list[str]) -> float:
    """Seconds one training run takes, process start to exit."""
    with tempfile.TemporaryDirectory() as folder:
        command = [sys.executable, "train.py", "fit", "--config", "configs/demo_cpu.yaml"]
        command += (PRESETS if with_monitors else []) + extra
        command += ["--trainer.default_root_dir", folder, "--trainer.enable_progress_bar", "false"]
        env = {**os.environ, "WANDB_MODE": "offline", "WANDB_SILENT": "true"}
        start = time.perf_counter()
        subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True)
        return time.perf_counter() - start


def main() -> None:
    """Run the pairs and print the times and the ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=1, help="pairs of runs (order alternates)")
    parser.add_argument("extra", nargs="*", help="extra train.py arguments for both runs")
    args = parser.parse_args()
    times: dict[bool, list[float]] = {False: [], True: []}
    for repeat in range(args.repeats):
        for with_monitors in (False, True) if repeat % 2 == 0 else (True, False):
            seconds = train(with_monitors, args.extra)
            times[with_monitors].append(seconds)
            label = "with monitors   " if with_monitors else "without monitors"
            print(f"run {repeat}: {label} {seconds:7.1f} s", flush=True)
    without, with_ = statistics.median(times[False]), statistics.median(times[True])
    print(f"median without {without:.1f} s, with {with_:.1f} s, ratio {with_ / without:.3f}")


if __name__ == "__main__":
    main()
