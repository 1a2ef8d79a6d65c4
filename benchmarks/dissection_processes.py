"""`ganlens units` and `ganlens ace` on one process against several; the bytes a metric sync moves.

Run: ``.venv/bin/python benchmarks/dissection_processes.py [--samples 512] [--devices 1 2]
[--layers layer2 layer4 layer6] [--ace-samples 192]``. Each run dissects the shipped scene GAN
from scratch (no cache) into its own folder with ``--devices N`` (CPU processes, one torch thread
each), prints its wall time and samples per second, and checks that every run's
``dissect.json`` equals the first one's; then the same for an ACE fit of tree at layer4 (the
record without its fit seconds). Then it prints the state each process all-reduces per sync for
the metrics of a dissection at the LSUN-256 ProgGAN layout (512 units, 150 classes as ADE20K has,
in two categories; nothing is run for that part).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import torch

from ganlens.commands.ace import AceSettings, run_ace_command
from ganlens.commands.units import UnitsSettings, run_units_command
from ganlens.data.vocabulary import Vocabulary
from ganlens.metrics import TopActivations, UnitConceptIoU, UnitQuantile


def sync_bytes(units: int = 512, concepts: int = 150, levels: int = 100) -> dict[str, int]:
    """Bytes of each metric's state, what one all-reduce of it moves per process."""
    vocabulary = Vocabulary(
        [(f"class {i}", "object" if i % 3 else "material") for i in range(concepts)]
    )
    return {
        "UnitQuantile (B = 100 fractions)": UnitQuantile(units, [0.5] * levels).state_size_bytes(),
        "UnitConceptIoU, B = 100 levels (IQR search)": UnitConceptIoU(
            vocabulary, torch.zeros(units, levels)
        ).state_size_bytes(),
        "UnitConceptIoU, one threshold (probe)": UnitConceptIoU(
            vocabulary, torch.zeros(units)
        ).state_size_bytes(),
        "TopActivations (k = 10)": TopActivations(units, 10).state_size_bytes(),
    }


def time_ace(devices: list[int], samples: int) -> None:
    """Time ``ganlens ace`` (tree at layer4) on each process count; print the table."""
    first = None
    print("| processes (ACE, tree at layer4) | wall s | fit s | same record |")
    print("|---:|---:|---:|---|")
    for count in devices:
        out = Path(tempfile.mkdtemp())
        settings = AceSettings(
            concept=["tree"], layer="layer4", samples=samples, eval_samples=samples // 2,
            steps=100, top_n=10, dissect_samples=128, devices=count, out=str(out), quiet=True,
        )  # fmt: skip
        started = time.perf_counter()
        run_ace_command(settings)
        seconds = time.perf_counter() - started
        record = json.loads((out / "ace" / "layer4" / "tree.json").read_text())
        fit = record["fit"].pop("seconds")
        first = first or record
        print(f"| {count} | {seconds:.1f} | {fit:.1f} | {record == first} |")


def main() -> None:
    """Time the runs and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=512, help="probe samples (as many held out)")
    parser.add_argument("--devices", type=int, nargs="+", default=[1, 2], help="process counts")
    parser.add_argument("--layers", nargs="+", default=["layer2", "layer4", "layer6"])
    parser.add_argument(
        "--ace-samples",
        type=int,
        default=192,
        help="search samples of the ACE runs (half as many held out; 0: none)",
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    first = None
    print("| processes | wall s | samples/s (probe + held-out) | same dissect.json |")
    print("|---:|---:|---:|---|")
    for devices in args.devices:
        out = Path(tempfile.mkdtemp()) / "out"
        settings = UnitsSettings(layers=args.layers, samples=args.samples, devices=devices,
                                 images_per_unit=0, out=str(out), quiet=True)  # fmt: skip
        started = time.perf_counter()
        run_units_command(settings)
        seconds = time.perf_counter() - started
        document = json.loads((out / "dissect.json").read_text())
        first = first or document
        rate = 2 * args.samples / seconds
        print(f"| {devices} | {seconds:.1f} | {rate:.1f} | {document == first} |")
    if args.ace_samples:
        print()
        time_ace(args.devices, args.ace_samples)
    print()
    print("| metric state (512 units, 150 classes) | bytes per process per sync |")  # all-reduce
    print("|---|---:|")
    for name, size in sync_bytes().items():
        print(f"| {name} | {size:,} |")


if __name__ == "__main__":
    main()
