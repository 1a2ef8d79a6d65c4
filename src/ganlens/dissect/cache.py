"""A per-layer cache of finished dissections, stored in the one ``dissect.json`` format.

``dissect.py units`` dissects several layers; each finished layer is stored as a one-layer
``dissect.json`` document (:meth:`~ganlens.dissect.result.DissectionResult.to_dict`) under a key
(:func:`ganlens.io.cache_key`) that hashes everything its result depends on (the generator's
weights fingerprint, the segmenter, the layer, the dissection settings, the latents and the
ganlens version), so a re-run with the same settings reuses it and a changed setting recomputes.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from ganlens.dissect.result import DissectionResult
from ganlens.io import atomic_write_text

__all__ = ["LayerCache"]


class LayerCache:
    """Finished layer dissections stored as ``<root>/<layer>-<key>.json`` (written atomically).

    Args:
        root: Cache folder (created on the first save).

    Example:
        >>> import tempfile, torch
        >>> from ganlens.dissect.result import DissectionSettings, LayerDissection, LayerSummary
        >>> from ganlens.dissect.result import UnitRecord
        >>> cache = LayerCache(tempfile.mkdtemp())
        >>> summary = LayerSummary(1, 1, 1, {"object": 1}, {"sky": 1})
        >>> unit = UnitRecord(0, "sky", 1, "object", 0.5, 0.2, 0.3, True, (2, 0))
        >>> layer = LayerDissection("layer1", (unit,), summary, torch.tensor([[0.0, 0.5]]))
        >>> settings = DissectionSettings("quantile", 0.01, "unrestricted", 8, 4, 4, 0.05, None, 1)
        >>> result = DissectionResult({"layer1": layer}, settings, ("-", "sky"), ("none", "object"))
        >>> cache.load("layer1", "k") is None
        True
        >>> _ = cache.save("layer1", "k", result)
        >>> cache.load("layer1", "k")["layer1"].units[0].top_samples
        (2, 0)
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def path(self, layer: str, key: str) -> Path:
        """Where the entry of ``layer`` under ``key`` lives."""
        safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in layer)
        return self.root / f"{safe}-{key[:24]}.json"

    def save(self, layer: str, key: str, result: DissectionResult) -> Path:
        """Store ``result[layer]`` (with the result's settings and vocabulary) under ``key``."""
        one = result.with_layers({layer: replace(result[layer], ace=())})
        document = {"key": key, "dissection": one.to_dict()}
        return atomic_write_text(self.path(layer, key), json.dumps(document))

    def load(self, layer: str, key: str) -> DissectionResult | None:
        """The stored one-layer dissection, or ``None`` when absent, stale or unreadable."""
        path = self.path(layer, key)
        if not path.is_file():
            return None
        try:
            document = json.loads(path.read_text())
            if document["key"] != key:
                return None
            result = DissectionResult.from_dict(document["dissection"])
            return result if list(result.layers) == [layer] else None
        except (OSError, KeyError, TypeError, ValueError):
            return None
