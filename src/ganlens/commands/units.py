"""``ganlens units``: dissect layers of a generator and write ``dissect.json`` and the report.

GAN Dissection (Bau et al., ICLR 2019, arXiv:1811.10597, section 3.1). Finished stages are cached
in ``OUT/cache`` and reused on re-runs (:mod:`ganlens.dissect.stages`). Layers already dissected in
``OUT`` with the same settings are kept beside the new ones; replacing a dissection made with other
settings needs ``--overwrite``, so nothing is deleted that the user did not ask to delete.
Example: ``python dissect.py units --layers layer2 layer4 layer6 --samples 256 --out outputs/d``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from ganlens.options import (
    ComputeOptions,
    ProcessOptions,
    check_choice,
    check_positive,
)

if TYPE_CHECKING:
    from ganlens.dissect.result import LayerDissection

__all__ = ["UnitsSettings", "run_units_command"]


@dataclass(frozen=True, kw_only=True)
class UnitsSettings(ComputeOptions, ProcessOptions):
    """Dissect generator layers and write dissect.json, unit images and an HTML report.

    Args:
        layers: Dotted names of the layers to dissect.
        samples: Probe samples N (iqr mode draws N more, held out, for the thresholds).
        threshold_mode: Threshold policy: 'iqr' search on a held-out set, or top 'quantile'.
        quantile: Top fraction q of the quantile policy.
        iou_mode: Count a unit's region everywhere ('unrestricted') or only in images that
            contain the concept's category ('category').
        resolution: Segmentation side S (default: the image side capped at 128).
        min_iou: IoU cut-off of interpretable units.
        min_iqr: IQR cut-off of interpretable units in iqr mode.
        num_levels: Candidate threshold levels B of the IQR search.
        exact: Count every held-out pixel in the IQR search (default: about 10^6 stratified
            pixels per unit when the held-out set has more; reported IoU is always exact).
        top_k: Top samples recorded per unit.
        images_per_unit: Top samples drawn per unit in the report (0 draws none).
        latent_size: Latent dimension, for generators without a latent_size attribute.
        out: Output folder; the cache lives in OUT/cache.
        force: Recompute every stage instead of reusing the cache.
        overwrite: Replace a dissection in OUT made with other settings (its other layers and
            their images are deleted); without it such a folder is an error.
    """

    layers: list[str] = field(default_factory=lambda: ["layer2", "layer4", "layer6"])
    samples: int = 512
    threshold_mode: Literal["iqr", "quantile"] = "iqr"
    quantile: float = 0.01
    iou_mode: Literal["unrestricted", "category"] = "unrestricted"
    resolution: int | None = None
    min_iou: float = 0.05
    min_iqr: float = 0.01
    num_levels: int = 100
    exact: bool = False
    top_k: int = 10
    images_per_unit: int = 4
    latent_size: int | None = None
    out: str = "outputs/dissect"
    force: bool = False
    overwrite: bool = False

    def check(self) -> None:
        """Check the dissection's own values."""
        check_positive(quantile=self.quantile, num_levels=self.num_levels, top_k=self.top_k,
                       resolution=self.resolution, latent_size=self.latent_size)  # fmt: skip
        check_choice("threshold_mode", self.threshold_mode, ("iqr", "quantile"))
        check_choice("iou_mode", self.iou_mode, ("unrestricted", "category"))
        if self.quantile > 1:
            raise ValueError(f"--quantile must lie in (0, 1]; got {self.quantile}")
        if self.images_per_unit < 0:
            raise ValueError(f"--images-per-unit must be 0 or more; got {self.images_per_unit}")
        if not self.layers:
            raise ValueError("--layers must name at least one layer")

    def result_settings(self) -> dict[str, Any]:
        """The settings the dissected layers depend on, by their own names.

        Left out: which layers, where the output goes, how fast and how loudly it runs, the
        values the chosen threshold mode does not use, and the generator's name (its weights'
        fingerprint is compared instead, so a moved file is the same generator).

        Example:
            >>> sorted(UnitsSettings(threshold_mode="quantile").result_settings())[:4]
            ['images_per_unit', 'iou_mode', 'min_iou', 'quantile']
        """
        ignored = {"layers", "out", "force", "overwrite", "quiet", "device", "devices", "num_nodes",
                   "batch_size", "wandb", "wandb_project", "wandb_name", "latent_size",
                   "generator"}  # fmt: skip
        ignored |= (
            {"quantile"} if self.threshold_mode == "iqr" else {"min_iqr", "num_levels", "exact"}
        )
        return {k: v for k, v in asdict(self).items() if k not in ignored}


def kept_layers(settings: UnitsSettings, weights: str) -> dict[str, LayerDissection]:
    """Layers of an earlier dissection in ``settings.out`` to keep beside the requested ones.

    Args:
        settings: The command's settings.
        weights: Fingerprint of the generator's weights.

    Returns:
        The earlier layers that are not requested again (empty without an earlier dissection or
        with ``--overwrite``).

    Raises:
        ValueError: If the earlier dissection has other layers and was made with other settings
            or weights, and ``--overwrite`` is not given.

    Example:
        >>> import tempfile
        >>> kept_layers(UnitsSettings(out=tempfile.mkdtemp()), "0" * 64)
        {}
    """
    from pathlib import Path

    from ganlens.dissect.record import read_dissection

    if settings.overwrite or not (Path(settings.out) / "dissect.json").is_file():
        return {}
    earlier = read_dissection(settings.out)
    others = {n: layer for n, layer in earlier.layers.items() if n not in settings.layers}
    if not others:
        return {}
    recorded = earlier.extra_settings.get("command")
    if isinstance(recorded, dict):
        wanted = settings.result_settings()
        changed = [
            f"{k} {recorded.get(k)!r} -> {v!r}" for k, v in wanted.items() if recorded.get(k) != v
        ]
    else:
        changed = ["written by a ganlens that did not record its command settings"]
    if earlier.model.get("fingerprint") != weights:
        changed.append("the generator's weights")
    if changed:
        raise ValueError(
            f"--out {settings.out} holds a dissection of {', '.join(others)} made with other "
            f"settings ({'; '.join(changed)}); add those layers to --layers, pass --overwrite to "
            "replace it (deleting them), or choose another --out"
        )
    return others


def run_units_command(settings: UnitsSettings) -> int:
    """Run ``ganlens units``; returns the exit status.

    Everything that can be wrong with the settings (files, layer names, an earlier dissection in
    ``out``) is checked here, in this process; with ``--devices N > 1``, Lightning Fabric then
    starts N processes (``ddp_spawn``: gloo on CPUs, NCCL on GPUs) that each dissect their share
    of the samples, and the first one writes the results.

    Example:
        >>> run_units_command(UnitsSettings(generator="missing.pth"))
        Traceback (most recent call last):
        ...
        FileNotFoundError: generator file 'missing.pth' does not exist
    """
    from functools import partial

    from ganlens.hooks import get_layer
    from ganlens.processes import run_on_devices
    from ganlens.sources import load_generator, load_segmenter, weights_fingerprint

    generator = load_generator(settings.generator, settings.device, settings.truncation)
    for layer in settings.layers:
        get_layer(generator, layer)  # a wrong name fails here, listing the layers
    latent_size = settings.latent_size or getattr(generator, "latent_size", None)
    if latent_size is None:
        raise ValueError(
            f"--latent-size is needed: {settings.generator!r} has no latent_size attribute"
        )
    earlier = kept_layers(settings, weights_fingerprint(generator))
    segmenter = load_segmenter(settings.segmenter, settings.device)  # a bad one fails here
    models: tuple[Any, Any] | None = (generator, segmenter)
    if settings.devices * settings.num_nodes > 1:  # each process loads its own, on its device
        models = None
    work = partial(_dissect_and_publish, settings, latent_size, earlier, models)
    return run_on_devices(work, settings.devices, settings.device, settings.quiet,
                          settings.num_nodes, settings.timeout)  # fmt: skip


def _dissect_and_publish(
    settings: UnitsSettings,
    latent_size: int,
    earlier: dict[str, LayerDissection],
    models: tuple[Any, Any] | None,
    *,
    device: str,
    writer: bool,
    distributed: bool,
) -> int:
    """The pipeline in one process: load, latents, dissection, unit images, record and report.

    ``models`` are the generator and segmenter already loaded (one process), or None.
    """
    import logging
    from pathlib import Path

    import torch

    from ganlens.dissect.stages import DissectionOptions, make_latents, run_units
    from ganlens.report.publish import publish_dissection
    from ganlens.sources import load_generator, load_segmenter, weights_fingerprint

    log = logging.getLogger("ganlens")
    if models is None:
        models = (
            load_generator(settings.generator, device, settings.truncation),
            load_segmenter(settings.segmenter, device),
        )
    generator, segmenter = models
    segmenter_id = settings.segmenter
    if isinstance(segmenter, torch.nn.Module):
        segmenter_id += ":" + weights_fingerprint(segmenter)
    iqr = settings.threshold_mode == "iqr"
    probe, held_out = make_latents(latent_size, settings.samples, settings.seed, iqr)
    options = DissectionOptions(
        threshold_mode=settings.threshold_mode, quantile=settings.quantile,
        iou_mode=settings.iou_mode, resolution=settings.resolution, min_iou=settings.min_iou,
        min_iqr=settings.min_iqr, num_levels=settings.num_levels, top_k=settings.top_k,
        images_per_unit=settings.images_per_unit, batch_size=settings.batch_size,
        exact=settings.exact,
    )  # fmt: skip
    model = {
        "source": settings.generator,
        "class": type(generator).__name__,
        "resolution": getattr(generator, "resolution", None),
    }
    result = run_units(
        generator, settings.layers, segmenter, settings.out, probe=probe, held_out=held_out,
        options=options, model=model, segmenter_id=segmenter_id, force=settings.force,
        extra_settings={"seed": settings.seed, "segmenter": settings.segmenter,
                        "command": settings.result_settings()},
        progress=not settings.quiet and writer, distributed=distributed,
    )  # fmt: skip
    if not writer:
        return 0
    if earlier:
        log.info("kept %s from the earlier dissection in %s", ", ".join(earlier), settings.out)
        result = result.with_layers({**result.layers, **earlier})
    published = publish_dissection(
        result, settings.out, prune=True, wandb_name=settings.wandb_name,
        wandb_project=settings.wandb_project if settings.wandb else None,
    )  # fmt: skip
    log.info(published.describe())
    document = published.document
    for layer in document["layers"]:
        s = layer["summary"]
        distribution = s["class_distribution"]
        parts = [e for e in distribution if e["category"] == "part"]
        part_units = f"; {sum(e['count'] for e in parts)} part units ({_counts(parts)})"
        log.info("%s: %d of %d units interpretable, %d concepts (%s)%s", layer["layer"],
                 s["num_interpretable"], s["num_units"], s["num_concepts"],
                 _counts(distribution[:6]), part_units if parts else "")  # fmt: skip
    log.info("open %s", (Path(settings.out) / "dissect.html").resolve().as_uri())
    return 0


def _counts(entries: list[dict[str, Any]]) -> str:
    """``"sky 12, roof 10"`` from class-distribution entries."""
    return ", ".join(f"{e['concept']} {e['count']}" for e in entries)
