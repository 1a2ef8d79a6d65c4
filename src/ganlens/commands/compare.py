"""``ganlens compare A B``: interpretable units per layer and category of two models or checkpoints.

Each side is a dissection folder / ``dissect.json`` (read) or a generator source (dissected here
with the same latents for both sides; the result is saved as ``a_dissection.json`` /
``b_dissection.json``, ``DissectionResult.to_dict()`` form). Writes into ``out`` (GAN Dissection,
section 4.1, Fig. 6-7):

* ``compare.json`` (``format`` ``"ganlens-compare/1"``): ``settings``; ``a``/``b`` (``source``,
  ``kind`` ``"dissection"`` or ``"generator"``); ``layers``: per layer ``a`` and ``b``
  (``units``, ``interpretable``, ``categories``, ``concepts``), ``concept_changes`` and
  ``lineage`` (see :func:`~ganlens.applications.compare.compare_dissections`); ``only_a``,
  ``only_b``; ``images``; ``seconds``;
* ``compare_units.svg`` (interpretable units per layer and category, A beside B) and
  ``compare_lineage_<layer>.png`` (each unit's concept in A and in B) for layers with a lineage.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from ganlens.options import (
    OutputOptions,
    ProcessOptions,
    SamplingOptions,
    SegmenterOptions,
    TruncationOptions,
    WandbOptions,
    check_at_least,
    check_choice,
)

__all__ = ["CompareSettings", "run_compare"]

_log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class CompareSettings(
    SegmenterOptions, TruncationOptions, ProcessOptions, SamplingOptions, OutputOptions,
    WandbOptions,
):  # fmt: skip
    """Compare two generators or dissections: interpretable units per layer and category.

    GAN Dissection, section 4.1 (Fig. 6-7). Each side is a generator source (dissected here) or a
    dissection folder / dissect.json. For two checkpoints of one training run (same layers and
    unit counts) the unit lineage says which units kept or changed their concept. Writes
    ``compare.json`` and pictures into ``out``.

    Args:
        a: First side: 'scene', a .ckpt, a .pth, a StyleGAN .pkl/.pt, 'package.module:factory',
            or a dissection folder or dissect.json.
        b: Second side, the same kinds.
        layers: Layers to dissect (generator sides) and compare (default: those both sides share).
        segmenter: Segmenter of the dissections run here.
        samples: Probe samples of the dissections run here (in iqr mode as many more, held out,
            choose the thresholds), the same draw as `ganlens units --samples`.
        threshold_mode: Threshold policy of the dissections run here: 'iqr' (the held-out half
            chooses thresholds) or 'quantile' (formerly --threshold).
        seed: Seed of the latents (both sides use the same ones unless seed_b is set).
        seed_b: Seed of B's latents when it differs (e.g. 'scene' against 'scene' on two latent
            sets: how many units change their label by chance, the noise floor of a comparison).
    """

    a: str
    b: str
    layers: list[str] = field(default_factory=lambda: ["layer2", "layer4", "layer6", "layer8"])
    threshold_mode: Literal["iqr", "quantile"] = field(
        default="iqr", metadata={"aliases": ("--threshold",)}
    )
    seed_b: int | None = None
    out: str = "outputs/compare"

    def check(self) -> None:
        """Check the comparison's own values."""
        check_choice("threshold_mode", self.threshold_mode, ("iqr", "quantile"))
        check_at_least(0, seed_b=self.seed_b)
        if not self.layers:
            raise ValueError("--layers must name at least one layer; got []")


def _side(source: str, s: CompareSettings, segmenter: Any, out: Path, name: str, seed: int,
          device: str, writer: bool, distributed: bool) -> Any:  # fmt: skip
    from ganlens.applications.compare import is_dissection
    from ganlens.dissect.quick import quick_dissection
    from ganlens.dissect.record import read_dissection
    from ganlens.io import atomic_write_text
    from ganlens.sources import load_generator

    if is_dissection(source):
        return read_dissection(source)
    generator = load_generator(source, device, s.truncation)
    result = quick_dissection(
        generator, list(s.layers), segmenter, s.samples, seed=seed,
        threshold_mode=s.threshold_mode, batch_size=s.batch_size,
        progress=not s.quiet and writer, distributed=distributed,
    )  # fmt: skip
    if writer:
        atomic_write_text(out / f"{name}_dissection.json", json.dumps(result.to_dict(), indent=1))
    return result


def _check_sides(s: CompareSettings) -> None:
    """Load what a ``--devices N`` run will load, here, so a mistake is one line before it."""
    from ganlens.applications.compare import is_dissection
    from ganlens.dissect.record import read_dissection
    from ganlens.hooks import get_layer
    from ganlens.sources import load_generator, load_segmenter

    load_segmenter(s.segmenter, s.device)
    for source in (s.a, s.b):
        if is_dissection(source):
            read_dissection(source)
        else:
            generator = load_generator(source, s.device, s.truncation)
            for layer in s.layers:
                get_layer(generator, layer)


def run_compare(settings: CompareSettings) -> int:
    """Run the comparison; returns 0 (errors raise ``ValueError``).

    Args:
        settings: The :class:`CompareSettings` (checked when they were built).

    Returns:
        0 on success.

    Raises:
        ValueError: On an unreadable side or no layer both sides have.

    Example:
        >>> run_compare(CompareSettings(a="scene", b="scene", layers=["layer99"]))
        Traceback (most recent call last):
        ...
        ValueError: ... 'layer99' ...
    """
    from functools import partial

    from ganlens.processes import run_on_devices

    started = time.perf_counter()
    if settings.devices * settings.num_nodes > 1:
        _check_sides(settings)
    work = partial(_compare, settings, started)
    return run_on_devices(work, settings.devices, settings.device, settings.quiet,
                          settings.num_nodes, settings.timeout)  # fmt: skip


def _compare(s: CompareSettings, started: float, *, device: str, writer: bool,
             distributed: bool) -> int:  # fmt: skip
    """The comparison in one process (rank 0 of several writes)."""
    from ganlens.applications.compare import compare_dissections, is_dissection, layer_units
    from ganlens.applications.pictures import compare_chart, lineage_picture, save_png
    from ganlens.io import atomic_write_text
    from ganlens.sources import load_segmenter

    out = Path(s.out)
    out.mkdir(parents=True, exist_ok=True)
    needs_segmenter = not (is_dissection(s.a) and is_dissection(s.b))
    segmenter = load_segmenter(s.segmenter, device) if needs_segmenter else None
    seed_b = s.seed if s.seed_b is None else s.seed_b
    a = _side(s.a, s, segmenter, out, "a", s.seed, device, writer, distributed)
    b = _side(s.b, s, segmenter, out, "b", seed_b, device, writer, distributed)
    if not writer:
        return 0
    units_a, units_b = layer_units(a), layer_units(b)
    layers = [n for n in s.layers if n in units_a and n in units_b]
    if not layers:
        raise ValueError(
            f"--layers must name layers both sides have; got {s.layers}, A has {list(units_a)}, "
            f"B has {list(units_b)}"
        )
    report = compare_dissections(a, b, layers)
    images: dict[str, Any] = {"units": "compare_units.svg", "lineage": {}}
    atomic_write_text(out / "compare_units.svg", compare_chart(report))
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
        _log.info("%s: interpretable %d -> %d%s; concept counts: %s", entry["layer"],
                  entry["a"]["interpretable"], entry["b"]["interpretable"], kept,
                  changes or "unchanged")  # fmt: skip
    if s.wandb:
        from ganlens.report.wandb_run import log_results

        rows = [
            [
                e["layer"],
                e["a"]["interpretable"],
                e["b"]["interpretable"],
                None if e["lineage"] is None else e["lineage"]["stability"],
            ]
            for e in report["layers"]
        ]
        log_results(
            s.wandb_project,
            s.wandb_name or "compare",
            out,
            scalars={f"compare/{r[0]}/interpretable_b_minus_a": r[2] - r[1] for r in rows},
            tables={
                "compare/layers": (
                    ["layer", "interpretable_a", "interpretable_b", "stability"],
                    rows,
                )
            },
            images={"compare/units": out / "compare_units.svg"},
            config=asdict(s),
        )
    return 0
