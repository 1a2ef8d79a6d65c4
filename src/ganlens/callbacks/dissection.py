"""A callback that dissects the EMA generator while a GAN trains (GAN Dissection, section 3.1).

Every few epochs :class:`DissectionMonitor` runs :func:`ganlens.dissect.dissect` on a fixed latent
bank, logs each layer's interpretable units, concepts, units per category and class
distribution, a units table with pictures, and the unit lineage across evaluations
(:class:`~ganlens.dissect.lineage.UnitLineage`). Under DDP every process dissects its share of
the bank, the metric states sync, and only rank zero writes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pytorch_lightning as pl
import torch
from torch import Tensor, nn
from torchvision.io import write_png

from ganlens.callbacks.base import Monitor, images_shown_of, latent_size_of
from ganlens.callbacks.history import RunHistory
from ganlens.callbacks.logging import log_evaluation
from ganlens.dissect.lineage import UnitLineage
from ganlens.dissect.result import DissectionResult, LayerDissection
from ganlens.dissect.runner import THRESHOLD_MODES, LabelSegmenter, dissect
from ganlens.dissect.thumbnails import top_sample_overlays
from ganlens.hooks import get_layer, layers_run
from ganlens.report.wandb_media import wandb_bar_chart, wandb_image, wandb_table
from ganlens.sources import load_segmenter

__all__ = ["DissectionMonitor", "layer_scalars"]


def layer_scalars(layer: LayerDissection, concept_names: Sequence[str]) -> dict[str, float]:
    """The numbers logged for one dissected layer, keyed ``dissect/<layer>/...``.

    Example:
        >>> from ganlens.dissect.result import LayerSummary, UnitRecord
        >>> units = (UnitRecord(0, "sky", 1, "object", 0.3, 0.1, 1.0, True, ()),)
        >>> summary = LayerSummary(1, 1, 1, {"object": 1, "part": 0}, {"sky": 1})
        >>> scalars = layer_scalars(LayerDissection("l4", units, summary, torch.zeros(1, 2)),
        ...                         ["-", "sky"])
        >>> scalars["dissect/l4/interpretable_units"], scalars["dissect/l4/mean_iou"]
        (1, 0.3)
    """
    prefix = f"dissect/{layer.layer}"
    summary = layer.summary
    ious = [u.iou for u in layer.units if u.interpretable]
    scalars: dict[str, float] = {
        f"{prefix}/interpretable_units": summary.num_interpretable,
        f"{prefix}/concepts": summary.num_concepts,
        f"{prefix}/mean_iou": sum(ious) / len(ious) if ious else 0.0,
    }
    for category, count in summary.category_counts.items():
        scalars[f"{prefix}/units_{category}"] = count
    for name in concept_names[1:]:
        scalars[f"{prefix}/class/{name}"] = summary.units_per_concept.get(name, 0)
    return scalars


class DissectionMonitor(Monitor):
    """Dissect the generator at the configured layers every few epochs or every N images.

    The probe latents (and, in ``iqr`` mode, as many held-out latents for the thresholds) are
    drawn once from ``seed`` and kept in the callback's checkpointed state with the lineage, so a
    resumed run continues the same series. A growing ProgGAN is dissected only from
    ``min_resolution`` on, and only at layers its current stage runs.

    Logged metrics (``<layer>`` per dissected layer, ``epoch`` in every record):
        ``dissect/images_shown``: real images the GAN had seen (``pl_module.images_shown``, or
        ``trainer.global_step`` for modules without that counter).
        ``dissect/<layer>/interpretable_units``, ``dissect/<layer>/concepts``: counts.
        ``dissect/<layer>/units_<category>``: interpretable units per category.
        ``dissect/<layer>/mean_iou``: mean IoU of the interpretable units (0 when none).
        ``dissect/<layer>/class/<concept>``: the class distribution, every concept.
        ``dissect/<layer>/concept_stability``: fraction of units interpretable at this and the
        previous evaluation that kept their concept (from the second evaluation on).
        ``dissect/<layer>/lineage_image`` (``history.jsonl`` only): ``lineage/<layer>.png``, the
        lineage heat map below so far, written beside the run's ``history.jsonl`` (rank zero,
        when the trainer has a :class:`~ganlens.callbacks.history.RunHistory`).
        W&B only: ``dissect/<layer>/class_distribution`` (bar chart), ``dissect/<layer>/units``
        (table: unit, concept, category, IoU, IQR, threshold, top samples with the unit's region
        bright, for the ``table_units`` best units), ``dissect/<layer>/lineage`` (heat map:
        units down, evaluations across, coloured by concept, dimmed when not interpretable).

    Args:
        layers: Generator layers to dissect.
        num_samples: Probe latents (and held-out latents in ``iqr`` mode).
        every_n_epochs: Dissect after every this many epochs (when ``every_n_images`` is None).
        every_n_images: Instead, dissect after the training batch with which the module's
            ``images_shown`` counter (a :class:`~ganlens.training.ProgressiveGAN` has one)
            passes each multiple of this number.
        threshold_mode: ``"iqr"`` or ``"quantile"`` (GAN Dissection, section 3.1).
        quantile: q of the ``quantile`` mode.
        iou_mode: ``"unrestricted"`` or ``"category"``.
        min_iou: IoU cut-off for interpretable units.
        min_iqr: IQR cut-off (``iqr`` mode).
        min_resolution: Skip evaluations while generated images are smaller than this.
        segmenter: ``"scene"`` or ``"package.module:factory"`` (see
            :func:`ganlens.segment.load_segmenter`), or a segmenter object with ``vocabulary``
            and ``segment`` (:class:`~ganlens.dissect.runner.LabelSegmenter`).
        batch_size: Samples per forward pass.
        seed: Seed of the latent bank.
        table_units: Units (highest IoU first) in the W&B units table.
        thumbnails: Top samples shown per unit in the table.
        generator_attribute: Attribute of the LightningModule holding the generator.

    Example:
        >>> monitor = DissectionMonitor(layers=["layer4"], num_samples=64)
        >>> sorted(monitor.state_dict())
        ['images_block', 'latents', 'lineage']
    """

    def __init__(
        self,
        layers: Sequence[str] = ("layer4", "layer6"),
        num_samples: int = 128,
        every_n_epochs: int = 1,
        every_n_images: int | None = None,
        threshold_mode: str = "iqr",
        quantile: float = 0.01,
        iou_mode: str = "unrestricted",
        min_iou: float = 0.05,
        min_iqr: float = 0.01,
        min_resolution: int = 16,
        segmenter: Any = "scene",
        batch_size: int = 64,
        seed: int = 0,
        table_units: int = 16,
        thumbnails: int = 3,
        generator_attribute: str = "generator_ema",
    ) -> None:
        if not layers:
            raise ValueError("layers must name at least one generator layer")
        if num_samples < 1 or batch_size < 1:
            raise ValueError(
                f"num_samples and batch_size must be >= 1; got {num_samples}, {batch_size}"
            )
        # The bank holds the probe latents, then as many held-out latents for the thresholds.
        super().__init__(2 * num_samples, every_n_epochs, every_n_images, seed)
        if threshold_mode not in THRESHOLD_MODES:
            raise ValueError(
                f"threshold_mode must be one of {THRESHOLD_MODES}; got {threshold_mode!r}"
            )
        self.layers = list(layers)
        self.num_samples = num_samples
        self.threshold_mode, self.quantile, self.iou_mode = threshold_mode, quantile, iou_mode
        self.min_iou, self.min_iqr, self.min_resolution = min_iou, min_iqr, min_resolution
        self.segmenter_source = segmenter
        self.batch_size = batch_size
        self.table_units, self.thumbnails = table_units, thumbnails
        self.generator_attribute = generator_attribute
        self.lineage = UnitLineage()
        self.last_result: DissectionResult | None = None
        self._segmenter: LabelSegmenter | None = None

    @property
    def latents_probe(self) -> Tensor | None:
        """The probe latents (the bank's first half), None before the first evaluation."""
        return None if self.latents is None else self.latents[: self.num_samples]

    @property
    def latents_threshold(self) -> Tensor | None:
        """The held-out latents (the bank's second half) the ``iqr`` thresholds are chosen on."""
        return None if self.latents is None else self.latents[self.num_samples :]

    def _bank(self, latent_size: int) -> tuple[Tensor, Tensor | None]:
        bank = self.latent_bank(latent_size)
        held_out = bank[self.num_samples :] if self.threshold_mode == "iqr" else None
        return bank[: self.num_samples], held_out

    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        """Check the generator attribute, the layers and the segmenter before any step.

        Raises:
            ValueError: Naming the missing generator attribute, the unknown layer (listing the
                valid ones) or the segmenter that does not load.
        """
        generator = getattr(pl_module, self.generator_attribute, None)
        if not isinstance(generator, nn.Module):
            raise ValueError(
                f"DissectionMonitor: {type(pl_module).__name__} has no generator attribute "
                f"{self.generator_attribute!r} (set generator_attribute to the module's generator)"
            )
        for layer in self.layers:
            get_layer(generator, layer)
        self._load_segmenter(pl_module.device)

    def _load_segmenter(self, device: torch.device) -> LabelSegmenter:
        if self._segmenter is None:
            source = self.segmenter_source
            self._segmenter = load_segmenter(source, device) if isinstance(source, str) else source
        return self._segmenter

    def evaluate(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        """Dissect the generator on the bank now and log the result (call on every rank)."""
        generator: nn.Module = getattr(pl_module, self.generator_attribute)
        probe, held_out = self._bank(latent_size_of(pl_module, generator))
        layers, image = layers_run(generator, self.layers, probe[:1].to(pl_module.device))
        if int(image.shape[-1]) < self.min_resolution or not layers:
            return
        was_training = generator.training
        generator.eval()
        try:
            result = dissect(
                generator,
                layers,
                self._load_segmenter(pl_module.device),
                probe,
                held_out,
                batch_size=self.batch_size,
                threshold_mode=self.threshold_mode,
                quantile=self.quantile,
                iou_mode=self.iou_mode,
                min_iou=self.min_iou,
                min_iqr=self.min_iqr,
                distributed=trainer.world_size > 1,
            )
        finally:
            generator.train(was_training)
        images_shown = images_shown_of(trainer, pl_module)
        scalars: dict[str, float] = {"dissect/images_shown": images_shown}
        media: dict[str, Callable[[], Any]] = {}
        files: dict[str, str] = {}
        callbacks = trainer.callbacks  # type: ignore[attr-defined]
        history = next((c for c in callbacks if isinstance(c, RunHistory)), None)
        for name in layers:
            layer = result[name]
            self.lineage.record(trainer.current_epoch, images_shown, layer)
            scalars.update(layer_scalars(layer, result.concept_names))
            stability = self.lineage.stability(name)
            if stability is not None:
                scalars[f"dissect/{name}/concept_stability"] = stability
            media.update(self._media(generator, layer, result.concept_names, probe))
            if history is not None and trainer.is_global_zero:
                picture = self.lineage.heatmap(name, len(result.concept_names), column=16,
                                               names=result.concept_names)  # fmt: skip
                relative = f"lineage/{name}.png"
                path = history.history_file(trainer).parent / relative
                path.parent.mkdir(parents=True, exist_ok=True)
                write_png(picture.contiguous(), str(path))
                files[f"dissect/{name}/lineage_image"] = relative
        self.last_result = result
        log_evaluation(trainer, scalars, media, files=files, owner="DissectionMonitor")

    def _media(
        self, generator: nn.Module, layer: LayerDissection, names: Sequence[str], probe: Tensor
    ) -> dict[str, Callable[[], Any]]:
        prefix = f"dissect/{layer.layer}"
        counts = [layer.summary.units_per_concept.get(n, 0) for n in names[1:]]

        def chart() -> Any:
            title = f"{layer.layer}: interpretable units per concept"
            return wandb_bar_chart(names[1:], counts, title=title, label="concept", value="units")

        def table() -> Any:
            best = sorted(layer.units, key=lambda u: -u.iou)[: self.table_units]
            pictures = top_sample_overlays(
                generator, layer, probe, [u.unit for u in best], self.thumbnails, display_size=64
            )
            columns = ["unit", "concept", "category", "iou", "iqr", "threshold", "top_samples"]
            rows = [
                [
                    u.unit,
                    u.concept,
                    u.category,
                    u.iou,
                    u.iqr,
                    u.threshold,
                    torch.cat(list(pictures[u.unit]), dim=-1),
                ]
                for u in best
                if len(pictures[u.unit])
            ]
            return wandb_table(columns, rows)

        def lineage() -> Any:
            return wandb_image(
                self.lineage.heatmap(layer.layer, len(names), column=16, names=names),
                caption="unit lineage",
            )

        return {
            f"{prefix}/class_distribution": chart,
            f"{prefix}/units": table,
            f"{prefix}/lineage": lineage,
        }

    def extra_state(self) -> dict[str, Any]:
        """The lineage (the bank and the schedule are the base's)."""
        return {"lineage": self.lineage.state_dict()}

    def load_extra_state(self, state_dict: dict[str, Any]) -> None:
        """Restore the lineage; reads the bank of checkpoints from ganlens 0.1 too."""
        if "latents_probe" in state_dict and state_dict["latents_probe"] is not None:
            self.latents = torch.cat([state_dict["latents_probe"], state_dict["latents_threshold"]])
        self.lineage.load_state_dict(state_dict["lineage"])
