"""Interpretable units per layer and category: the shape of GAN Dissection's Fig. 6 on one model.

Run: ``.venv/bin/python benchmarks/units_per_layer.py [--generator SOURCE] [--samples 256]
[--layers layer2 ... layer10] [--out FIGURE.svg]``. Dissects every layer with ``ganlens units``
(IQR thresholds, the shipped scene segmenter, no unit images), prints a markdown table of the
interpretable units per category and the part concepts each layer's units cover, and writes the
grouped bar chart (:mod:`ganlens.charts`). The paper (Bau et al., ICLR 2019, section 4.1, Fig. 6)
finds object units throughout and part units peaking in the middle layers.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections import Counter
from pathlib import Path

from ganlens.charts import CATEGORY_COLORS, grouped_bar_chart, standalone
from ganlens.commands.units import UnitsSettings, run_units_command
from ganlens.dissect.record import read_dissection

CATEGORIES = ("object", "part", "material")


def main() -> None:
    """Dissect, print the table, write the chart."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--generator", default="scene", help="generator source (ganlens units)")
    parser.add_argument("--samples", type=int, default=256, help="probe samples (as many held out)")
    parser.add_argument("--layers", nargs="+", default=[f"layer{i}" for i in range(2, 11)])
    parser.add_argument("--out", type=Path, default=None, help="SVG to write (default: none)")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp()) / "units"
    started = time.perf_counter()
    run_units_command(UnitsSettings(generator=args.generator, layers=args.layers,
                                    samples=args.samples, images_per_unit=0, out=str(folder),
                                    quiet=True))  # fmt: skip
    seconds = time.perf_counter() - started
    result = read_dissection(folder)
    print(f"`{args.generator}`, {args.samples} probe + {args.samples} held-out samples, IQR, "
          f"{seconds:.0f} s")  # fmt: skip
    print()
    print("| layer | units | interpretable | object | part | material | part concepts (units) |")
    print("|---|---:|---:|---:|---:|---:|---|")
    counts: dict[str, list[float]] = {category: [] for category in CATEGORIES}
    for name, layer in result.layers.items():
        found = [u for u in layer.units if u.interpretable]
        per = Counter(u.category for u in found)
        parts = Counter(u.concept for u in found if u.category == "part")
        for category in CATEGORIES:
            counts[category].append(float(per.get(category, 0)))
        listed = ", ".join(f"{c} {n}" for c, n in parts.most_common()) or "-"
        print(f"| {name} | {len(layer.units)} | {len(found)} | {per.get('object', 0)} | "
              f"{per.get('part', 0)} | {per.get('material', 0)} | {listed} |")  # fmt: skip
    if args.out is not None:
        series = [(c, counts[c], CATEGORY_COLORS[c]) for c in CATEGORIES]
        chart = grouped_bar_chart(list(result.layers), series, title="interpretable units")
        args.out.write_text(standalone([chart], title=f"{args.generator}: interpretable units "
                                                     "per layer and category"))  # fmt: skip
        print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
