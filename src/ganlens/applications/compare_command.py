"""``compare A B``: interpretable units per layer and category of two models or checkpoints.

Each side is a dissection folder / ``dissect.json`` (read) or a generator source (dissected here
with the same latents for both sides; the result is saved as ``a_dissection.json`` /
``b_dissection.json``, ``DissectionResult.to_dict()`` form). Writes into ``out`` (GAN Dissection,
section 4.1, Fig. 6-7):

* ``compare.json`` (``format`` ``"ganlens-compare/1"``): ``settings``; ``a``/``b`` (``source``,
  ``kind`` ``"dissection"`` or ``"generator"``); ``layers``: per layer ``a`` and ``b``
  (``units``, ``interpretable``, ``categories``, ``concepts``), ``concept_changes`` and
  ``lineage`` (see :func:`~ganlens.applications.compare.compare_dissections`); ``only_a``,
  ``only_b``; ``images``; ``seconds``;
* ``compare_units.png`` (interpretable units per layer and category, A beside B) and
  ``compare_lineage_<layer>.png`` (each unit's concept in A and in B) for layers with a lineage.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch

from ganlens.applications.compare import compare_dissections, layer_units
from ganlens.applications.loading import (
    dissect_generator,
    generator_latent_size,
    load_generator,
    load_segmenter,
    read_dissection,
)
from ganlens.applications.pictures import compare_chart, lineage_picture
from ganlens.applications.plot import save_png
from ganlens.applications.settings import CompareSettings
from ganlens.applications.validation import validate
from ganlens.io import atomic_write_text

__all__ = ["is_dissection", "run_compare"]


def is_dissection(source: str) -> bool:
    """Whether ``source`` names a dissection (a folder with ``dissect.json`` or a ``.json``).

    Args:
        source: A generator source or a dissection path.

    Returns:
        True for a dissection.

    Example:
        >>> is_dissection("scene"), is_dissection("outputs/run/dissect.json")
        (False, True)
    """
    path = Path(source)
    return path.suffix == ".json" or (path.is_dir() and (path / "dissect.json").is_file())


def _side(source: str, s: CompareSettings, segmenter: Any, out: Path, name: str, seed: int) -> Any:
    if is_dissection(source):
        return read_dissection(source)
    generator = load_generator(source, s.device)
    seeded = torch.Generator().manual_seed(seed)
    latents = torch.randn(s.samples, generator_latent_size(generator), generator=seeded)
    result = dissect_generator(
        generator,
        list(s.layers),
        segmenter,
        latents,
        threshold=s.threshold,
        batch_size=s.batch_size,
        progress=not s.quiet,
    )
    atomic_write_text(out / f"{name}_dissection.json", json.dumps(result.to_dict(), indent=1))
    return result


def run_compare(settings: CompareSettings) -> int:
    """Run the comparison; returns 0 (errors raise ``ValueError``).

    Args:
        settings: The :class:`CompareSettings`.

    Returns:
        0 on success.

    Raises:
        ValueError: On a bad setting, an unreadable side or no layer both sides have.

    Example:
        >>> run_compare(CompareSettings("scene", "scene", threshold="mean"))
        Traceback (most recent call last):
        ...
        ValueError: threshold must be one of ('iqr', 'quantile'); got 'mean'
    """
    validate(settings)
    s, started = settings, time.perf_counter()
    out = Path(s.out)
    out.mkdir(parents=True, exist_ok=True)
    needs_segmenter = not (is_dissection(s.a) and is_dissection(s.b))
    segmenter = load_segmenter(s.segmenter, s.device) if needs_segmenter else None
    seed_b = s.seed if s.seed_b is None else s.seed_b
    a, b = _side(s.a, s, segmenter, out, "a", s.seed), _side(s.b, s, segmenter, out, "b", seed_b)
    units_a, units_b = layer_units(a), layer_units(b)
    layers = [n for n in s.layers if n in units_a and n in units_b]
    if not layers:
        raise ValueError(
            f"layers must name layers both sides have; got {s.layers}, A has {list(units_a)}, "
            f"B has {list(units_b)}"
        )
    report = compare_dissections(a, b, layers)
    images: dict[str, Any] = {"units": "compare_units.png", "lineage": {}}
    save_png(compare_chart(report), out / "compare_units.png")
    for entry in report["layers"]:
        if entry["lineage"] is not None:
            name = f"compare_lineage_{entry['layer']}.png"
            picture = lineage_picture(
                entry["layer"], units_a[entry["layer"]], units_b[entry["layer"]]
            )
            save_png(picture, out / name)
            images["lineage"][entry["layer"]] = name
    kinds = {side: "dissection" if is_dissection(side) else "generator" for side in (s.a, s.b)}
    document: dict[str, Any] = {
        "format": "ganlens-compare/1",
        "settings": asdict(s),
        "a": {"source": s.a, "kind": kinds[s.a]},
        "b": {"source": s.b, "kind": kinds[s.b]},
        **report,
        "images": images,
        "seconds": time.perf_counter() - started,
    }
    atomic_write_text(out / "compare.json", json.dumps(document, indent=1) + "\n")
    for entry in report["layers"]:
        lineage = entry["lineage"]
        kept = (
            ""
            if lineage is None
            else f", {lineage['kept']} units kept their concept, {len(lineage['changed'])} changed"
        )
        changes = ", ".join(f"{c['concept']} {c['delta']:+d}" for c in entry["concept_changes"])
        print(
            f"{entry['layer']}: interpretable {entry['a']['interpretable']} -> "
            f"{entry['b']['interpretable']}{kept}; concept counts: {changes or 'unchanged'}"
        )
    if s.wandb:
        from ganlens.applications.wandb_log import log_to_wandb

        rows = [
            [
                e["layer"],
                e["a"]["interpretable"],
                e["b"]["interpretable"],
                None if e["lineage"] is None else e["lineage"]["stability"],
            ]
            for e in report["layers"]
        ]
        log_to_wandb(
            s.wandb_project,
            "compare",
            out,
            {f"compare/{r[0]}/interpretable_b_minus_a": r[2] - r[1] for r in rows},
            {
                "compare/layers": (
                    ["layer", "interpretable_a", "interpretable_b", "stability"],
                    rows,
                )
            },
            {"compare/units": out / "compare_units.png"},
            asdict(s),
        )
    return 0
