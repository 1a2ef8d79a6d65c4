"""Run the three applications of GAN Dissection (section 4) on the shipped scene model (64 px).

``python benchmarks/applications.py [--which artifacts context compare] [--out DIR] [--docs]``
runs each command with the settings recorded in ``benchmarks/BENCHMARKS.md`` ("Applications"),
prints the measured curve and tables and the wall time of each, and with ``--docs`` copies the
pictures to ``docs/app_*`` (PNG samples, SVG charts). CPU only; sample counts are sized for a
shared 2-core machine.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from dataclasses import asdict
from pathlib import Path

from jsonargparse import ArgumentParser

from ganlens.commands.artifacts import ArtifactsSettings, run_artifacts
from ganlens.commands.compare import CompareSettings, run_compare
from ganlens.commands.context import ContextSettings, run_context

DOCS = Path(__file__).resolve().parent.parent / "docs"


def artifacts(out: Path) -> dict[str, object]:
    """Artifact scores at layer4 (1,024 samples, top 64 each), repair curve with N = 512."""
    settings = ArtifactsSettings(layer="layer4", out=str(out / "artifacts"), quiet=True)
    run_artifacts(settings)
    document = json.loads((out / "artifacts" / "artifacts.json").read_text())
    repair = document["repair"]
    scores = document["scores"]
    print("settings:", json.dumps(asdict(settings)))
    print(f"random-subset score {scores['random_score']:.4f}, floor {scores['floor']:.4f}")
    print("worst 10:", [(u["unit"], round(u["score"], 4)) for u in scores["units"][:10]])
    print("best 5:", [(u["unit"], round(u["score"], 4)) for u in scores["units"][-5:]])
    for name, values in repair["values"].items():
        print(f"{name} floor {repair['floor'][name]:.4f}")
        print(f"{name} top-n:  ", " ".join(f"{v:.4f}" for v in values))
        if name in repair["control"]:
            print(f"{name} random: ", " ".join(f"{v:.4f}" for v in repair["control"][name]))
    return document


def context_folder(out: Path, concept: str, radius: int) -> Path:
    """Where :func:`context` writes: ``context_CONCEPT`` (radius 1, the default) or ``..._rR``."""
    return out / (f"context_{concept}" if radius == 1 else f"context_{concept}_r{radius}")


def context(out: Path, concept: str, radius: int = 1) -> dict[str, object]:
    """Insert the top 20 (quick IoU) units of ``concept`` at every layer4 cell of 48 images."""
    folder = context_folder(out, concept, radius)
    settings = ContextSettings(concept=concept, radius=radius, out=str(folder), quiet=True)
    run_context(settings)
    document = json.loads((folder / "context.json").read_text())
    print("settings:", json.dumps(asdict(settings)))
    print("units", document["ranking"])
    for row in document["table"]:
        print(
            f"{row['context']:>9} cells {row['cells']:5d} success {row['success_rate']:.3f} "
            f"mean added {row['mean_added']:+.4f}"
        )
    return document


def compare(out: Path) -> dict[str, object]:
    """The shipped model against itself on two latent sets: the noise floor of a comparison."""
    settings = CompareSettings(a="scene", b="scene", seed_b=1, out=str(out / "compare"), quiet=True)
    run_compare(settings)
    document = json.loads((out / "compare" / "compare.json").read_text())
    print("settings:", json.dumps(asdict(settings)))
    for entry in document["layers"]:
        lineage = entry["lineage"]
        print(
            entry["layer"],
            entry["a"]["interpretable"],
            entry["b"]["interpretable"],
            lineage["kept"],
            len(lineage["changed"]),
            len(lineage["gained"]),
            len(lineage["lost"]),
            lineage["stability"],
            entry["concept_changes"],
        )
    return document


def main(argv: list[str] | None = None) -> int:
    """Run the chosen applications and print their results and wall times."""
    parser = ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--which", type=list[str], default=["artifacts", "context", "compare"])
    parser.add_argument("--concepts", type=list[str], default=["door", "tree"])
    parser.add_argument("--radii", type=list[int], default=[1], help="context windows' radii")
    parser.add_argument("--out", type=str, default="outputs/bench_applications")
    parser.add_argument("--docs", type=bool, default=False, help="copy pictures to docs/app_*")
    args = parser.parse_args(argv if argv is not None else sys.argv[1:])
    out = Path(args.out)
    pictures: dict[str, Path] = {}
    for which in args.which:
        started = time.perf_counter()
        if which == "artifacts":
            artifacts(out)
            for name in ("units", "repair", "samples"):
                suffix = "svg" if name == "repair" else "png"
                pictures[f"app_artifacts_{name}.{suffix}"] = (
                    out / "artifacts" / f"artifacts_{name}.{suffix}"
                )
        elif which == "context":
            for concept in args.concepts:
                for radius in args.radii:
                    context(out, concept, radius)
                folder = context_folder(out, concept, args.radii[-1])
                pictures[f"app_context_{concept}_grid.png"] = folder / "context_grid.png"
                pictures[f"app_context_{concept}_rates.svg"] = folder / "context_rates.svg"
        elif which == "compare":
            compare(out)
            pictures["app_compare_units.svg"] = out / "compare" / "compare_units.svg"
            pictures["app_compare_lineage_layer4.png"] = (
                out / "compare" / "compare_lineage_layer4.png"
            )
        else:
            raise ValueError(
                f"--which entries must be artifacts, context or compare; got {which!r}"
            )
        print(f"== {which}: {time.perf_counter() - started:.0f} s wall")
    if args.docs:
        for name, source in pictures.items():
            if source.is_file():
                shutil.copyfile(source, DOCS / name)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
