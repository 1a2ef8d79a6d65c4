"""Load Progressive GAN generators (Karras et al., ICLR 2018) from gandissect/Karras ``.pth`` files.

gandissect (Bau et al., ICLR 2019) distributes ProgGAN generators converted from Karras' releases as
PyTorch state dicts with the keys ``layerN.conv.weight`` (``[C_out, C_in, k, k]``, stored N(0, 1)
for the equalised learning rate), ``layerN.wscale.b`` (``[C_out]``) for N = 1 .. 2*log2(R)-2, and
``output_RxR.conv.weight`` / ``output_RxR.wscale.b`` for the final to-RGB block (ganlens' own
generators also hold one per lower resolution, for growing; those are dropped). Older files name
the trunk ``features.0 ..`` (``features.0`` is ``layer1``) and the to-RGB block ``output``; some
wrap the dict as ``{"state_dict": ...}``. Every size (latent, channels per resolution, resolution,
image channels) is inferred from the tensor shapes.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor

from ganlens.models.architecture import MAX_RESOLUTION, MIN_RESOLUTION
from ganlens.models.generator import ProgressiveGenerator

__all__ = ["load_proggan_generator", "normalize_proggan_state_dict"]

_SUFFIXES = ("conv.weight", "wscale.b")
_TRUNK = re.compile(r"layer([1-9]\d*)\.(conv\.weight|wscale\.b)")
_OUTPUT = re.compile(r"output_([1-9]\d*)x\1\.(conv\.weight|wscale\.b)")
_OLD_TRUNK = re.compile(r"features\.(0|[1-9]\d*)\.(conv\.weight|wscale\.b)")
_OLD_OUTPUT = re.compile(r"output\.(conv\.weight|wscale\.b)")


def _as_state_dict(source: str | os.PathLike[str] | Mapping[str, Any]) -> Mapping[str, Any]:
    """Read ``source`` (a path or a mapping) and unwrap ``{"state_dict": ...}``."""
    if isinstance(source, (str, os.PathLike)):
        try:
            loaded = torch.load(source, map_location="cpu", weights_only=True)
        except FileNotFoundError:
            raise
        except Exception as exc:  # a corrupt, truncated or non-tensor pickle
            # torch's message is several lines of advice to unpickle untrusted code: keep it in
            # the chained cause only.
            raise ValueError(
                f"could not read a ProgGAN state dict from {source!s}: the file is truncated, "
                f"corrupt or not a torch state dict ({type(exc).__name__})"
            ) from exc
    else:
        loaded = source
    if isinstance(loaded, Mapping) and isinstance(loaded.get("state_dict"), Mapping):
        loaded = loaded["state_dict"]
    if not isinstance(loaded, Mapping):
        raise ValueError(
            f"expected a ProgGAN state dict (a mapping of names to tensors), got {type(loaded)}"
        )
    return loaded


def normalize_proggan_state_dict(
    source: str | os.PathLike[str] | Mapping[str, Any],
) -> dict[str, Tensor]:
    """Return a ProgGAN generator state dict with current gandissect names, checked for gaps.

    Accepts ``layerN.*`` / ``output_RxR.*`` names or the older ``features.N.*`` / ``output.*``
    names, optionally wrapped as ``{"state_dict": ...}``.

    Args:
        source: A path to a ``.pth`` file or an already loaded state dict.

    Returns:
        The tensors keyed ``layer1.conv.weight, layer1.wscale.b, ..., output_RxR.wscale.b``.

    Raises:
        ValueError: If the file cannot be read, values are not tensors, or keys are unexpected or
            missing (numbering gaps, an odd number of trunk layers, a to-RGB block of the wrong
            resolution, an unsupported resolution); the message names the keys.

    Example:
        >>> old = {"features.0.conv.weight": torch.zeros(8, 4, 4, 4)}
        >>> normalize_proggan_state_dict(old)
        Traceback (most recent call last):
        ...
        ValueError: ... missing keys: ['layer1.wscale.b', ...
    """
    state = _as_state_dict(source)
    not_tensors = sorted(str(k) for k, v in state.items() if not isinstance(v, Tensor))
    if not_tensors:
        raise ValueError(f"ProgGAN state dict values must be tensors; not tensors: {not_tensors}")
    trunk: dict[str, Tensor] = {}
    outputs: dict[tuple[int | None, str], Tensor] = {}
    unexpected: list[str] = []
    styles: set[str] = set()
    for key, value in state.items():
        key = str(key)
        if match := _TRUNK.fullmatch(key):
            trunk[key] = value
            styles.add("layerN")
        elif match := _OLD_TRUNK.fullmatch(key):
            trunk[f"layer{int(match[1]) + 1}.{match[2]}"] = value
            styles.add("features.N")
        elif match := _OUTPUT.fullmatch(key):
            outputs[(int(match[1]), match[2])] = value
        elif match := _OLD_OUTPUT.fullmatch(key):
            outputs[(None, match[1])] = value
        else:
            unexpected.append(key)
    if len(styles) > 1:
        raise ValueError("state dict mixes 'layerN.*' and old 'features.N.*' trunk names")
    if not trunk:
        raise ValueError(
            "no ProgGAN trunk layers found: expected keys 'layer1.conv.weight', "
            "'layer1.wscale.b', ... (or the old 'features.0.conv.weight', ...); "
            f"unexpected keys: {sorted(unexpected)}"
        )
    n_layers = max(_index(key) for key in trunk)
    odd = ""
    if n_layers % 2:  # blocks come in pairs per resolution: report the next layer as missing
        odd = f"found an odd number of trunk layers ({n_layers}), ProgGAN has 2*log2(R)-2; "
        n_layers += 1
    missing = [
        f"layer{i}.{suffix}"
        for i in range(1, n_layers + 1)
        for suffix in _SUFFIXES
        if f"layer{i}.{suffix}" not in trunk
    ]
    resolution = 2 ** ((n_layers + 2) // 2)
    name = f"output_{resolution}x{resolution}"
    result = dict(sorted(trunk.items(), key=lambda item: (_index(item[0]), item[0])))
    for suffix in _SUFFIXES:
        value = outputs.pop((resolution, suffix), None)
        if value is None:  # the old unnumbered name, accepted only as a fallback
            value = outputs.pop((None, suffix), None)
        if value is None:
            missing.append(f"{name}.{suffix}")
        else:
            result[f"{name}.{suffix}"] = value
    # ganlens' own generators hold a to-RGB head per lower resolution too (for growing): a
    # complete head (both tensors) below the final resolution is dropped, not refused.
    lower = {r for r, _ in outputs if r is not None and r < resolution}
    for r in lower:
        if all((r, suffix) in outputs for suffix in _SUFFIXES):
            for suffix in _SUFFIXES:
                del outputs[(r, suffix)]
    unexpected += [("output" if r is None else f"output_{r}x{r}") + f".{s}" for r, s in outputs]
    if missing or unexpected:
        raise ValueError(
            f"{odd}not a ProgGAN generator state dict with {n_layers} trunk layers "
            f"(layer1..layer{n_layers} and {name}): missing keys: {missing}; "
            f"unexpected keys: {sorted(unexpected)}"
        )
    if not MIN_RESOLUTION <= resolution <= MAX_RESOLUTION:
        raise ValueError(
            f"{n_layers} trunk layers mean a {resolution}x{resolution} generator; supported "
            f"resolutions are {MIN_RESOLUTION}..{MAX_RESOLUTION}"
        )
    return result


def _index(key: str) -> int:
    """Return N of ``layerN.*``."""
    return int(key.split(".", 1)[0].removeprefix("layer"))


def load_proggan_generator(
    source: str | os.PathLike[str] | Mapping[str, Any],
) -> ProgressiveGenerator:
    """Build a :class:`ProgressiveGenerator` from a gandissect/Karras ProgGAN state dict.

    The latent size, every channel size, the resolution and the image channels are inferred from
    the tensor shapes; the generator holds only the final to-RGB block (``rgb_outputs="final"``)
    and is loaded strictly, so it has exactly the file's parameters. It is returned on the CPU in
    training mode; call ``.eval()`` and ``.to(device)`` as needed.

    Args:
        source: A path to a ``.pth`` file or a loaded state dict (see
            :func:`normalize_proggan_state_dict` for the accepted layouts).

    Returns:
        The generator.

    Raises:
        FileNotFoundError: If ``source`` is a path that does not exist.
        ValueError: On an unreadable file, missing or unexpected keys, or tensors whose shapes
            disagree with the inferred architecture; the message names the keys.

    Example:
        >>> _ = torch.manual_seed(0)
        >>> g = ProgressiveGenerator(resolution=16, latent_size=8, fmap_max=16, rgb_outputs="final")
        >>> loaded = load_proggan_generator(g.state_dict())
        >>> loaded.resolution, loaded.latent_size, loaded.channels
        (16, 8, (16, 16, 16))
        >>> z = torch.randn(2, 8)
        >>> torch.equal(loaded(z), g(z))
        True
    """
    state = normalize_proggan_state_dict(source)
    n_layers = len(state) // 2 - 1
    bad_dims = [
        f"{key}: {list(value.shape)}"
        for key, value in state.items()
        if key.endswith("conv.weight") and value.dim() != 4
    ]
    if bad_dims:
        raise ValueError(f"conv weights must be 4-D [out, in, k, k], got {bad_dims}")
    resolution = 2 ** ((n_layers + 2) // 2)
    latent_size = state["layer1.conv.weight"].shape[1]
    channels = [state[f"layer{i}.conv.weight"].shape[0] for i in range(2, n_layers + 1, 2)]
    image_channels = state[f"output_{resolution}x{resolution}.conv.weight"].shape[0]
    generator = ProgressiveGenerator(
        resolution=resolution,
        latent_size=latent_size,
        channels=channels,
        rgb_outputs="final",
        image_channels=image_channels,
    )
    expected = generator.state_dict()
    mismatched = [
        f"{key}: got {list(value.shape)}, expected {list(expected[key].shape)}"
        for key, value in state.items()
        if value.shape != expected[key].shape
    ]
    if mismatched:
        raise ValueError(
            f"ProgGAN state dict shapes disagree with the architecture inferred from it "
            f"(latent {latent_size}, channels {channels}, {resolution}x{resolution}): "
            f"mismatched keys: {mismatched}"
        )
    generator.load_state_dict(state, strict=True)
    return generator
