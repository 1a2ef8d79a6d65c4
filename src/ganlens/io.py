"""Crash-safe file writes, cache keys and content fingerprints (standard library and torch only).

Every file a command leaves is written under a temporary name in the same folder and renamed
into place (:func:`atomic_write_bytes`, :func:`replace_directory`), so an interrupted run leaves
either the old output or the new one, never half a file. Written files and folders get the
permissions the process's umask gives any new file (``tempfile`` would make them private), so a
report copied to a web server or a shared folder stays readable. Cache entries are named by
:func:`cache_key` of everything their content depends on, and tensors and weights are identified
by :func:`fingerprint`.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from torch import Tensor

__all__ = [
    "atomic_write_bytes",
    "atomic_write_text",
    "cache_key",
    "fingerprint",
    "make_staging_directory",
    "replace_directory",
]


def _umask() -> int:
    mask = os.umask(0)  # the only portable way to read it is to set it and put it back
    os.umask(mask)
    return mask


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename.

    Readers see the old file or the complete new one; an exception (or a kill) before the
    rename leaves the old file untouched and removes the temporary one where it can. The file
    gets mode ``0o666 & ~umask``, as ``open(path, "w")`` would give it.

    Example:
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
        os.fchmod(handle, 0o666 & ~_umask())
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
        >>> atomic_write_text(Path(tempfile.mkdtemp()) / "a.txt", "hi").read_text()
        'hi'
    """
    return atomic_write_bytes(path, text.encode("utf-8"))


def make_staging_directory(parent: str | Path, prefix: str) -> Path:
    """A new empty folder in ``parent`` to fill before :func:`replace_directory` moves it.

    Unlike ``tempfile.mkdtemp`` (mode 0700) it gets the umask's permissions.

    Example:
        >>> staging = make_staging_directory(tempfile.mkdtemp(), ".images.")
        >>> staging.is_dir(), staging.name.startswith(".images.")
        (True, True)
    """
    staging = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    staging.chmod(0o777 & ~_umask())
    return staging


def replace_directory(staging: str | Path, final: str | Path) -> Path:
    """Move a fully written ``staging`` folder to ``final``, replacing what was there.

    The old folder is first renamed aside and deleted only after the new one is in place, so
    ``final`` is missing at most between two renames and never holds a mix of old and new files.

    Example:
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


def fingerprint(tensors: Mapping[str, Tensor | None] | Iterable[Tensor | None]) -> str:
    """SHA-256 of tensors' names (for a mapping such as a state dict), dtypes, shapes and values.

    ``None`` counts as a marker, so ``(a, None)`` and ``(None, a)`` differ. Identifies a model's
    weights (``fingerprint(module.state_dict())``) or a set of latents for cache keys.

    Example:
        >>> import torch
        >>> fingerprint([torch.zeros(2)]) == fingerprint([torch.zeros(3)])
        False
        >>> a, b = torch.nn.Linear(2, 2), torch.nn.Linear(2, 2)
        >>> _ = b.load_state_dict(a.state_dict())
        >>> fingerprint(a.state_dict()) == fingerprint(b.state_dict())
        True
    """
    import torch  # lazily: this module is imported by light tools too

    items = tensors.items() if isinstance(tensors, Mapping) else ((None, t) for t in tensors)
    digest = hashlib.sha256()
    for name, tensor in items:
        if name is not None:
            digest.update(f"{name}|".encode())
        if tensor is None:
            digest.update(b"none|")
            continue
        value = tensor.detach().cpu().contiguous()
        digest.update(f"{value.dtype}|{tuple(value.shape)}|".encode())
        if value.numel():
            digest.update(value.view(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()
