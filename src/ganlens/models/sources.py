"""Where a generator to dissect comes from: the shipped model, a checkpoint, a ``.pth`` or code.

The command-line tools (``dissect.py units``, ``dissect.py ace``) name a generator with one
string; :func:`load_generator` turns it into an ``nn.Module`` in eval mode, and
:func:`weights_fingerprint` identifies its weights for caches.
"""

from __future__ import annotations

import hashlib
import importlib
from pathlib import Path

import torch
from torch import nn

from ganlens.models.pretrained import load_scene_generator
from ganlens.models.weights import load_proggan_generator

__all__ = ["SHIPPED_SOURCES", "load_generator", "weights_fingerprint"]

SHIPPED_SOURCES = ("scene", "shipped")
"""Names of the shipped 32 px scene generator."""


def _from_checkpoint(path: Path) -> nn.Module:
    from ganlens.training import ProgressiveGAN  # training imports Lightning: load it only here

    module = ProgressiveGAN.load_from_checkpoint(path, map_location="cpu")
    generator: nn.Module = module.generator_ema
    return generator


def _from_code(spec: str) -> nn.Module:
    module_name, _, attribute = spec.partition(":")
    try:
        factory = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as error:
        raise ValueError(f"cannot import generator factory {spec!r}: {error}") from error
    generator = factory()
    if not isinstance(generator, nn.Module):
        raise ValueError(f"{spec!r} returned {type(generator).__name__}, not an nn.Module")
    return generator


def load_generator(source: str | None = None, device: str | torch.device = "cpu") -> nn.Module:
    """Load a generator named by ``source``, in eval mode on ``device``.

    Args:
        source: One of

            * ``None``, ``"scene"`` or ``"shipped"``: the shipped 32 px scene generator;
            * a ``.ckpt`` file: the EMA generator of a ``ProgressiveGAN`` Lightning checkpoint,
              at the growth stage the checkpoint reached;
            * a ``.pth`` / ``.pt`` file: a gandissect/Karras ProgGAN state dict
              (:func:`~ganlens.models.load_proggan_generator`);
            * ``"package.module:factory"``: a callable that takes no arguments and returns the
              generator (any ``nn.Module`` mapping latents to images).
        device: Where to put the generator.

    Returns:
        The generator, in eval mode.

    Raises:
        FileNotFoundError: If a file source does not exist.
        ValueError: If the source cannot be read or the factory does not give a module.

    Example:
        >>> load_generator("scene").resolution
        32
        >>> load_generator("torch.nn:Identity")
        Identity()
    """
    if source is None or source in SHIPPED_SOURCES:
        return load_scene_generator(device)
    path = Path(source)
    if path.suffix in (".ckpt", ".pth", ".pt"):
        if not path.is_file():
            raise FileNotFoundError(f"generator file {source!r} does not exist")
        generator = (
            _from_checkpoint(path) if path.suffix == ".ckpt" else load_proggan_generator(path)
        )
    elif ":" in source:
        generator = _from_code(source)
    else:
        raise ValueError(
            f"generator source {source!r} is not 'scene', a .ckpt/.pth/.pt file or "
            "'package.module:factory'"
        )
    return generator.to(device).eval()


def weights_fingerprint(module: nn.Module) -> str:
    """A SHA-256 hex digest of a module's state dict: names, dtypes, shapes and values.

    Example:
        >>> a, b = nn.Linear(2, 2), nn.Linear(2, 2)
        >>> _ = b.load_state_dict(a.state_dict())
        >>> weights_fingerprint(a) == weights_fingerprint(b)
        True
        >>> with torch.no_grad():
        ...     _ = b.bias.add_(1)
        >>> weights_fingerprint(a) == weights_fingerprint(b)
        False
    """
    digest = hashlib.sha256()
    for name, tensor in module.state_dict().items():
        value = tensor.detach().cpu().contiguous()
        digest.update(f"{name}|{value.dtype}|{tuple(value.shape)}|".encode())
        digest.update(value.view(-1).view(torch.uint8).numpy().tobytes() if value.numel() else b"")
    return digest.hexdigest()
