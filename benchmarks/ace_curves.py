"""ACE on the shipped scene ProgGAN (64 px): ablation / insertion curves and fitting wall time.

Runs ``ganlens ace`` (``ganlens.cli.main``) for several concepts at one layer on CPU and prints a
markdown table of the top-n curves of the ACE ranking and the IoU ranking, and of the fitting time
per concept (one thread; the machine may be shared). Example::

    OMP_NUM_THREADS=1 python benchmarks/ace_curves.py --concepts tree door dome --steps 150
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from ganlens.cli import main as ganlens_main


def table(records: list[dict], points: list[int]) -> str:
    lines = ["| concept | ranking | " + " | ".join(f"ablate top {n}" for n in points)
             + " | " + " | ".join(f"insert top {n}" for n in points) + " | fit s |",
             "|---|---|" + "---:|" * (2 * len(points) + 1)]  # fmt: skip
    for record in records:
        curves = record["curves"]
        for name in ("ace", "iou"):
            ablation = [f"{curves['ablation'][name][n - 1]:.3f}" for n in points]
            insertion = [f"{curves['insertion'][name][n - 1]:.3f}" for n in points]
            seconds = f"{record['fit']['seconds']:.0f}" if name == "ace" else ""
            lines.append(f"| {record['concept']} | {name} | " + " | ".join(ablation + insertion)
                         + f" | {seconds} |")  # fmt: skip
    return "\n".join(lines)


def run() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--concepts", nargs="+", default=["tree", "door", "dome"])
    parser.add_argument("--layer", default="layer4")
    parser.add_argument("--samples", type=int, default=192)
    parser.add_argument("--eval-samples", type=int, default=96)
    parser.add_argument("--steps", type=int, default=150)
    parser.add_argument("--radius", type=int, default=0)
    parser.add_argument("--out", default="outputs/benchmarks/ace")
    args, extra = parser.parse_known_args()
    torch.set_num_threads(1)
    ganlens_main(["ace", "--layer", args.layer, "--concept", *args.concepts,
                  "--samples", str(args.samples), "--eval-samples", str(args.eval_samples),
                  "--steps", str(args.steps), "--radius", str(args.radius), "--out", args.out,
                  "--quiet", *extra])  # fmt: skip
    records = [json.loads((Path(args.out) / "ace" / args.layer / f"{c}.json").read_text())
               for c in args.concepts]  # fmt: skip
    top = records[0]["curves"]["n"][-1]
    print(table(records, sorted({1, 3, 5, 10, top} & set(range(1, top + 1)))))
    for record in records:
        curves = record["curves"]
        for kind in ("ablation", "insertion"):
            for name in ("ace", "iou"):
                values = " ".join(f"{v:.3f}" for v in curves[kind][name])
                print(f"{record['concept']} {kind} {name}: {values}")
        ranking = record["ranking"]
        print(f"{record['concept']} ace top units: {ranking['ace'][:10]}; "
              f"iou top units: {ranking['iou'][:10]}; settings {record['settings']}")  # fmt: skip


if __name__ == "__main__":
    run()
