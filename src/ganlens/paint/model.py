"""What the painting server holds: a generator, a segmenter, its layers, rankings and levels.

Rankings come from a ``dissect.json`` (IoU and folded ACE rankings, lower score is better) or,
without one, from a quick dissection of the layer computed on first use and kept in memory. Each
unit's "draw" level is its 99th-percentile activation over the same quick sample set, as in the
original GANPaint (Bau et al., ICLR 2019, section 4), not the ACE insertion constant k.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from ganlens.dissect.quick import quick_dissection
from ganlens.dissect.stages import make_latents
from ganlens.hooks import featuremap_shapes
from ganlens.metrics.unit_level import UNIT_LEVEL, unit_levels
from ganlens.sources import load_generator, load_segmenter, weights_fingerprint

__all__ = ["DRAW_QUANTILE", "LayerInfo", "PaintModel", "Ranking", "load_paint_model"]

DRAW_QUANTILE = UNIT_LEVEL
"""Quantile level of the activation that "draw" writes into each painted unit."""
_log = logging.getLogger(__name__)
SHIPPED = ("scene", "shipped")
SHIPPED_LAYER = "layer6"


@dataclass(frozen=True)
class LayerInfo:
    """A paintable layer: its name, unit count ``U`` and featuremap grid ``(h, w)``.

    Example:
        >>> LayerInfo("layer4", 128, (8, 8)).grid
        (8, 8)
    """

    name: str
    num_units: int
    grid: tuple[int, int]


@dataclass(frozen=True)
class Ranking:
    """A ranking of a layer's units for one concept, best unit first.

    Example:
        >>> Ranking.from_scores("tree-iou", "tree", "iou", [-0.1, -0.3, 0.0]).order
        (1, 0, 2)
    """

    name: str
    concept: str
    metric: str
    order: tuple[int, ...]

    @classmethod
    def from_scores(cls, name: str, concept: str, metric: str, score: list[float]) -> Ranking:
        """Sort units by ``score`` (lower is better, ties by unit index)."""
        order = sorted(range(len(score)), key=lambda unit: (score[unit], unit))
        return cls(name, concept, metric, tuple(order))


def _paintable_layers(generator: nn.Module, latent_size: int) -> dict[str, LayerInfo]:
    """The layers whose output is ``[N, U, h, w]``, except the image.

    The generator's ``featuremap_layers`` when it lists them (the StyleGAN modules), else its
    direct children (a ProgGAN's ``layer1 .. layerN``).
    """
    listed = getattr(generator, "featuremap_layers", None)
    names = list(listed) if listed else [name for name, _ in generator.named_children()]
    z = torch.zeros(1, latent_size, device=next(generator.parameters()).device)
    shapes = featuremap_shapes(generator, z)
    with torch.no_grad():
        image = tuple(generator(z).shape)
    layers = {}
    for name in names:
        shape = shapes.get(name)
        if shape is None or len(shape) != 4 or shape == image:
            continue
        layers[name] = LayerInfo(name, int(shape[1]), (shape[2], shape[3]))
    if not layers:
        raise ValueError(f"{type(generator).__name__} has no child layer with [N, U, h, w] output")
    return layers


class PaintModel:
    """A generator with its paintable layers, unit rankings and draw levels.

    Args:
        generator: Maps ``[N, latent_size]`` latents to ``[N, 3, H, W]`` images; needs a
            ``latent_size`` attribute.
        segmenter: A segmenter with ``vocabulary`` and ``segment(images, resolution)``.
        document: A ``dissect.json`` document (its layers' rankings are used), or None to rank
            units with a quick dissection of ``quick_samples`` images per layer on first use.
        source: How the generator was named (shown on the page).
        quick_samples: Images for the quick dissection and the draw levels.
        seed: Seed of the quick sample set (and of sample ids when there is no document).

    Raises:
        ValueError: If the generator has no ``latent_size`` or no paintable layer.

    Example:
        >>> model = PaintModel(load_generator("scene"), load_segmenter("scene"))
        >>> model.layers["layer4"]
        LayerInfo(name='layer4', num_units=128, grid=(8, 8))
        >>> model.levels("layer4").shape
        torch.Size([128])
    """

    def __init__(
        self,
        generator: nn.Module,
        segmenter: Any,
        document: dict[str, Any] | None = None,
        *,
        source: str = "scene",
        quick_samples: int = 64,
        seed: int = 0,
    ) -> None:
        latent_size = getattr(generator, "latent_size", None)
        if not isinstance(latent_size, int):
            raise ValueError(f"generator {type(generator).__name__} has no int latent_size")
        self.generator, self.segmenter, self.document = generator, segmenter, document
        self.source, self.latent_size = source, latent_size
        self.resolution = int(getattr(generator, "resolution", 0)) or None
        self.lock = threading.RLock()  # hooks are per module: one edit at a time
        layers = _paintable_layers(generator, latent_size)
        if document is not None:
            layers = {
                d["layer"]: layers[d["layer"]] for d in document["layers"] if d["layer"] in layers
            }
            if not layers:
                raise ValueError(
                    "none of the dissection's layers is a child layer of the generator"
                )
        self.layers = layers
        settings = (document or {}).get("settings", {})
        self.num_samples = int(settings.get("num_probe", quick_samples))
        self.sample_seed = int(settings.get("seed", seed))
        self.quick_seed = seed
        self.quick = make_latents(latent_size, quick_samples, seed, False)[0]  # [n, D]
        self._rankings: dict[str, list[Ranking]] = {}
        self._levels: dict[str, Tensor] = {}

    def default_layer(self) -> str:
        """The layer the page opens on.

        layer6 of the shipped model (its clearest tree edits) when paintable; else the
        dissection's first layer, or the middle paintable layer without a dissection.

        Example:
            >>> shipped = load_generator("scene"), load_segmenter("scene")
            >>> model = PaintModel(*shipped, quick_samples=8)
            >>> model.default_layer()
            'layer6'
        """
        names = list(self.layers)
        if self.source in SHIPPED and SHIPPED_LAYER in self.layers:
            return SHIPPED_LAYER
        return names[0] if self.document is not None else names[len(names) // 2]

    @property
    def device(self) -> torch.device:
        """The generator's device.

        Example:
            >>> PaintModel(load_generator("scene"), load_segmenter("scene")).device
            device(type='cpu')
        """
        return next(self.generator.parameters()).device

    def rankings(self, layer: str) -> list[Ranking]:
        """The unit rankings of ``layer`` (computed and cached on first use without a document).

        Raises:
            KeyError: If ``layer`` is not paintable.

        Example:
            >>> shipped = load_generator("scene"), load_segmenter("scene")
            >>> model = PaintModel(*shipped, quick_samples=8)
            >>> tree = next(r for r in model.rankings("layer4") if r.name == "tree-iou")
            >>> tree.metric, sorted(tree.order) == list(range(128))
            ('iou', True)
        """
        info = self.layers[layer]
        with self.lock:
            if layer not in self._rankings:
                if self.document is not None:
                    entries = next(d for d in self.document["layers"] if d["layer"] == layer)
                    stored = entries["rankings"]
                else:
                    # its probe latents are self.quick (same count and seed)
                    result = quick_dissection(
                        self.generator, layer, self.segmenter, self.quick.shape[0],
                        seed=self.quick_seed, threshold_mode="quantile",
                        latent_size=self.latent_size, batch_size=32,
                    )  # fmt: skip
                    names, categories = result.concept_names, result.categories()
                    stored = result[layer].to_dict(names, categories)["rankings"]
                self._rankings[layer] = [
                    Ranking.from_scores(r["name"], r["concept"], r["metric"], r["score"])
                    for r in stored
                    if len(r["score"]) == info.num_units
                ]
            return self._rankings[layer]

    def levels(self, layer: str) -> Tensor:
        """float32 ``[U]``: each unit's 99th-percentile activation over the quick sample set.

        Computed once per layer by :func:`ganlens.metrics.unit_level.unit_levels` (the statistic
        of the ACE insertion levels' ``quantile``), 32 latents per forward pass.

        Raises:
            KeyError: If ``layer`` is not paintable.

        Example:
            >>> shipped = load_generator("scene"), load_segmenter("scene")
            >>> model = PaintModel(*shipped, quick_samples=8)
            >>> bool((model.levels("layer6") > 0).any())
            True
        """
        if layer not in self.layers:
            raise KeyError(layer)
        with self.lock:
            if layer not in self._levels:
                self._levels[layer] = unit_levels(
                    self.generator, layer, self.quick, level=DRAW_QUANTILE
                )
            return self._levels[layer]

    def seed_latents(self, seeds: list[int]) -> Tensor:
        """``[N, latent_size]`` latents, each drawn from its own seed (the page's images).

        Example:
            >>> shipped = load_generator("scene"), load_segmenter("scene")
            >>> model = PaintModel(*shipped, quick_samples=8)
            >>> torch.equal(model.seed_latents([3, 4])[1], model.seed_latents([4])[0])
            True
        """
        return torch.stack(
            [
                torch.randn(self.latent_size, generator=torch.Generator().manual_seed(s))
                for s in seeds
            ]
        )

    def sample_latents(self, ids: list[int]) -> Tensor:
        """``[N, latent_size]`` latents of the dissection's probe samples ``ids``.

        The probe set is redrawn as ``dissect.py units`` drew it (its seed and sample count).

        Example:
            >>> shipped = load_generator("scene"), load_segmenter("scene")
            >>> model = PaintModel(*shipped, quick_samples=8)
            >>> torch.equal(model.sample_latents([2])[0], model.quick[2])  # no dissection: seed 0
            True
        """
        probe = make_latents(self.latent_size, self.num_samples, self.sample_seed, False)[0]
        return probe[torch.as_tensor(ids, dtype=torch.long)]


def load_paint_model(
    generator: str | None,
    segmenter: str | None,
    document: dict[str, Any] | None,
    *,
    device: str = "cpu",
    quick_samples: int = 64,
    seed: int = 0,
    truncation: float = 1.0,
) -> PaintModel:
    """A :class:`PaintModel` from sources (None: the dissection's, else the shipped models).

    Example:
        >>> load_paint_model(None, None, None, quick_samples=8).source
        'scene'
    """
    recorded = (document or {}).get("model", {}).get("source")
    settings = (document or {}).get("settings", {})
    generator = generator or recorded or "scene"
    segmenter = segmenter or settings.get("segmenter") or "scene"
    module = load_generator(generator, device, truncation)
    recorded_weights = (document or {}).get("model", {}).get("fingerprint")
    if recorded_weights and recorded_weights != weights_fingerprint(module):
        _log.warning(
            "generator %r has other weights than the dissection recorded: its rankings may not "
            "fit this model",
            generator,
        )
    return PaintModel(
        module,
        load_segmenter(segmenter, device),
        document,
        source=generator,
        quick_samples=quick_samples,
        seed=seed,
    )
