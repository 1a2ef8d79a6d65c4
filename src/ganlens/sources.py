"""Generators and segmenters named by one string, for configs and command lines.

Every command names its generator and segmenter the same way (``--generator``, ``--segmenter``):
:func:`load_generator` accepts the shipped scene model, a Lightning ``.ckpt`` of ours, a
gandissect/Karras ``.pth``, a StyleGAN2/3 file (an NVlabs network pickle or a rosinality
checkpoint, told apart by content and loaded without running anything from the file) or
``package.module:factory``; :func:`load_segmenter` accepts the
shipped scene segmenter, a local SegFormer ADE20K folder or a factory. Factories are resolved
with :func:`pkgutil.resolve_name` and called without arguments; nothing else runs user code.
"""

from __future__ import annotations

import inspect
import pickle
import pkgutil
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ganlens.io import fingerprint

__all__ = [
    "GENERATOR_SOURCES",
    "SEGMENTER_SOURCES",
    "load_generator",
    "load_segmenter",
    "scene_framing",
    "weights_fingerprint",
]

GENERATOR_SOURCES = (
    "'scene' (the shipped 64 px scene ProgGAN; by name 'scene64', or 'scene32' for the 32 px "
    "one), a .ckpt of ours, a gandissect .pth/.pt, a "
    "StyleGAN2/3 .pkl (NVlabs) or .pt (rosinality), or 'package.module:factory'"
)
"""What :func:`load_generator` accepts, for help texts and error messages."""

SEGMENTER_SOURCES = "'scene', 'segformer:PATH' or 'package.module:factory'"
"""What :func:`load_segmenter` accepts, for help texts and error messages."""

_SHIPPED = ("scene", "shipped")
_FILES = (".ckpt", ".pth", ".pt", ".pkl")


def _factory(spec: str, what: str) -> Any:
    try:
        factory = pkgutil.resolve_name(spec)
    except (ImportError, AttributeError, ValueError) as error:
        raise ValueError(f"cannot import {what} factory {spec!r}: {error}") from error
    if not callable(factory):
        raise ValueError(f"{what} factory {spec!r} is a {type(factory).__name__}, not callable")
    try:
        inspect.signature(factory).bind()
    except TypeError:
        required = [
            name
            for name, p in inspect.signature(factory).parameters.items()
            if p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        ]
        raise ValueError(
            f"{what} factory {spec!r} takes required arguments ({', '.join(required)}); it is "
            "called without arguments: wrap it in a function that fills them in"
        ) from None
    except ValueError:  # no signature (some builtins): call it and see
        pass
    return factory()


def _unreadable(path: Path, kind: str, error: Exception) -> ValueError:
    """One line naming the file; torch's own (multi-line) advice stays in the chained cause."""
    return ValueError(
        f"generator file {str(path)!r} cannot be read as {kind} ({type(error).__name__}); it may "
        "be truncated or corrupt (--debug shows the loader's message)"
    )


def _from_file(path: Path, truncation: float) -> nn.Module:
    from ganlens.models import load_proggan_generator
    from ganlens.models.stylegan_files import load_stylegan_generator, stylegan_file_kind

    told = path.suffix in (".pt", ".pth") and stylegan_file_kind(path) is not None
    if path.suffix == ".pkl" or told:
        return load_stylegan_generator(path, truncation)
    if truncation != 1.0:
        raise ValueError(f"--truncation {truncation} applies to StyleGAN files only; "
                         f"{str(path)!r} is not one")  # fmt: skip
    if path.suffix != ".ckpt":
        try:
            return load_proggan_generator(path)
        except (
            RuntimeError,
            EOFError,
            OSError,
            KeyError,
            TypeError,
            pickle.UnpicklingError,
        ) as error:
            raise _unreadable(path, "a gandissect/Karras ProgGAN state dict", error) from error
    from ganlens.training import ProgressiveGAN  # training imports Lightning: load it only here

    try:
        module = ProgressiveGAN.load_from_checkpoint(path, map_location="cpu")
    except Exception as error:  # torch and Lightning raise many kinds on a damaged file
        raise _unreadable(path, "a ganlens ProgressiveGAN checkpoint", error) from error
    generator: nn.Module = module.generator_ema
    return generator


def load_generator(
    source: str | None = None, device: str | torch.device = "cpu", truncation: float = 1.0
) -> nn.Module:
    """Load a generator named by ``source``, in eval mode on ``device``.

    Args:
        source: One of

            * ``None``, ``"scene"`` or ``"shipped"``: the default shipped scene generator (the
              64 px ``"scene64"``), or one by name (``"scene32"``: the earlier 32 px one;
              :data:`~ganlens.models.pretrained.SHIPPED_GENERATORS`);
            * a ``.ckpt`` file: the EMA generator of a ``ProgressiveGAN`` Lightning checkpoint,
              at the growth stage the checkpoint reached;
            * a ``.pth`` / ``.pt`` file: a gandissect/Karras ProgGAN state dict
              (:func:`~ganlens.models.load_proggan_generator`), or a rosinality StyleGAN2
              checkpoint (``{"g_ema": ...}``, told by content);
            * a ``.pkl`` file: an NVlabs StyleGAN2-ADA / StyleGAN3 network pickle, read with an
              allow-list unpickler that runs nothing from the file
              (:func:`~ganlens.models.stylegan_files.load_stylegan_generator`);
            * ``"package.module:factory"``: a callable that takes no arguments and returns the
              generator (any ``nn.Module`` mapping latents to images).
        device: Where to put the generator.
        truncation: StyleGAN truncation psi towards the file's average w (1: none); other
            generators take only 1.

    Returns:
        The generator, in eval mode.

    Raises:
        FileNotFoundError: If a file source does not exist.
        ValueError: If the source cannot be read or the factory does not give a module.

    Example:
        >>> load_generator("scene").resolution, load_generator("scene32").resolution
        (64, 32)
        >>> load_generator("torch.nn:Identity")
        Identity()
    """
    from ganlens.models import load_scene_generator
    from ganlens.models.pretrained import SHIPPED_GENERATORS

    path = Path(source or "scene")
    if path.suffix not in _FILES and truncation != 1.0:
        raise ValueError(f"--truncation {truncation} applies to StyleGAN files only, not "
                         f"{source or 'scene'!r}")  # fmt: skip
    if source is None or source in _SHIPPED:
        return load_scene_generator(device)
    if source in SHIPPED_GENERATORS:
        return load_scene_generator(device, name=source)
    if path.suffix in _FILES:
        if not path.is_file():
            raise FileNotFoundError(f"generator file {source!r} does not exist")
        generator = _from_file(path, truncation)
    elif ":" in source:
        generator = _factory(source, "generator")
        if not isinstance(generator, nn.Module):
            raise ValueError(f"{source!r} returned {type(generator).__name__}, not an nn.Module")
    else:
        raise ValueError(f"generator source must be {GENERATOR_SOURCES}; got {source!r}")
    return generator.to(device).eval()


def scene_framing(source: str | None) -> str:
    """The scene-world framing a generator source was trained on, for its real images.

    Shipped generators by name (:data:`~ganlens.models.pretrained.SHIPPED_FRAMINGS`); a ``.ckpt``
    of ours from its data module's hyperparameters; anything else ``"default"``.

    Example:
        >>> scene_framing("scene"), scene_framing("scene32"), scene_framing("torch.nn:Identity")
        ('church', 'default', 'default')
    """
    from ganlens.models.pretrained import DEFAULT_SCENE_GENERATOR, SHIPPED_FRAMINGS

    if source is None or source in _SHIPPED:
        return SHIPPED_FRAMINGS[DEFAULT_SCENE_GENERATOR]
    if source in SHIPPED_FRAMINGS:
        return SHIPPED_FRAMINGS[source]
    path = Path(source)
    if path.suffix == ".ckpt" and path.is_file():
        checkpoint = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
        data = checkpoint.get("datamodule_hyper_parameters") or {}
        return str(data.get("framing", "default"))
    return "default"


def load_segmenter(source: str = "scene", device: str | torch.device = "cpu") -> Any:
    """Load the segmenter named by ``source`` on ``device``.

    Args:
        source: ``"scene"`` for the shipped scene-world segmenter; ``"segformer:PATH"`` for a
            SegFormer ADE20K model saved in a local folder (needs the ``ade20k`` extra); or
            ``"package.module:factory"``, a callable taking no arguments whose result is moved
            with ``.to(device)`` when it has that method. Dissection needs ``vocabulary`` and
            ``segment``; ACE also needs ``class_probability``
            (:class:`~ganlens.segment.Segmenter`).
        device: Where the segmenter computes.

    Raises:
        ValueError: If the source is unknown, cannot be imported or gives no segmenter.

    Example:
        >>> load_segmenter("scene").layer_names
        ('object', 'part', 'material')
        >>> load_segmenter("ganlens.ace.planted:PlantedConceptSegmenter").vocabulary.names
        ('-', 'tree')
    """
    if source in _SHIPPED:
        from ganlens.segment import load_scene_segmenter

        return load_scene_segmenter(device)
    kind, _, rest = source.partition(":")
    if kind == "segformer" and rest:
        from ganlens.segment.ade20k import SegformerSegmenter

        if not Path(rest).is_dir():
            raise ValueError(f"segmenter segformer:PATH needs a local model folder; got {rest!r}")
        return SegformerSegmenter.from_pretrained(rest, device=device)
    if not rest:
        raise ValueError(f"segmenter must be {SEGMENTER_SOURCES}; got {source!r}")
    segmenter = _factory(source, "segmenter")
    if not (hasattr(segmenter, "vocabulary") and callable(getattr(segmenter, "segment", None))):
        raise ValueError(f"{source!r} gave {type(segmenter).__name__}, without vocabulary/segment")
    if callable(getattr(segmenter, "to", None)):
        segmenter = segmenter.to(device)
    return segmenter


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
    return fingerprint(module.state_dict())
