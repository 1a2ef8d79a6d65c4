"""The paper's "units emerging during training" figure, drawn from a run's ``history.jsonl``.

Run: ``.venv/bin/python benchmarks/training_history.py RUN_FOLDER [--out FIGURE.svg]``. For each
dissected layer: interpretable units in all and per category (object / part / material) against
the real images shown, beside SWD x1e3 with its real-vs-real floor at the same N. Prints the
numbers as a markdown table (for BENCHMARKS.md) and writes one SVG document (charts of
:mod:`ganlens.charts`). Reads only the history file, so it also works on a run in progress.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from ganlens.charts import CATEGORY_COLORS, line_chart, standalone
from ganlens.report.run_summary import read_history_file

CATEGORIES = ("object", "part", "material")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("run", type=Path, help="run folder holding history.jsonl")
    parser.add_argument("--out", type=Path, default=None, help="SVG to write (default: beside)")
    args = parser.parse_args()
    rows = [r for r in read_history_file(args.run / "history.jsonl") if "event" not in r]
    dissections = [r for r in rows if "dissect/images_shown" in r]
    quality = [r for r in rows if "quality/images_shown" in r]
    layers = sorted(
        {m.group(1) for r in dissections for k in r if (m := re.match(r"dissect/(.+)/units_", k))}
    )
    print("| images shown (k) | " + " | ".join(
        f"{layer} {c}" for layer in layers for c in ("all", *CATEGORIES)
    ) + " | SWD | SWD floor |")  # fmt: skip
    print("|---:|" + "---:|" * (4 * len(layers) + 2))
    swd = {int(r["quality/images_shown"]): r for r in quality}
    for row in dissections:
        shown = int(row["dissect/images_shown"])
        cells = []
        for layer in layers:
            cells.append(str(row.get(f"dissect/{layer}/interpretable_units", "")))
            cells += [str(row.get(f"dissect/{layer}/units_{c}", "")) for c in CATEGORIES]
        q = swd.get(shown)
        cells += [f"{q[k]:.1f}" if q else "" for k in ("quality/swd", "quality/swd_floor")]
        print(f"| {shown / 1e3:.0f} | " + " | ".join(cells) + " |")
    charts = []
    x = [int(r["dissect/images_shown"]) / 1e3 for r in dissections]
    for layer in layers:
        series = [("all", [float(r[f"dissect/{layer}/interpretable_units"]) for r in dissections],
                   "#222222", False)]  # fmt: skip
        for category in CATEGORIES:
            values = [float(r.get(f"dissect/{layer}/units_{category}", 0)) for r in dissections]
            series.append((category, values, CATEGORY_COLORS[category], True))
        charts.append(line_chart(x, series, title=f"{layer}: interpretable units",
                                 x_label="real images shown (k)", width=360))  # fmt: skip
    if quality:
        xq = [int(r["quality/images_shown"]) / 1e3 for r in quality]
        series = [("SWD", [float(r["quality/swd"]) for r in quality], "#c0392b", False),
                  ("real-vs-real floor", [float(r["quality/swd_floor"]) for r in quality],
                   "#7f8c8d", True)]  # fmt: skip
        charts.append(line_chart(xq, series, title="SWD x1e3", x_label="real images shown (k)",
                                 width=360, y_include=(0,)))  # fmt: skip
    out = args.out or args.run / "training_history.svg"
    out.write_text(standalone(charts, title=f"Training history of {args.run.name}"))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
