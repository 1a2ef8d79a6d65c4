"""Repairing a generator by ablating its artifact units, measured at equal N with the floor.

GAN Dissection (Bau et al., ICLR 2019, arXiv:1811.10597, section 4.3, Fig. 10): ablating (zeroing
everywhere) the top n artifact units of a layer changes the whole generator's image quality.
:func:`repair_curve` generates the same N latents for n = 0, 1, ..., n_max and measures each set
against the same N real images with every given measure; the real-vs-real value at the same N
(``floor``) is the best any generator can reach with this measure and N. A control curve ablates
n units drawn at random instead, so a gain can be told apart from "any ablation changes it".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

from ganlens.applications.artifacts import generate, progress_bar
from ganlens.applications.quality import QualityMeasure
from ganlens.metrics.distributed import rank_and_world, summed_over_processes

__all__ = ["RepairCurve", "repair_curve"]


@dataclass(frozen=True)
class RepairCurve:
    """Quality of the generator's samples with the top n units ablated, n = 0..n_max.

    Attributes:
        layer: The layer.
        n: ``[0, 1, ..., n_max]``.
        units: The ranking whose first n units are ablated at each n.
        values: Measure name to one value per n (lower is better).
        floor: Measure name to the real-vs-real value at the same N.
        control_units: The random order of the control (empty without control).
        control: Measure name to one value per n for the control (empty without control).
        num_samples: N.

    Example:
        >>> curve = RepairCurve("layer1", [0, 1], [3], {"swd": [5.0, 4.0]}, {"swd": 1.0})
        >>> curve.to_dict()["values"]["swd"], curve.change("swd")
        ([5.0, 4.0], -1.0)
    """

    layer: str
    n: list[int]
    units: list[int]
    values: dict[str, list[float]]
    floor: dict[str, float]
    control_units: list[int] = field(default_factory=list)
    control: dict[str, list[float]] = field(default_factory=dict)
    num_samples: int = 0

    def change(self, metric: str) -> float:
        """Value at n_max minus value at n = 0 (negative: ablation improved the samples)."""
        series = self.values[metric]
        return series[-1] - series[0]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values."""
        return {
            "layer": self.layer,
            "num_samples": self.num_samples,
            "n": list(self.n),
            "units": list(self.units),
            "values": {k: list(v) for k, v in self.values.items()},
            "floor": dict(self.floor),
            "control_units": list(self.control_units),
            "control": {k: list(v) for k, v in self.control.items()},
        }


def _measure_all(
    measures: Mapping[str, QualityMeasure], real: Mapping[str, Tensor], images: Tensor
) -> dict[str, float]:
    return {name: m.distance(real[name], m.describe(images)) for name, m in measures.items()}


def repair_curve(
    generator: nn.Module,
    layer: str,
    ranking: Sequence[int],
    latents: Tensor,
    real_images: Tensor,
    measures: Sequence[QualityMeasure],
    *,
    max_units: int = 20,
    floor_images: Tensor | None = None,
    control: bool = False,
    seed: int = 0,
    batch_size: int = 64,
    progress: bool = False,
    distributed: bool = False,
) -> RepairCurve:
    """Ablate the first n units of ``ranking`` for n = 0..max_units and measure image quality.

    Args:
        generator: Maps latents to images.
        layer: Dotted layer name.
        ranking: Units, worst first (e.g. :attr:`ArtifactScores.ranking`).
        latents: ``[N, ...]`` latents (the same for every n).
        real_images: ``[N, 3, H, W]`` real images in [-1, 1] (same N as ``latents``).
        measures: Quality measures (e.g. FSD and SWD).
        max_units: n_max (at most ``len(ranking)``).
        floor_images: ``[N, 3, H, W]`` other real images: the floor at the same N.
        control: Also ablate n units in a random order (seeded by ``seed``).
        seed: Seed of the control's order.
        batch_size: Samples per forward pass.
        progress: Show progress bars.
        distributed: Each process of the initialised group measures every world-size-th
            point of the curves; the values are summed into place, so every process gets all.

    Returns:
        :class:`RepairCurve`.

    Raises:
        ValueError: If the sets differ in size or ``max_units`` is out of range.

    Example:
        >>> from ganlens.applications.planted import PlantedArtifactGenerator
        >>> from ganlens.applications.loading import real_scene_images
        >>> from ganlens.applications.quality import quality_measure
        >>> g = PlantedArtifactGenerator(units=3, artifact_unit=1)
        >>> z = torch.randn(16, 4, generator=torch.Generator().manual_seed(0))
        >>> z[:, 0] = torch.arange(16)
        >>> curve = repair_curve(g, "layer1", [1, 0, 2], z, real_scene_images(16, 32, start=50),
        ...                      [quality_measure("swd")], max_units=1)
        >>> curve.change("swd") < 0  # ablating the noise unit brings the samples closer to real
        True
    """
    count = latents.shape[0]
    if real_images.shape[0] != count or (
        floor_images is not None and floor_images.shape[0] != count
    ):
        raise ValueError(
            f"real_images (and floor_images) must hold N = {count} images like latents; got "
            f"{real_images.shape[0]}"
            + ("" if floor_images is None else f" and {floor_images.shape[0]}")
        )
    if not 0 <= max_units <= len(ranking):
        raise ValueError(f"max_units must lie in 0..{len(ranking)}; got {max_units}")
    by_name = {m.name: m for m in measures}
    real = {name: m.describe(real_images) for name, m in by_name.items()}
    floor = {} if floor_images is None else _measure_all(by_name, real, floor_images)
    orders: dict[str, list[int]] = {"values": list(ranking)}
    if control:
        permutation = torch.randperm(len(ranking), generator=torch.Generator().manual_seed(seed))
        orders["control"] = [int(ranking[i]) for i in permutation]
    series: dict[str, dict[str, list[float]]] = {
        kind: {name: [] for name in by_name} for kind in orders
    }
    steps = [(kind, n) for kind in orders for n in range(max_units + 1) if kind == "values" or n]
    rank, world = rank_and_world(distributed)
    measured = torch.zeros(len(steps), len(by_name), dtype=torch.float64)  # [steps, measures]
    for step in progress_bar(range(rank, len(steps), world), "repair curve", progress):
        kind, n = steps[step]
        images = torch.cat(
            [
                batch.cpu()
                for _, batch, _ in generate(
                    generator, latents, layer, ablate=orders[kind][:n], batch_size=batch_size
                )
            ]
        )  # [N, 3, H, W]
        measured[step] = torch.tensor(list(_measure_all(by_name, real, images).values()))
    measured = summed_over_processes(measured) if distributed else measured
    for (kind, _), row in zip(steps, measured.tolist(), strict=True):
        for name, value in zip(by_name, row, strict=True):
            series[kind][name].append(value)
    if control:  # n = 0 is the same generator for both orders
        for name in by_name:
            series["control"][name].insert(0, series["values"][name][0])
    return RepairCurve(
        layer,
        list(range(max_units + 1)),
        list(orders["values"][:max_units]),
        series["values"],
        floor,
        orders.get("control", [])[:max_units],
        series.get("control", {}),
        count,
    )
