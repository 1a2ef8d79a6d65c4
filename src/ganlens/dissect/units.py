"""``dissect.py units`` as a function: dissect layers, draw units, write the JSON and the report.

Stages, each cached per layer (:mod:`ganlens.dissect.cache`) under a key of the generator's
weights fingerprint, the segmenter's identity, the layer, the dissection settings, a hash of
the latents and the ganlens version:

1. dissect the layers that have no cached result (one :func:`~ganlens.dissect.dissect` call
   for all of them, so each image is generated and segmented once per pass);
2. draw each unit's top samples with its region highlighted
   (:func:`~ganlens.dissect.thumbnails.top_sample_overlays`) into ``images/<layer>-<key>/``;
3. write ``dissect.json`` (with any ACE results under ``ace/`` folded in) and the HTML report.

Every output is written under a temporary name and renamed, so an interrupted run leaves no
partial file under a final name, and a re-run reuses the stages that had finished. Image folders
carry their key in their name, so an older ``dissect.json`` never points at newer pictures;
folders the latest document does not use are deleted once it is written.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import logging
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from PIL import Image
from torch import Tensor, nn

from ganlens import __version__
from ganlens.dissect.cache import LayerCache, cache_key, replace_directory
from ganlens.dissect.result import DissectionResult, DissectionSettings
from ganlens.dissect.runner import LabelSegmenter, dissect
from ganlens.dissect.thumbnails import top_sample_overlays
from ganlens.models.sources import weights_fingerprint
from ganlens.report.dissect_json import build_dissect_json, fold_ace, write_dissect_json
from ganlens.report.html import write_report

__all__ = ["UnitsSettings", "make_latents", "run_units", "tensor_fingerprint"]

_log = logging.getLogger(__name__)
_STAMP = "stamp.json"


@dataclass(frozen=True)
class UnitsSettings:
    """Settings of ``dissect.py units`` (see :func:`ganlens.dissect.dissect` for their meaning).

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

    Example:
        >>> UnitsSettings(threshold_mode="quantile").cache_settings()["threshold_mode"]
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
    batch_size: int = 32

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


def tensor_fingerprint(*tensors: Tensor | None) -> str:
    """SHA-256 of tensors' dtypes, shapes and values (``None`` counts as a marker).

    Example:
        >>> tensor_fingerprint(torch.zeros(2)) == tensor_fingerprint(torch.zeros(3))
        False
    """
    digest = hashlib.sha256()
    for tensor in tensors:
        if tensor is None:
            digest.update(b"none|")
            continue
        value = tensor.detach().cpu().contiguous()
        digest.update(f"{value.dtype}|{tuple(value.shape)}|".encode())
        digest.update(value.view(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def _merge(
    results: Mapping[str, tuple[Any, DissectionSettings]], layers: Sequence[str], names: Any
) -> DissectionResult:
    settings = results[layers[0]][1]
    return DissectionResult({n: results[n][0] for n in layers}, settings, tuple(names))


def _dissect_layers(
    generator: nn.Module,
    layers: Sequence[str],
    segmenter: LabelSegmenter,
    probe: Tensor,
    held_out: Tensor | None,
    settings: UnitsSettings,
    keys: Mapping[str, str],
    cache: LayerCache,
    progress: bool,
    force: bool,
) -> DissectionResult:
    found: dict[str, Any] = {}
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
        )  # fmt: skip
        for layer in missing:
            cache.save(layer, keys[layer], result[layer], result.settings)
            found[layer] = (result[layer], result.settings)
    return _merge(found, layers, segmenter.vocabulary.names)


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
    settings: UnitsSettings,
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
        staging = Path(tempfile.mkdtemp(prefix=f".{safe}.", dir=out / "images"))
        try:
            units = [u.unit for u in layer.units if u.top_samples]
            chunks = [units[i : i + 16] for i in range(0, len(units), 16)]
            tqdm = importlib.import_module("tqdm.auto").tqdm
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


def _prune_images(out: Path, images: Mapping[str, Mapping[int, str]]) -> None:
    """Delete image folders the document just written does not use (older settings)."""
    used = {Path(path).parent.name for paths in images.values() for path in paths.values()}
    for folder in (out / "images").iterdir():
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
    settings: UnitsSettings | None = None,
    model: Mapping[str, Any] | None = None,
    extra_settings: Mapping[str, Any] | None = None,
    segmenter_id: str = "",
    force: bool = False,
    progress: bool = True,
) -> dict[str, Any]:
    """Dissect ``layers`` and write ``dissect.json``, unit images and the HTML report to ``out``.

    Args:
        generator: The generator (eval mode, on its device).
        layers: Dotted layer names.
        segmenter: Gives the vocabulary and the label layers of generated images.
        out: Output folder (created); the cache lives in ``out/cache``.
        probe: ``[N, ...]`` probe latents (IoU and top samples are reported on these).
        held_out: ``[M, ...]`` held-out latents for the thresholds (needed in ``iqr`` mode).
        settings: :class:`UnitsSettings` (default: its defaults).
        model: ``source``, ``class`` and ``resolution`` of the generator for the document; its
            ``fingerprint`` is computed here.
        extra_settings: Further settings recorded in the document (seed, segmenter name, ...).
        segmenter_id: Identity of the segmenter for the cache key (e.g. its weights hash).
        force: Recompute every stage, ignoring the cache.
        progress: Show progress bars.

    Returns:
        The ``dissect.json`` document written.

    Example:
        >>> import tempfile
        >>> from ganlens.dissect.planted import PlantedSceneGenerator, SceneLabelSegmenter
        >>> g, out = PlantedSceneGenerator(["sky", "grass"], resolution=16), tempfile.mkdtemp()
        >>> doc = run_units(g, ["layer1"], SceneLabelSegmenter(range(8), resolution=16), out,
        ...                 probe=torch.arange(8.0)[:, None], progress=False,
        ...                 settings=UnitsSettings(threshold_mode="quantile", images_per_unit=2))
        >>> units = doc["layers"][0]["units"]
        >>> [u["concept"] for u in units[:2]], units[0]["image"]
        (['sky', 'grass'], 'images/layer1-.../unit_0000.png')
        >>> sorted(p.name for p in Path(out).iterdir())
        ['cache', 'dissect.html', 'dissect.json', 'images', 'layers.html']
    """
    settings = settings or UnitsSettings()
    if not layers:
        raise ValueError("layers must name at least one layer")
    if settings.threshold_mode == "iqr" and held_out is None:
        raise ValueError("threshold_mode 'iqr' needs held_out latents (a second latent set)")
    out = Path(out)
    (out / "images").mkdir(parents=True, exist_ok=True)
    fingerprint = weights_fingerprint(generator)
    identity = {
        "model": fingerprint,
        "segmenter": segmenter_id,
        "settings": settings.cache_settings(),
        "latents": tensor_fingerprint(probe, held_out),
        "version": __version__,
    }
    keys = {layer: cache_key(layer=layer, **identity) for layer in layers}
    cache = LayerCache(out / "cache")
    result = _dissect_layers(
        generator, layers, segmenter, probe, held_out, settings, keys, cache, progress, force
    )
    images = _draw_units(generator, result, probe, out, settings, keys, progress, force)
    document = build_dissect_json(
        result,
        categories=segmenter.vocabulary.categories,
        model={**(model or {"source": type(generator).__name__}), "fingerprint": fingerprint},
        extra_settings={"top_k": settings.top_k, "images_per_unit": settings.images_per_unit,
                        **(extra_settings or {})},
        images=images,
    )  # fmt: skip
    fold_ace(document, out)
    write_dissect_json(document, out / "dissect.json")
    write_report(out, document)
    _prune_images(out, images)
    _log.info(
        "wrote %s, %s and %s", out / "dissect.json", out / "dissect.html", out / "layers.html"
    )
    return document
