"""Dissect generator layers: thresholds in pass 1, unit-concept counts in pass 2.

GAN Dissection (Bau et al., ICLR 2019, arXiv:1811.10597, section 3.1): every unit u of a layer is
thresholded at t_u, its featuremap is upsampled to the segmentation
resolution S (bilinear, ``align_corners=False``) and compared with each concept's
mask by IoU(u, c) = |A_u AND S_c| / |A_u OR S_c| (eq. 1, section 4.3).

Passes (each image is generated once per pass, featuremaps of all layers are read in the same
forward pass with :func:`ganlens.hooks.trace`, and each image is segmented once for all layers):

Pass 1 counts every upsampled pixel while the threshold set has fewer than ``QUANTILE_SAMPLES``
(2^20) pixels per unit, and otherwise that many stratified random pixels per unit (evaluated
at those pixels only): the realised top fraction on all pixels stays within 2 % of q from about
10^6 samples on (:class:`~ganlens.metrics.UnitQuantile`). In pass 2 the counts are exact, and at
one threshold per unit only the pixels of blocks whose 4 input neighbours can exceed it are
upsampled.

* ``quantile`` mode: pass 1 streams the top-q quantile of every unit over the threshold set (the
  probe set unless ``latents_threshold`` is given); pass 2 counts on the probe set.
* ``iqr`` mode: pass 1 streams B = 100 quantiles per unit (top fractions 0.1 % .. 100 %) over the
  held-out set ``latents_threshold``; pass 2 counts at all B levels on the held-out set (where the
  IQR search picks each unit's level), then counts the probe set at that one threshold per unit
  (where IoU and IQR are reported), with the block-pruned single-threshold count. The probe's
  counts at the chosen threshold are the ones a B-level count would select, so the result is the
  same. Counting at B levels costs the same for any B > 1
  (:mod:`ganlens.functional.unit_concept_iou`). The search, too, counts the pixels pass 1 would
  sample (about ``QUANTILE_SAMPLES`` stratified pixels per unit, the same positions for every unit
  and label layer, drawn per image from its global index) when the held-out set has more: its
  IoU and IQR per level are then ratios of sampled counts, estimates of the exhaustive ones, and
  only the level each unit keeps depends on them (``exact=True`` counts every pixel).

By default the runner works in one process and its metrics do not sync. With ``distributed=True``
inside an initialised ``torch.distributed`` group, every process dissects its contiguous share of
each latent set and the metric states sync on compute (sum states by all-reduce), so every
process returns the single-process result; all processes must make the call.

(Over 300 lines: the two passes share their batching, sharding and chunking helpers.)
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Protocol

import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from ganlens.data.vocabulary import Vocabulary
from ganlens.dissect.result import DissectionResult, DissectionSettings, LayerDissection, UnitRecord
from ganlens.functional.information_quality import iqr_top_fractions
from ganlens.functional.unit_concept_iou import IOU_MODES
from ganlens.functional.unit_labels import UnitConceptIoUResult
from ganlens.hooks import get_layer, module_device, trace
from ganlens.metrics.distributed import all_reduce_sum, process_share
from ganlens.metrics.top_activations import TopActivations
from ganlens.metrics.unit_concept_iou import UnitConceptIoU
from ganlens.metrics.unit_quantile import UnitQuantile

__all__ = ["THRESHOLD_MODES", "LabelSegmenter", "dissect"]

THRESHOLD_MODES = ("quantile", "iqr")
MAX_DEFAULT_RESOLUTION = 128
QUANTILE_SAMPLES = 1 << 20  # sampled upsampled pixels per unit for the thresholds (pass 1)


def _pixels_per_image(num_images: int, size: int) -> int | None:
    """Stratified samples per image so that pass 1 sees about ``QUANTILE_SAMPLES`` per unit.

    None (every pixel) when the threshold set has fewer pixels than that.

    Example:
        >>> _pixels_per_image(1024, 128), _pixels_per_image(256, 32)
        (1024, None)
    """
    samples = -(-QUANTILE_SAMPLES // num_images)
    return samples if samples < size * size else None


class LabelSegmenter(Protocol):
    """What :func:`dissect` needs from a segmenter: a vocabulary and hard label layers.

    :class:`ganlens.segment.Segmenter` implementations satisfy it, and so does the ground-truth
    :class:`~ganlens.dissect.planted.SceneLabelSegmenter`.

    Example:
        >>> from ganlens.dissect.planted import SceneLabelSegmenter
        >>> segmenter: LabelSegmenter = SceneLabelSegmenter(range(2))
        >>> len(segmenter.vocabulary)
        18
    """

    @property
    def vocabulary(self) -> Vocabulary:
        """Concepts the labels index (0 = no label)."""
        ...

    def segment(self, images: Tensor, resolution: int | None = None) -> Tensor:
        """``int64 [N, K, S, S]`` labels of float ``[N, 3, H, W]`` images in [-1, 1]."""
        ...


def _progress(items: Sequence[int], description: str, enabled: bool) -> Iterable[int]:
    """``items``, wrapped in a tqdm progress bar when enabled (tqdm is imported only then)."""
    if not enabled:
        return items
    bar: Iterable[int] = tqdm(items, desc=description, leave=False)
    return bar


def _generate(
    generator: nn.Module,
    layers: list[str],
    latents: Tensor,
    batch_size: int,
    description: str,
    progress: bool,
    distributed: bool = False,
) -> Iterator[tuple[Tensor, Tensor, dict[str, Tensor]]]:
    """Yield ``(sample indices, images, featuremaps by layer)`` batch by batch.

    Images are clamped to [-1, 1], as they are when shown: generators without an output tanh
    (ProgGAN) overshoot, and segmenters accept only that range. Sample indices are positions in
    the whole latent set, also when this process handles only its share.
    """
    device = module_device(generator)
    share = process_share(latents.shape[0], distributed)
    starts = range(share.start, share.stop, batch_size)
    for start in _progress(starts, description, progress):
        z = latents[start : min(start + batch_size, share.stop)].to(device)
        with torch.no_grad(), trace(generator, layers) as features:
            images = generator(z)
        if not isinstance(images, Tensor) or images.ndim != 4:
            got = list(images.shape) if isinstance(images, Tensor) else type(images).__name__
            raise ValueError(
                "the generator must return an image tensor [N, 3, H, W]; got "
                f"{got} (wrap a generator that returns more in one that returns the images)"
            )
        if start == share.start:
            _check_image_range(images)
        images = images.clamp(-1.0, 1.0)
        indices = torch.arange(start, start + z.shape[0], device=device)
        for name in layers:
            if name not in features or features[name].ndim != 4:
                got = list(features[name].shape) if name in features else "no output"
                raise ValueError(f"layer {name!r} must output [N, U, H, W]; got {got}")
        yield indices, images, features


def _check_image_range(images: Tensor) -> None:
    """Refuse a first batch whose values look like [0, 1] or [0, 255] images, not [-1, 1] ones.

    Clamping such images to [-1, 1] would dissect wrong pictures without a word. A [-1, 1]
    generator's batch has negative values; one without any but bright ones is [0, 1], and one
    far above 1 is [0, 255] (ProgGAN's untanh'd overshoot stays near 1).
    """
    low, high = float(images.min()), float(images.max())
    named = "[0, 255]" if high > 10 else "[0, 1]" if low >= 0 and high > 0.5 else None
    if named is not None:
        raise ValueError(
            f"the generator's images look like {named} (values {low:.3g} .. {high:.3g}); ganlens "
            "expects [-1, 1]: wrap the generator so it returns 2 * x - 1 (from [0, 1]) or "
            "x / 127.5 - 1 (from [0, 255])"
        )


def _check_latents(latents: Tensor, name: str) -> None:
    if not isinstance(latents, Tensor) or latents.ndim < 1 or latents.shape[0] < 1:
        shape = list(latents.shape) if isinstance(latents, Tensor) else type(latents).__name__
        raise ValueError(f"{name} must be a tensor [N, ...] with N >= 1; got {shape}")


def _records(
    result: UnitConceptIoUResult, top_indices: Tensor, vocabulary: Vocabulary
) -> tuple[UnitRecord, ...]:
    records = []
    for unit in range(result.concept.shape[0]):
        concept = int(result.concept[unit])
        samples = tuple(int(i) for i in top_indices[unit].tolist() if i >= 0)
        records.append(
            UnitRecord(
                unit=unit,
                concept=vocabulary.name(concept),
                concept_index=concept,
                category=vocabulary.category(concept),
                iou=float(result.iou[unit]),
                iqr=float(result.iqr[unit]),
                threshold=float(result.threshold[unit]),
                interpretable=bool(result.interpretable[unit]),
                top_samples=samples,
            )
        )
    return tuple(records)


def dissect(
    generator: nn.Module,
    layers: str | Sequence[str],
    segmenter: LabelSegmenter,
    latents_probe: Tensor,
    latents_threshold: Tensor | None = None,
    *,
    batch_size: int = 32,
    threshold_mode: str = "quantile",
    quantile: float = 0.01,
    iou_mode: str = "unrestricted",
    resolution: int | None = None,
    min_iou: float = 0.05,
    min_iqr: float = 0.01,
    num_levels: int = 100,
    top_k: int = 10,
    progress: bool = False,
    distributed: bool = False,
    exact: bool = False,
) -> DissectionResult:
    """Dissect layers of a generator against a segmenter's concepts.

    Args:
        generator: Maps latents ``[n, ...]`` to images ``[n, 3, H, W]`` in [-1, 1] (clamped to it
            before segmentation); runs on the
            device of its parameters (or buffers), the latents are moved there.
        layers: Dotted name(s) of layers whose outputs ``[n, U, h, w]`` are dissected.
        segmenter: Object with ``vocabulary`` and ``segment(images, resolution)`` returning
            ``int64 [n, K, S, S]`` label layers (e.g. a :class:`ganlens.segment.Segmenter`).
        latents_probe: ``[N, ...]`` latents of the probe set; IoU is reported on it.
        latents_threshold: ``[M, ...]`` held-out latents for the thresholds; required in ``iqr``
            mode, optional in ``quantile`` mode (default: the probe set).
        batch_size: Samples per forward pass.
        threshold_mode: ``"quantile"`` (top-q quantile per unit) or ``"iqr"`` (IQR search).
        quantile: q of the ``quantile`` mode (default 0.01).
        iou_mode: ``"unrestricted"`` (default) or ``"category"``.
        resolution: Segmentation resolution S; default the image resolution capped at 128.
        min_iou: A unit is interpretable when its IoU exceeds this (default 0.05) ...
        min_iqr: ... and, in ``iqr`` mode, its IQR exceeds this (default 0.01).
        num_levels: Candidate levels B of the IQR search (default 100).
        top_k: Top-activating probe samples recorded per unit.
        progress: Show tqdm progress bars.
        distributed: Split the latents across the processes of the initialised
            ``torch.distributed`` group and sync the metrics; every process must call this and
            receives the same result.
        exact: In ``iqr`` mode, count every held-out pixel in the IQR search; by default the
            search counts about ``QUANTILE_SAMPLES`` stratified pixels per unit when the held-out
            set has more (the reported IoU is always counted on every probe pixel).

    Returns:
        :class:`~ganlens.dissect.result.DissectionResult`.

    Raises:
        ValueError: On an unknown layer (listing the valid ones), mode or bad argument.

    Example:
        >>> from ganlens.dissect.planted import PlantedSceneGenerator, SceneLabelSegmenter
        >>> g = PlantedSceneGenerator(["sky", "grass", "door"], resolution=32)
        >>> probe = torch.arange(24.0).view(-1, 1)  # the latent is the scene index
        >>> result = dissect(g, "layer1", SceneLabelSegmenter(range(24)), probe, batch_size=8)
        >>> [u.concept for u in result["layer1"].units[:3]]
        ['sky', 'grass', 'door']
    """
    names = [layers] if isinstance(layers, str) else list(layers)
    if not names:
        raise ValueError("layers must name at least one layer")
    for name in names:
        get_layer(generator, name)
    if threshold_mode not in THRESHOLD_MODES:
        raise ValueError(f"threshold_mode must be one of {THRESHOLD_MODES}; got {threshold_mode!r}")
    if iou_mode not in IOU_MODES:
        raise ValueError(f"iou_mode must be one of {IOU_MODES}; got {iou_mode!r}")
    if not 0 < quantile <= 1:
        raise ValueError(f"quantile must lie in (0, 1]; got {quantile}")
    if batch_size < 1 or top_k < 1 or num_levels < 2:
        raise ValueError(
            f"batch_size and top_k must be >= 1 and num_levels >= 2; got {batch_size}, {top_k}, "
            f"{num_levels}"
        )
    if resolution is not None and resolution < 1:
        raise ValueError(f"resolution must be a positive int or None; got {resolution}")
    process_share(1 << 30, distributed)  # fail early without a process group
    _check_latents(latents_probe, "latents_probe")
    if latents_threshold is not None:
        _check_latents(latents_threshold, "latents_threshold")
    elif threshold_mode == "iqr":
        raise ValueError("threshold_mode='iqr' needs latents_threshold, a held-out latent set")
    iqr = threshold_mode == "iqr"
    threshold_set = latents_probe if latents_threshold is None else latents_threshold
    vocabulary = segmenter.vocabulary
    device = module_device(generator)
    fractions = iqr_top_fractions(num_levels) if iqr else torch.tensor(quantile)
    size = resolution

    # Pass 1: per-unit quantiles (thresholds) on the threshold set.
    quantiles: dict[str, UnitQuantile] = {}
    description = "dissect pass 1 (thresholds)"
    for indices, images, features in _generate(
        generator, names, threshold_set, batch_size, description, progress, distributed
    ):
        size = size or min(int(images.shape[-1]), MAX_DEFAULT_RESOLUTION)
        for name in names:
            if name not in quantiles:
                num_units = features[name].shape[1]
                quantiles[name] = UnitQuantile(
                    num_units,
                    fractions,
                    size,
                    pixels_per_image=_pixels_per_image(int(threshold_set.shape[0]), size),
                    sync_on_compute=distributed,
                    dist_sync_fn=all_reduce_sum,
                )
                quantiles[name].to(device)
            quantiles[name].update(features[name], indices)  # global ids: DDP-invariant
    assert size is not None
    thresholds = {n: q.compute().view(q.num_units, -1) for n, q in quantiles.items()}  # [U, B]

    # Pass 2: in iqr mode the held-out set's counts at all B levels pick each unit's level (the
    # IQR search); then the probe set is counted at that one threshold per unit, where IoU is
    # reported. In quantile mode the probe set is counted at the top-q quantile.
    def counter(unit_thresholds: Tensor, levels: bool, sample: int | None) -> UnitConceptIoU:
        return UnitConceptIoU(
            vocabulary, unit_thresholds, iou_mode=iou_mode,
            top_fractions=fractions if levels else None, min_iou=min_iou,
            min_iqr=min_iqr if iqr else None, pixels_per_image=sample,
            sync_on_compute=distributed, dist_sync_fn=all_reduce_sum,
        ).to(device)  # fmt: skip

    def count(label: str, latents: Tensor, metrics: dict[str, UnitConceptIoU]) -> None:
        description = f"dissect pass 2 ({label} counts)"
        for indices, images, features in _generate(
            generator, names, latents, batch_size, description, progress, distributed
        ):
            segmentation = segmenter.segment(images, size)
            for name in names:
                metrics[name].update(features[name], segmentation, indices)  # global ids
                if label == "probe":
                    tops[name].update(features[name], indices)

    tops = {
        n: TopActivations(q.num_units, top_k, sync_on_compute=distributed).to(device)
        for n, q in quantiles.items()
    }
    chosen = {name: thresholds[name][:, 0] for name in names}  # [U]
    if iqr:
        assert latents_threshold is not None
        sample = None if exact else _pixels_per_image(int(latents_threshold.shape[0]), size)
        held_out = {name: counter(thresholds[name], True, sample) for name in names}
        count("held-out", latents_threshold, held_out)
        for name in names:
            level = held_out[name].compute().level.to(thresholds[name].device)  # [U]
            chosen[name] = thresholds[name].gather(1, level[:, None])[:, 0]  # [U]
    probe = {name: counter(chosen[name], False, None) for name in names}
    count("probe", latents_probe, probe)

    layer_results: dict[str, LayerDissection] = {}
    for name in names:
        result = probe[name].compute()
        top_indices = tops[name].compute().indices
        units = _records(result, top_indices, vocabulary)
        layer_results[name] = LayerDissection(name, units, result.summary, result.iou_table.cpu())
    settings = DissectionSettings(
        threshold_mode=threshold_mode,
        quantile=quantile,
        iou_mode=iou_mode,
        resolution=size,
        num_probe=int(latents_probe.shape[0]),
        num_threshold=int(threshold_set.shape[0]),
        min_iou=min_iou,
        min_iqr=min_iqr if iqr else None,
        num_levels=num_levels if iqr else 1,
    )
    return DissectionResult(layer_results, settings, vocabulary.names, vocabulary.categories)
