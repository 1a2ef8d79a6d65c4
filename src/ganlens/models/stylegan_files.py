"""Load StyleGAN2 / StyleGAN3 generators from the files people have, running no code from them.

Two kinds of file are recognised by their content (:func:`stylegan_file_kind`):

* ``"nvlabs"``: network pickles of stylegan2-ada-pytorch (Karras et al., NeurIPS 2020,
  arXiv:2006.06676) and stylegan3 (Karras et al., NeurIPS 2021, arXiv:2106.12423), read by
  :func:`ganlens.models.stylegan_nvlabs.load_nvlabs_pickle` with a restricted unpickler;
* ``"rosinality"``: checkpoints of rosinality/stylegan2-pytorch (StyleGAN2, Karras et al., CVPR
  2020, arXiv:1912.04958), ``{g_ema, latent_avg[, g, d]}`` from its ``convert_weight.py`` or
  ``{g, d, g_ema, g_optim, d_optim, args, ada_aug_p}`` from its ``train.py``, read with
  ``torch.load(weights_only=True)`` (``argparse.Namespace`` is the one extra class allowed, for
  ``args``). Sizes come from the tensor shapes of ``g_ema``; the mapping's lr multiplier, which
  no tensor records, is rosinality's default 0.01.

:func:`load_stylegan_generator` picks the loader. Every problem is a one-line ``ValueError``
naming the file.
"""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Mapping
from typing import Any, Literal

import torch
from torch import Tensor, nn

from ganlens.models.stylegan2_rosinality import RosinalityGenerator
from ganlens.models.stylegan_nvlabs import load_exactly, load_nvlabs_pickle

__all__ = [
    "load_rosinality_checkpoint",
    "load_stylegan_generator",
    "rosinality_generator_from_state_dict",
    "stylegan_file_kind",
]

FileKind = Literal["nvlabs", "rosinality"]
_HEAD_BYTES = 1 << 20
_ZIP_MAGIC = b"PK\x03\x04"
_LEGACY_TORCH = b"\x80\x02\x8a\x0a" + (0x1950A86A20F9469CFC6C).to_bytes(10, "little")
_PERSISTENT_GLOBAL = b"_reconstruct_persistent_obj"
_TENSORFLOW_GLOBAL = b"dnnlib.tflib"
_ROSINALITY_KEYS = ("style.1.weight", "input.input", "conv1.conv.weight", "to_rgb1.conv.weight")
_STYLE = re.compile(r"style\.(\d+)\.weight")
_TO_RGB = re.compile(r"to_rgbs\.(\d+)\.conv\.weight")


def _torch_load(path: str | os.PathLike[str], lazy: bool) -> Any:
    """``torch.load(weights_only=True)`` with ``argparse.Namespace`` allowed (mmap if ``lazy``)."""
    with torch.serialization.safe_globals([argparse.Namespace]):
        return torch.load(path, map_location="cpu", weights_only=True, mmap=lazy)


def _rosinality_g_ema(loaded: object) -> Mapping[str, Tensor] | None:
    """The ``g_ema`` state dict of a rosinality checkpoint, or None for anything else."""
    g_ema = loaded.get("g_ema") if isinstance(loaded, Mapping) else None
    if isinstance(g_ema, Mapping) and all(
        isinstance(g_ema.get(k), Tensor) for k in _ROSINALITY_KEYS
    ):
        return g_ema
    return None


def stylegan_file_kind(path: str | os.PathLike[str]) -> FileKind | None:
    """Tell an NVlabs network pickle or a rosinality checkpoint by content, running no code.

    An NVlabs pickle is a plain pickle naming ``_reconstruct_persistent_obj`` in its first MiB; a
    rosinality checkpoint a torch file (read with ``weights_only=True``, memory-mapped when it is
    a zip) holding a ``g_ema`` state dict with ``style.1.weight``, ``input.input``, ``conv1`` and
    ``to_rgb1`` tensors. Anything else (a ProgGAN state dict, other pickles) is None.

    Args:
        path: The file.

    Returns:
        ``"nvlabs"``, ``"rosinality"`` or None.

    Raises:
        FileNotFoundError: If there is no such file.

    Example:
        >>> import tempfile
        >>> with tempfile.NamedTemporaryFile(suffix=".pth") as f:
        ...     torch.save({"layer1.conv.weight": torch.ones(1)}, f.name)
        ...     print(stylegan_file_kind(f.name))
        None
    """
    with open(path, "rb") as file:
        head = file.read(_HEAD_BYTES)
    is_zip = head.startswith(_ZIP_MAGIC)
    if is_zip or head.startswith(_LEGACY_TORCH):
        try:
            loaded = _torch_load(path, lazy=is_zip)
        except Exception:  # not a torch file we can read safely: not ours
            return None
        return "rosinality" if _rosinality_g_ema(loaded) is not None else None
    if head[:1] == b"\x80" and _PERSISTENT_GLOBAL in head:
        return "nvlabs"
    return None


def _indices(pattern: re.Pattern[str], keys: Mapping[str, Any]) -> list[int]:
    """Sorted integers captured by ``pattern`` over the keys."""
    return sorted(int(m.group(1)) for k in keys if (m := pattern.fullmatch(k)))


def rosinality_generator_from_state_dict(
    g_ema: Mapping[str, Tensor], latent_avg: Tensor | None = None, truncation: float = 1.0
) -> RosinalityGenerator:
    """Build a :class:`RosinalityGenerator` for a ``g_ema`` state dict and load it strictly.

    Args:
        g_ema: rosinality's ``Generator`` state dict; size, ``style_dim``, ``n_mlp`` and the
            channels per resolution are read from its shapes.
        latent_avg: The file's ``latent_avg``; None = estimated on first truncated use.
        truncation: Truncation psi of the returned generator.

    Returns:
        The generator in eval mode.

    Raises:
        ValueError: If the tensors do not form rosinality's layout.

    Example:
        >>> _ = torch.manual_seed(0)
        >>> g = RosinalityGenerator(8, style_dim=4, n_mlp=2, channels={4: 6, 8: 5})
        >>> rosinality_generator_from_state_dict(g.state_dict()).to_rgbs[0].conv.weight.shape
        torch.Size([1, 3, 5, 1, 1])
    """
    if any(not isinstance(g_ema.get(k), Tensor) for k in _ROSINALITY_KEYS):
        raise ValueError(f"not a rosinality g_ema: one of {', '.join(_ROSINALITY_KEYS)} is missing")
    n_mlp, rgbs = len(_indices(_STYLE, g_ema)), _indices(_TO_RGB, g_ema)
    if _indices(_STYLE, g_ema) != list(range(1, n_mlp + 1)) or rgbs != list(range(len(rgbs))):
        raise ValueError("the style.{i} or to_rgbs.{j} layers are not numbered 1..n and 0..m")
    channels = {4: int(g_ema["input.input"].shape[1])}
    for j in rgbs:
        channels[2 ** (j + 3)] = int(g_ema[f"to_rgbs.{j}.conv.weight"].shape[2])
    style_dim = int(g_ema["style.1.weight"].shape[1])
    generator = RosinalityGenerator(4 * 2 ** len(rgbs), style_dim, n_mlp, channels=channels)
    mismatch = load_exactly(generator, g_ema)
    if mismatch:
        raise ValueError(f"g_ema does not match rosinality's Generator layout: {mismatch}")
    if latent_avg is not None:
        if latent_avg.numel() != style_dim:
            raise ValueError(f"latent_avg has {latent_avg.numel()} values, expected {style_dim}")
        generator.set_latent_avg(latent_avg.to(torch.float32))
    generator.truncation = float(truncation)
    return generator.eval().requires_grad_(False)


def load_rosinality_checkpoint(
    path: str | os.PathLike[str], truncation: float = 1.0
) -> RosinalityGenerator:
    """Load the ``g_ema`` of a rosinality checkpoint (``convert_weight.py`` or ``train.py``).

    Args:
        path: The ``.pt`` file.
        truncation: Truncation psi of the returned generator.

    Returns:
        A :class:`RosinalityGenerator` in eval mode; ``latent_avg_source`` says whether the
        truncation centre came from the file or will be estimated.

    Raises:
        ValueError: One line naming the file and what is wrong.
        FileNotFoundError: If there is no such file.

    Example:
        >>> import tempfile
        >>> _ = torch.manual_seed(0)
        >>> g = RosinalityGenerator(8, style_dim=4, n_mlp=1, channels={4: 4, 8: 4})
        >>> with tempfile.NamedTemporaryFile(suffix=".pt") as f:
        ...     torch.save({"g_ema": g.state_dict(), "latent_avg": torch.zeros(4)}, f.name)
        ...     load_rosinality_checkpoint(f.name).latent_avg_source
        'file'
    """
    try:
        with open(path, "rb") as file:
            is_zip = file.read(len(_ZIP_MAGIC)) == _ZIP_MAGIC
        loaded = _torch_load(path, lazy=is_zip)
    except FileNotFoundError:
        raise
    except Exception as exc:  # torch's message is advice on unsafe loading; keep it chained
        raise ValueError(
            f"could not read {os.fspath(path)} as a rosinality checkpoint with weights_only=True "
            f"({type(exc).__name__})"
        ) from exc
    g_ema = _rosinality_g_ema(loaded)
    if g_ema is None:
        raise ValueError(f"{os.fspath(path)} holds no rosinality 'g_ema' generator state dict")
    latent_avg = loaded.get("latent_avg")
    try:
        return rosinality_generator_from_state_dict(
            g_ema, latent_avg if isinstance(latent_avg, Tensor) else None, truncation
        )
    except ValueError as exc:
        raise ValueError(f"cannot load the generator of {os.fspath(path)}: {exc}") from None


def load_stylegan_generator(path: str | os.PathLike[str], truncation: float = 1.0) -> nn.Module:
    """Load the StyleGAN2 / StyleGAN3 generator of an NVlabs pickle or a rosinality checkpoint.

    Every returned module has ``forward(z)`` (``z`` ``[N, latent_size]`` -> images
    ``[N, 3, R, R]`` float32 in about [-1, 1], deterministic), ``latent_size``, ``resolution``,
    ``truncation`` (psi), ``featuremap_layers`` and ``featuremap_margin(layer)``.

    Args:
        path: The file; its kind is told by content (:func:`stylegan_file_kind`).
        truncation: Truncation psi (1 = none).

    Returns:
        A :class:`~ganlens.models.stylegan2.StyleGAN2Generator`,
        :class:`~ganlens.models.stylegan3.StyleGAN3Generator` or
        :class:`~ganlens.models.stylegan2_rosinality.RosinalityGenerator` in eval mode.

    Raises:
        ValueError: One line naming the file and what is wrong (unknown kind, refused global,
            unsupported network).
        FileNotFoundError: If there is no such file.

    Example:
        >>> import tempfile
        >>> _ = torch.manual_seed(0)
        >>> g = RosinalityGenerator(8, style_dim=4, n_mlp=1, channels={4: 4, 8: 4})
        >>> with tempfile.NamedTemporaryFile(suffix=".pt") as f:
        ...     torch.save({"g_ema": g.state_dict(), "latent_avg": torch.zeros(4)}, f.name)
        ...     loaded = load_stylegan_generator(f.name, truncation=0.5)
        >>> loaded.resolution, loaded.latent_size, loaded.truncation
        (8, 4, 0.5)
    """
    kind = stylegan_file_kind(path)
    if kind == "nvlabs":
        return load_nvlabs_pickle(path, truncation)
    if kind == "rosinality":
        return load_rosinality_checkpoint(path, truncation)
    with open(path, "rb") as file:
        tensorflow = _TENSORFLOW_GLOBAL in file.read(_HEAD_BYTES)
    hint = (
        " (it looks like a TensorFlow StyleGAN pickle: NVlabs' legacy.py converts those)"
        if tensorflow
        else ""
    )
    raise ValueError(
        f"{os.fspath(path)} is neither an NVlabs StyleGAN network pickle nor a rosinality "
        f"StyleGAN2 checkpoint{hint}"
    )
