"""Crash-safe outputs and a per-layer cache of finished dissection stages.

``dissect.py units`` runs in stages (dissect each layer, render each layer's unit images, write
``dissect.json`` and the HTML report). Every file it leaves is written under a temporary name in
the same folder and renamed into place (:func:`atomic_write_bytes`, :func:`replace_directory`),
so an interrupted run leaves either the old output or the new one, never half a file. Finished
stages are stored under a key (:func:`cache_key`) that hashes everything their result depends on
(the generator's weights fingerprint, the layer, the dissection settings and the ganlens
version), so a re-run with the same settings reuses them and a changed setting recomputes.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch

from ganlens.dissect.result import DissectionSettings, LayerDissection, LayerSummary, UnitRecord

__all__ = [
    "LayerCache",
    "atomic_write_bytes",
    "atomic_write_text",
    "cache_key",
    "replace_directory",
]


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename.

    Readers see the old file or the complete new one; an exception (or a kill) before the
    rename leaves the old file untouched and removes the temporary one where it can.

    Example:
        >>> import tempfile
        >>> folder = Path(tempfile.mkdtemp())
        >>> atomic_write_bytes(folder / "a.bin", b"abc").read_bytes()
        b'abc'
        >>> sorted(p.name for p in folder.iterdir())  # no temporary file left behind
        ['a.bin']
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def atomic_write_text(path: str | Path, text: str) -> Path:
    """:func:`atomic_write_bytes` for UTF-8 text.

    Example:
        >>> import tempfile
        >>> atomic_write_text(Path(tempfile.mkdtemp()) / "a.txt", "hi").read_text()
        'hi'
    """
    return atomic_write_bytes(path, text.encode("utf-8"))


def replace_directory(staging: str | Path, final: str | Path) -> Path:
    """Move a fully written ``staging`` folder to ``final``, replacing what was there.

    The old folder is first renamed aside and deleted only after the new one is in place, so
    ``final`` is missing at most between two renames and never holds a mix of old and new files.

    Example:
        >>> import tempfile
        >>> root = Path(tempfile.mkdtemp())
        >>> (root / "new").mkdir(); _ = (root / "new" / "x.png").write_bytes(b"x")
        >>> sorted(p.name for p in replace_directory(root / "new", root / "images").iterdir())
        ['x.png']
    """
    staging, final = Path(staging), Path(final)
    retired = final.with_name(f".{final.name}.old")
    shutil.rmtree(retired, ignore_errors=True)
    if final.exists():
        os.replace(final, retired)
    os.replace(staging, final)
    shutil.rmtree(retired, ignore_errors=True)
    return final


def cache_key(**parts: Any) -> str:
    """A SHA-256 hex digest of JSON-serialisable ``parts`` (key order does not matter).

    Example:
        >>> cache_key(layer="layer4", seed=0) == cache_key(seed=0, layer="layer4")
        True
        >>> cache_key(layer="layer4", seed=0) == cache_key(layer="layer4", seed=1)
        False
    """
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class LayerCache:
    """Finished layer dissections stored as ``<root>/<layer>-<key>.pt`` (written atomically).

    Args:
        root: Cache folder (created on the first save).

    Example:
        >>> import tempfile
        >>> cache = LayerCache(tempfile.mkdtemp())
        >>> summary = LayerSummary(1, 1, 1, {"object": 1}, {"sky": 1})
        >>> unit = UnitRecord(0, "sky", 1, "object", 0.5, 0.2, 0.3, True, (2, 0))
        >>> layer = LayerDissection("layer1", (unit,), summary, torch.tensor([[0.0, 0.5]]))
        >>> settings = DissectionSettings("quantile", 0.01, "unrestricted", 8, 4, 4, 0.05, None, 1)
        >>> cache.load("layer1", "k") is None
        True
        >>> _ = cache.save("layer1", "k", layer, settings)
        >>> cache.load("layer1", "k")[0].units[0].top_samples
        (2, 0)
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def path(self, layer: str, key: str) -> Path:
        """Where the entry of ``layer`` under ``key`` lives."""
        safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in layer)
        return self.root / f"{safe}-{key[:24]}.pt"

    def save(
        self, layer: str, key: str, dissection: LayerDissection, settings: DissectionSettings
    ) -> Path:
        """Store one layer's dissection and the settings it ran with."""
        record = {
            "key": key,
            "layer": dissection.layer,
            "units": [{**asdict(u), "top_samples": list(u.top_samples)} for u in dissection.units],
            "summary": asdict(dissection.summary),
            "iou_table": dissection.iou_table.detach().cpu().float(),
            "settings": asdict(settings),
        }
        buffer = io.BytesIO()
        torch.save(record, buffer)
        return atomic_write_bytes(self.path(layer, key), buffer.getvalue())

    def load(self, layer: str, key: str) -> tuple[LayerDissection, DissectionSettings] | None:
        """The stored dissection and settings, or ``None`` when absent or unreadable."""
        path = self.path(layer, key)
        if not path.is_file():
            return None
        try:
            record = torch.load(path, map_location="cpu", weights_only=True)
            if record["key"] != key:
                return None
            units = tuple(
                UnitRecord(**{**u, "top_samples": tuple(u["top_samples"])}) for u in record["units"]
            )
            layer_result = LayerDissection(
                record["layer"], units, LayerSummary(**record["summary"]), record["iou_table"]
            )
            return layer_result, DissectionSettings(**record["settings"])
        except (OSError, RuntimeError, KeyError, TypeError, EOFError, ValueError):
            return None
