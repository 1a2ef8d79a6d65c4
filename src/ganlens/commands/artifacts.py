"""``ganlens artifacts``: score units by their top samples' quality, ablate the worst, re-measure.

Writes into ``out`` (GAN Dissection, section 4.3):

* ``artifacts.json`` (``format`` ``"ganlens-artifacts/1"``): ``settings``; ``real`` (world seed,
  counts, framing); ``scores`` (:meth:`ArtifactScores.to_dict`: ``metric``, ``top_k``,
  ``num_samples``, ``random_score``, ``floor`` and ``units`` worst first, each ``unit``,
  ``rank``, ``score``, ``top_samples`` and ``concept`` from ``dissection`` or None); ``repair``
  (:meth:`RepairCurve.to_dict`: ``n``, ``units``, ``values``/``control`` {measure: [value per
  n]}, ``floor`` {measure: value}); ``summary`` (``worst_units``, ``change`` and
  ``control_change`` {measure: value at n_max minus value at 0}); ``images``; ``seconds``;
* ``artifacts_units.png`` (worst units' top samples, and random samples), ``artifacts_repair.svg``
  (the curves) and ``artifacts_samples.png`` (the same latents before and after the repair).
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from ganlens.options import (
    ComputeOptions,
    ProcessOptions,
    check_at_least,
    check_choice,
    check_dissection,
    check_input,
)

if TYPE_CHECKING:
    from torch import Tensor, nn

__all__ = ["QUALITY_METRICS", "REAL_WORLD_SEED", "ArtifactsSettings", "run_artifacts"]

_log = logging.getLogger(__name__)

QUALITY_METRICS = ("fsd", "swd", "fid")
"""Image-quality measures of the artifact score: Fréchet segmenter distance, SWD, FID."""

REAL_WORLD_SEED = 12345
"""Scene-world seed of the real images (a world the shipped model never saw)."""


@dataclass(frozen=True, kw_only=True)
class ArtifactsSettings(ComputeOptions, ProcessOptions):
    """Find the units that cause visual artifacts and repair the generator by ablating them.

    GAN Dissection, section 4.3: each unit's artifact score is the image quality of its
    top-activating samples against real images; ablating the worst units should improve the
    whole generator's samples. Writes ``artifacts.json`` and pictures into ``out``.

    Args:
        segmenter: Segmenter whose features give FSD: 'scene' (shipped; the only one FSD
            supports), 'segformer:PATH' or 'package.module:factory'.
        layer: Generator layer whose units are scored and ablated.
        samples: Generated samples N; each unit is scored on its top_k of them, and the repair
            curve generates these N samples at every n.
        top_k: Top-activating samples per unit that are scored (the paper used 10,000).
        real: Real images compared against (scene-world scenes); the repair curve and the floor
            use min(real, samples) of them.
        real_framing: Framing of the real scenes: 'auto' (the one the generator trained on:
            church for the shipped 64 px model, a .ckpt's data module's, else default),
            'default' or 'church'.
        quality: 'fsd' (Fréchet distance of scene-segmenter features), 'swd' (sliced
            Wasserstein distance, Karras et al. 2018) or 'fid' (needs inception_weights).
        inception_weights: Path of torch-fidelity's Inception-v3 weights (quality 'fid' only).
        repair_quality: Measures of the repair curve, any of 'fsd', 'swd', 'fid' (SWD costs
            about four times FSD on a CPU).
        repair_units: Largest n of the repair curve (ablate the top n artifact units, n = 0..this).
        control: Also ablate n randomly chosen units at every n (a control for the repair curve).
        show_units: Worst units shown in the picture of top samples.
        seed: Seed of the latents, the real scenes and the random control.
        dissection: Optional dissection folder or dissect.json; each artifact unit is shown with
            the concept it detects there.
    """

    layer: str = "layer4"
    samples: int = 1024
    top_k: int = 64
    real: int = 512
    real_framing: Literal["auto", "default", "church"] = "auto"
    quality: Literal["fsd", "swd", "fid"] = "fsd"
    inception_weights: str | None = None
    repair_quality: list[str] = field(default_factory=lambda: ["fsd"])
    repair_units: int = 20
    control: bool = True
    show_units: int = 8
    dissection: str | None = None
    out: str = "outputs/artifacts"

    def check(self) -> None:
        """Check the scoring and repair values against each other."""
        check_at_least(2, samples=self.samples, top_k=self.top_k, real=self.real)
        check_at_least(0, repair_units=self.repair_units, show_units=self.show_units)
        check_choice("quality", self.quality, QUALITY_METRICS)
        check_choice("real_framing", self.real_framing, ("auto", "default", "church"))
        bad = [m for m in self.repair_quality if m not in QUALITY_METRICS]
        if bad or not self.repair_quality:
            raise ValueError(
                f"--repair-quality must name one or more of {', '.join(QUALITY_METRICS)}; "
                f"got {self.repair_quality!r}"
            )
        if self.top_k > self.samples:
            raise ValueError(f"--top-k must be <= --samples ({self.samples}); got {self.top_k}")
        if self.quality == "swd" and self.top_k > self.real:
            raise ValueError(f"--top-k must be <= --real ({self.real}) for swd; got {self.top_k}")
        if "fid" in (self.quality, *self.repair_quality):
            if not self.inception_weights:
                raise ValueError("--inception-weights must name a weights file for 'fid'")
            check_input("inception_weights", self.inception_weights)
        if self.dissection is not None:
            check_dissection(self.dissection)


def _unit_concepts(path: str | None, layer: str) -> dict[int, str]:
    from ganlens.dissect.record import read_dissection

    if path is None:
        return {}
    dissection = read_dissection(path)
    if layer not in dissection.layers:
        raise ValueError(f"dissection {path!r} has no layer {layer!r}")
    return {u.unit: u.concept for u in dissection[layer].units if u.interpretable}


def _images(generator: nn.Module, latents: Tensor, layer: str, ablate: list[int]) -> Any:
    import torch

    from ganlens.applications.artifacts import generate

    return torch.cat([b.cpu() for _, b, _ in generate(generator, latents, layer, ablate=ablate)])


def run_artifacts(settings: ArtifactsSettings) -> int:
    """Run the artifact-unit application; returns 0.

    Args:
        settings: The :class:`ArtifactsSettings` (checked when they were built).

    Returns:
        0 on success.

    Raises:
        ValueError: On an unknown layer or generator source.

    Example:
        >>> run_artifacts(ArtifactsSettings(layer="layer99"))
        Traceback (most recent call last):
        ...
        ValueError: ... 'layer99' ...
    """
    from functools import partial

    from ganlens.hooks import get_layer
    from ganlens.processes import run_on_devices
    from ganlens.sources import load_generator

    s, started = settings, time.perf_counter()
    generator = load_generator(s.generator, s.device, s.truncation)
    get_layer(generator, s.layer)
    several = s.devices * s.num_nodes > 1  # then each process loads its own, on its device
    if several:
        _unit_concepts(s.dissection, s.layer)  # an unreadable dissection fails before the spawn
    work = partial(_artifacts, s, started, None if several else generator)
    return run_on_devices(work, s.devices, s.device, s.quiet, s.num_nodes,
                          s.timeout)  # fmt: skip


def _artifacts(s: ArtifactsSettings, started: float, generator: Any, *, device: str,
               writer: bool, distributed: bool) -> int:  # fmt: skip
    """The application in one process (rank 0 of several writes)."""
    import torch

    from ganlens.applications.artifacts import artifact_scores
    from ganlens.applications.loading import generator_latent_size, real_scene_images
    from ganlens.applications.pictures import repair_chart, sample_rows, save_png
    from ganlens.applications.quality import quality_measure
    from ganlens.applications.repair import repair_curve
    from ganlens.io import atomic_write_text
    from ganlens.sources import load_generator, scene_framing

    if generator is None:
        generator = load_generator(s.generator, device, s.truncation)
    concepts = _unit_concepts(s.dissection, s.layer)
    shown_bars = not s.quiet and writer
    seeded = torch.Generator().manual_seed(s.seed)
    latents = torch.randn(s.samples, generator_latent_size(generator), generator=seeded)
    with torch.no_grad():
        resolution = int(generator(latents[:1].to(device)).shape[-1])
    repair_count = min(s.real, s.samples)
    framing = scene_framing(s.generator) if s.real_framing == "auto" else s.real_framing
    real = real_scene_images(s.real, resolution, REAL_WORLD_SEED, framing=framing)
    floor = real_scene_images(
        max(repair_count, s.top_k), resolution, REAL_WORLD_SEED, s.real, framing=framing
    )
    measure = quality_measure(
        s.quality, device=device, inception_weights=s.inception_weights, seed=s.seed
    )
    scores = artifact_scores(
        generator,
        s.layer,
        latents,
        real,
        measure,
        top_k=s.top_k,
        floor_images=floor,
        seed=s.seed,
        batch_size=s.batch_size,
        progress=shown_bars,
        distributed=distributed,
    )
    seconds = {"scores": time.perf_counter() - started}
    names = list(dict.fromkeys(s.repair_quality))
    measures = [
        quality_measure(n, device=device, inception_weights=s.inception_weights, seed=s.seed)
        for n in names
    ]
    n_max = min(s.repair_units, len(scores.ranking))
    curve = repair_curve(
        generator,
        s.layer,
        scores.ranking,
        latents[:repair_count],
        real[:repair_count],
        measures,
        max_units=n_max,
        floor_images=floor[:repair_count],
        control=s.control,
        seed=s.seed,
        batch_size=s.batch_size,
        progress=shown_bars,
        distributed=distributed,
    )
    seconds["repair"] = time.perf_counter() - started - seconds["scores"]
    if not writer:
        return 0
    out = Path(s.out)
    out.mkdir(parents=True, exist_ok=True)
    worst = scores.ranking[: s.show_units]
    shown = min(8, s.top_k)
    rows = [
        (
            f"unit {u} {scores.scores[u]:.3g} {concepts.get(u, '')}".strip(),
            _images(generator, latents[scores.top_samples[u, :shown]], s.layer, []),
        )
        for u in worst
    ]
    chosen = torch.randperm(s.samples, generator=torch.Generator().manual_seed(s.seed))[:shown]
    rows.append(
        (f"random {scores.random_score:.3g}", _images(generator, latents[chosen], s.layer, []))
    )
    save_png(sample_rows(rows), out / "artifacts_units.png")
    atomic_write_text(out / "artifacts_repair.svg", repair_chart(curve))
    before = _images(generator, latents[:12], s.layer, [])
    after = _images(generator, latents[:12], s.layer, curve.units)
    save_png(
        sample_rows([("unedited", before), (f"top {n_max} ablated", after)]),
        out / "artifacts_samples.png",
    )
    score_dict = scores.to_dict()
    for unit in score_dict["units"]:
        unit["concept"] = concepts.get(unit["unit"])
    document: dict[str, Any] = {
        "format": "ganlens-artifacts/1",
        "settings": asdict(s),
        "real": {
            "world_seed": REAL_WORLD_SEED,
            "count": s.real,
            "floor_start": s.real,
            "framing": framing,
        },
        "scores": score_dict,
        "repair": curve.to_dict(),
        "summary": {
            "worst_units": worst,
            "change": {m: curve.change(m) for m in curve.values},
            "control_change": {m: v[-1] - v[0] for m, v in curve.control.items()},
        },
        "images": {
            "units": "artifacts_units.png",
            "repair": "artifacts_repair.svg",
            "samples": "artifacts_samples.png",
        },
        "seconds": seconds,
    }
    atomic_write_text(out / "artifacts.json", json.dumps(document, indent=1) + "\n")
    changes = ", ".join(
        f"{m} {v[0]:.3g} -> {v[-1]:.3g} (floor {curve.floor.get(m, float('nan')):.3g})"
        for m, v in curve.values.items()
    )
    _log.info("%s: worst units %s; ablating the top %d: %s -> %s", s.layer, worst, n_max, changes,
              out)  # fmt: skip
    if s.wandb:
        from ganlens.report.wandb_run import log_results

        log_results(
            s.wandb_project,
            s.wandb_name or f"artifacts-{s.layer}",
            out,
            scalars={f"artifacts/{m}_change": v for m, v in document["summary"]["change"].items()},
            tables={
                "artifacts/units": (
                    ["unit", "rank", "score"],
                    [[u["unit"], u["rank"], u["score"]] for u in score_dict["units"]],
                ),
                "artifacts/repair": (
                    ["n", *curve.values],
                    [
                        [n, *(curve.values[m][i] for m in curve.values)]
                        for i, n in enumerate(curve.n)
                    ],
                ),
            },
            images={f"artifacts/{k}": out / v for k, v in document["images"].items()},
            config=asdict(s),
        )
    return 0
