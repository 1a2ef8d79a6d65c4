"""The stages of ``dissect.py units``: dissect layers with a cache, and draw each unit.

Stages, each cached per layer (:mod:`ganlens.dissect.cache`) under a key of the generator's
weights fingerprint, the segmenter's identity, the layer, the dissection settings, a hash of
the latents and the ganlens version:

1. dissect the layers that have no cached result (one :func:`~ganlens.dissect.dissect` call
   for all of them, so each image is generated and segmented once per pass);
2. draw each unit's top samples with its region highlighted
   (:func:`~ganlens.dissect.thumbnails.top_sample_overlays`) into ``images/<layer>-<key>/``.

:func:`run_units` returns the :class:`~ganlens.dissect.result.DissectionResult` with the
pictures' paths; the ``units`` command writes it as ``dissect.json`` and the HTML report, then
calls :func:`prune_unit_images`. Every output is written under a temporary name and renamed,
so an interrupted run leaves no partial file under a final name, and a re-run reuses the stages
that had finished. Image folders carry their key in their name, so an older ``dissect.json``
never points at newer pictures.
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import torch
from PIL import Image
from torch import Tensor, nn
from tqdm.auto import tqdm

from ganlens import __version__
from ganlens.dissect.cache import LayerCache
from ganlens.dissect.result import DissectionResult
from ganlens.dissect.runner import LabelSegmenter, dissect
from ganlens.dissect.thumbnails import top_sample_overlays
from ganlens.io import cache_key, fingerprint, make_staging_directory, replace_directory

__all__ = ["DissectionOptions", "make_latents", "prune_unit_images", "run_units"]

_log = logging.getLogger(__name__)
_STAMP = "stamp.json"


@dataclass(frozen=True)
class DissectionOptions:
    """How ``dissect.py units`` dissects (see :func:`ganlens.dissect.dissect` for the meaning).

    Attributes:
        threshold_mode: ``"iqr"`` (held-out set, GAN Dissection default) or ``"quantile"``.
        quantile: Top fraction q of the quantile policy.
        iou_mode: ``"unrestricted"`` or ``"category"``.
        resolution: Segmentation side S (None: image side capped at 128).
        min_iou: IoU cut-off for interpretable units.
        min_iqr: IQR cut-off (iqr mode).
        num_levels: IQR search levels B.
        top_k: Top samples recorded per unit.
        images_per_unit: Pictures drawn per unit (0: none).
        batch_size: Samples per forward pass (not part of the cache key).
        exact: Count every held-out pixel in the IQR search instead of a sample (part of the
            cache key, so a sampled and an exhaustive dissection are never mixed).

    Example:
        >>> DissectionOptions(threshold_mode="quantile").cache_settings()["threshold_mode"]
        'quantile'
    """

    threshold_mode: str = "iqr"
    quantile: float = 0.01
    iou_mode: str = "unrestricted"
    resolution: int | None = None
    min_iou: float = 0.05
    min_iqr: float = 0.01
    num_levels: int = 100
    top_k: int = 10
    images_per_unit: int = 4
    batch_size: int = 64
    exact: bool = False

    def cache_settings(self) -> dict[str, Any]:
        """The settings a layer's dissection depends on (for its cache key)."""
        values = asdict(self)
        del values["images_per_unit"], values["batch_size"]
        return values


def make_latents(
    latent_shape: int | Sequence[int], samples: int, seed: int, held_out: bool
) -> tuple[Tensor, Tensor | None]:
    """Seeded Gaussian latents: ``(probe [N, ...], held-out [N, ...] or None)``.

    The same draw as ``python -m ganlens.dissect``: ``2N`` normal latents, the first half the
    probe set and the second half the held-out set.

    Example:
        >>> probe, held = make_latents(4, samples=3, seed=0, held_out=True)
        >>> probe.shape, held.shape, torch.equal(probe, make_latents(4, 3, 0, False)[0])
        (torch.Size([3, 4]), torch.Size([3, 4]), True)
    """
    shape = (latent_shape,) if isinstance(latent_shape, int) else tuple(latent_shape)
    z = torch.randn(2 * samples, *shape, generator=torch.Generator().manual_seed(seed))
    return z[:samples], (z[samples:] if held_out else None)


def _writes(distributed: bool) -> bool:
    """Whether this process writes: always alone, rank 0 of a distributed run."""
    return not distributed or torch.distributed.get_rank() == 0


def _dissect_layers(
    generator: nn.Module,
    layers: Sequence[str],
    segmenter: LabelSegmenter,
    probe: Tensor,
    held_out: Tensor | None,
    settings: DissectionOptions,
    keys: Mapping[str, str],
    cache: LayerCache,
    progress: bool,
    force: bool,
    distributed: bool,
) -> DissectionResult:
    found: dict[str, DissectionResult] = {}
    for layer in layers:
        entry = None if force else cache.load(layer, keys[layer])
        if entry is not None:
            _log.info("%s: reused cached dissection (%s)", layer, cache.path(layer, keys[layer]))
            found[layer] = entry
    missing = [layer for layer in layers if layer not in found]
    if missing:
        _log.info("dissecting %s on %d probe samples", ", ".join(missing), probe.shape[0])
        result = dissect(
            generator, missing, segmenter, probe, held_out,
            batch_size=settings.batch_size, threshold_mode=settings.threshold_mode,
            quantile=settings.quantile, iou_mode=settings.iou_mode,
            resolution=settings.resolution, min_iou=settings.min_iou, min_iqr=settings.min_iqr,
            num_levels=settings.num_levels, top_k=settings.top_k, progress=progress,
            exact=settings.exact, distributed=distributed,
        )  # fmt: skip
        for layer in missing:
            if _writes(distributed):
                cache.save(layer, keys[layer], result)
            found[layer] = result
    return found[layers[0]].with_layers({name: found[name][name] for name in layers})


def _strip(pictures: Tensor, gap: int = 2) -> Tensor:
    """``uint8 [n, 3, D, D]`` pictures side by side on white, ``[3, D, n * (D + gap) - gap]``."""
    n, _, size, _ = pictures.shape
    strip = torch.full((3, size, n * (size + gap) - gap), 255, dtype=torch.uint8)
    for i in range(n):
        strip[:, :, i * (size + gap) : i * (size + gap) + size] = pictures[i]
    return strip


def _draw_units(
    generator: nn.Module,
    result: DissectionResult,
    probe: Tensor,
    out: Path,
    settings: DissectionOptions,
    keys: Mapping[str, str],
    progress: bool,
    force: bool,
) -> dict[str, dict[int, str]]:
    images: dict[str, dict[int, str]] = {}
    count = settings.images_per_unit
    if count < 1:
        return images
    for name, layer in result.layers.items():
        key = cache_key(layer=keys[name], images_per_unit=count)
        safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in name) + f"-{key[:10]}"
        folder = out / "images" / safe
        paths = {u.unit: f"images/{safe}/unit_{u.unit:04d}.png" for u in layer.units}
        images[name] = {u: p for u, p in paths.items() if layer.units[u].top_samples}
        stamp = folder / _STAMP
        if not force and stamp.is_file() and json.loads(stamp.read_text()).get("key") == key:
            _log.info("%s: reused unit images (%s)", name, folder)
            continue
        staging = make_staging_directory(out / "images", f".{safe}.")
        try:
            units = [u.unit for u in layer.units if u.top_samples]
            chunks = [units[i : i + 16] for i in range(0, len(units), 16)]
            bar = tqdm(chunks, desc=f"{name} unit images", disable=not progress, leave=False)
            for chunk in bar:
                pictures = top_sample_overlays(
                    generator, layer, probe, chunk, count, batch_size=settings.batch_size
                )
                for unit, shown in pictures.items():
                    array = _strip(shown).permute(1, 2, 0).contiguous().numpy()
                    Image.fromarray(array).save(staging / Path(paths[unit]).name, format="PNG")
            (staging / _STAMP).write_text(json.dumps({"key": key, "layer": name}))
            replace_directory(staging, folder)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        _log.info("%s: drew %d units into %s", name, len(units), folder)
    return images


def prune_unit_images(out: str | Path, result: DissectionResult) -> None:
    """Delete image folders under ``out/images`` that ``result`` does not use (older settings).

    Example:
        >>> import tempfile
        >>> from ganlens.dissect.result import DissectionSettings
        >>> out = Path(tempfile.mkdtemp()); (out / "images" / "old").mkdir(parents=True)
        >>> s = DissectionSettings("quantile", 0.01, "unrestricted", 8, 4, 4, 0.05, None, 1)
        >>> prune_unit_images(out, DissectionResult({}, s, ("-",)))
        >>> list((out / "images").iterdir())
        []
    """
    used = {
        Path(unit.image).parent.name
        for layer in result.layers.values()
        for unit in layer.units
        if unit.image
    }
    for folder in (Path(out) / "images").iterdir():
        if folder.is_dir() and folder.name not in used:  # incl. staging left by a killed run
            shutil.rmtree(folder, ignore_errors=True)


def run_units(
    generator: nn.Module,
    layers: Sequence[str],
    segmenter: LabelSegmenter,
    out: str | Path,
    *,
    probe: Tensor,
    held_out: Tensor | None = None,
    options: DissectionOptions | None = None,
    model: Mapping[str, Any] | None = None,
    extra_settings: Mapping[str, Any] | None = None,
    segmenter_id: str = "",
    force: bool = False,
    progress: bool = True,
    distributed: bool = False,
) -> DissectionResult:
    """Dissect ``layers`` (cached under ``out/cache``) and draw their units into ``out/images``.

    Args:
        generator: The generator (eval mode, on its device).
        layers: Dotted layer names.
        segmenter: Gives the vocabulary and the label layers of generated images.
        out: Output folder (created).
        probe: ``[N, ...]`` probe latents (IoU and top samples are reported on these).
        held_out: ``[M, ...]`` held-out latents for the thresholds (needed in ``iqr`` mode).
        options: :class:`DissectionOptions` (default: its defaults).
        model: ``source``, ``class`` and ``resolution`` of the generator for the record; its
            ``fingerprint`` is computed here.
        extra_settings: Further settings recorded (seed, segmenter name, ...).
        segmenter_id: Identity of the segmenter for the cache key (e.g. its weights hash).
        force: Recompute every stage, ignoring the cache.
        progress: Show progress bars.
        distributed: Split the dissection over the processes of the initialised
            ``torch.distributed`` group (every process must call this); only rank 0 writes
            the cache and draws the units, the others return the dissection without images.

    Returns:
        The dissection, with each drawn unit's ``image`` path relative to ``out``.

    Example:
        >>> import tempfile
        >>> from ganlens.dissect.planted import PlantedSceneGenerator, SceneLabelSegmenter
        >>> g, out = PlantedSceneGenerator(["sky", "grass"], resolution=16), tempfile.mkdtemp()
        >>> result = run_units(g, ["layer1"], SceneLabelSegmenter(range(8), resolution=16), out,
        ...                    probe=torch.arange(8.0)[:, None], progress=False,
        ...                    options=DissectionOptions(threshold_mode="quantile",
        ...                                              images_per_unit=2))
        >>> units = result["layer1"].units
        >>> [u.concept for u in units[:2]], units[0].image
        (['sky', 'grass'], 'images/layer1-.../unit_0000.png')
        >>> sorted(p.name for p in Path(out).iterdir())
        ['cache', 'images']
    """
    options = options or DissectionOptions()
    if not layers:
        raise ValueError("layers must name at least one layer")
    if options.threshold_mode == "iqr" and held_out is None:
        raise ValueError("threshold_mode 'iqr' needs held_out latents (a second latent set)")
    out = Path(out)
    (out / "images").mkdir(parents=True, exist_ok=True)
    weights = fingerprint(generator.state_dict())
    identity = {
        "model": weights,
        "truncation": getattr(generator, "truncation", None),  # not in the weights, but the images
        "segmenter": segmenter_id,
        "settings": options.cache_settings(),
        "latents": fingerprint([probe, held_out]),
        "version": __version__,
    }
    keys = {layer: cache_key(layer=layer, **identity) for layer in layers}
    cache = LayerCache(out / "cache")
    result = _dissect_layers(generator, layers, segmenter, probe, held_out, options, keys, cache,
                             progress, force, distributed)  # fmt: skip
    if not _writes(distributed):
        return result
    images = _draw_units(generator, result, probe, out, options, keys, progress, force)
    drawn = {
        name: replace(layer, units=tuple(
            replace(u, image=images.get(name, {}).get(u.unit)) for u in layer.units
        ))
        for name, layer in result.layers.items()
    }  # fmt: skip
    return replace(
        result.with_layers(drawn),
        model={**(model or {"source": type(generator).__name__}), "fingerprint": weights},
        extra_settings={"top_k": options.top_k, "images_per_unit": options.images_per_unit,
                        **(extra_settings or {})},
    )  # fmt: skip
