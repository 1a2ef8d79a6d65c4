"""Build ganlens generators from NVlabs network pickles (stylegan2-ada-pytorch, stylegan3).

The pickle is read by :func:`ganlens.models.stylegan_pickle.read_network_pickle`, which runs no
code from the file; the ``G_ema`` record (``G`` when there is none) then names the architecture by
its structure (``synthesis.b4`` for StyleGAN2, Karras et al., arXiv:1912.04958;
``synthesis.input`` for StyleGAN3, Karras et al., arXiv:2106.12423), its sizes come from the
recorded constructor arguments and attributes and from the tensor shapes, and its parameters and
buffers are loaded strictly into :class:`~ganlens.models.stylegan2.StyleGAN2Generator` or
:class:`~ganlens.models.stylegan3.StyleGAN3Generator`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from ganlens.models.stylegan2 import StyleGAN2Generator
from ganlens.models.stylegan3 import StyleGAN3Generator
from ganlens.models.stylegan_pickle import PersistentRecord, RefusedGlobal, read_network_pickle

__all__ = ["generator_from_record", "load_exactly", "load_nvlabs_pickle"]

_GENERATOR_ARGS = ("z_dim", "c_dim", "w_dim", "img_resolution", "img_channels")
_SG3_SYNTHESIS_KEYS = {
    "channel_base",
    "channel_max",
    "num_layers",
    "num_critical",
    "first_cutoff",
    "first_stopband",
    "last_stopband_rel",
    "margin_size",
    "output_scale",
    "num_fp16_res",
    "conv_kernel",
    "filter_size",
    "lrelu_upsampling",
    "use_radial_filters",
    "conv_clamp",
    "magnitude_ema_beta",
}


class _Unsupported(ValueError):
    """The network is not one ganlens can rebuild (message without the file name)."""


def _arguments(record: PersistentRecord) -> dict[str, Any]:
    """The generator's constructor arguments, positional ones named, attributes as a fallback."""
    found = {k: record.attributes[k] for k in _GENERATOR_ARGS if k in record.attributes}
    found.update(zip(_GENERATOR_ARGS, record.init_args, strict=False))
    found.update(record.init_kwargs)
    missing = [k for k in ("z_dim", "w_dim", "img_resolution", "img_channels") if k not in found]
    if missing:
        raise _Unsupported(f"the {record.class_name} record lacks {', '.join(missing)}")
    if int(found.get("c_dim") or 0) != 0:
        raise _Unsupported(
            f"conditional generator (c_dim={found['c_dim']}); only c_dim == 0 is supported"
        )
    return found


def _child(record: PersistentRecord, name: str) -> PersistentRecord:
    """A named submodule record, or :class:`_Unsupported`."""
    if name not in record.modules:
        raise _Unsupported(f"the {record.class_name} record has no submodule {name!r}")
    return record.modules[name]


def _mapping_settings(mapping: PersistentRecord) -> dict[str, Any]:
    """Layers, hidden width, lr multiplier of an NVlabs ``MappingNetwork`` record."""
    layers = [
        mapping.modules[f"fc{i}"]
        for i in range(len(mapping.modules))
        if f"fc{i}" in mapping.modules
    ]
    if not layers or any(fc.attributes.get("activation", "lrelu") != "lrelu" for fc in layers):
        raise _Unsupported("the mapping network has no fc0 or an activation other than lrelu")
    lr = layers[0].attributes.get("bias_gain", mapping.init_kwargs.get("lr_multiplier", 0.01))
    return {
        "mapping_layers": len(layers),
        "mapping_lr_multiplier": float(lr),
        "mapping_features": int(layers[0].parameters["weight"].shape[0]),
    }


def _stylegan2(record: PersistentRecord, args: dict[str, Any]) -> StyleGAN2Generator:
    """Rebuild an NVlabs StyleGAN2 ``Generator`` record."""
    synthesis = _child(record, "synthesis")
    resolution = int(args["img_resolution"])
    blocks = {
        r: _child(synthesis, f"b{r}") for r in (2**k for k in range(2, resolution.bit_length()))
    }
    channels = {
        r: int(b.parameters.get("const", _child(b, "conv1").parameters["weight"]).shape[0])
        for r, b in blocks.items()
    }
    architectures = {b.attributes.get("architecture", "skip") for b in blocks.values()}
    layer = _child(blocks[4], "conv1")
    if len(architectures) != 1 or layer.attributes.get("activation", "lrelu") != "lrelu":
        raise _Unsupported(f"mixed architectures {sorted(architectures)} or a non-lrelu activation")
    if layer.parameters["weight"].shape[-1] != 3:
        raise _Unsupported("synthesis convolutions that are not 3x3")
    clamp = layer.attributes.get("conv_clamp")
    return StyleGAN2Generator(
        z_dim=int(args["z_dim"]),
        w_dim=int(args["w_dim"]),
        resolution=resolution,
        img_channels=int(args["img_channels"]),
        channels=channels,
        architecture=str(architectures.pop()),
        conv_clamp=None if clamp is None else float(clamp),
        num_fp16_res=sum(bool(b.attributes.get("use_fp16", False)) for b in blocks.values()),
        use_noise="noise_const" in layer.buffers,
        **_mapping_settings(_child(record, "mapping")),
    )


def _stylegan3(record: PersistentRecord, args: dict[str, Any]) -> StyleGAN3Generator:
    """Rebuild an NVlabs StyleGAN3 ``Generator`` record."""
    synthesis = _child(record, "synthesis")
    given = {**record.init_kwargs, **synthesis.init_kwargs}
    settings = {
        k: v.item() if isinstance(v, np.generic) else v
        for k, v in given.items()
        if k in _SG3_SYNTHESIS_KEYS
    }
    unknown = sorted(set(synthesis.init_kwargs) - _SG3_SYNTHESIS_KEYS - set(_GENERATOR_ARGS))
    if unknown:
        raise _Unsupported(f"unknown StyleGAN3 synthesis arguments {unknown}")
    mapping = _mapping_settings(_child(record, "mapping"))
    generator = StyleGAN3Generator(
        z_dim=int(args["z_dim"]),
        w_dim=int(args["w_dim"]),
        resolution=int(args["img_resolution"]),
        img_channels=int(args["img_channels"]),
        mapping_layers=mapping["mapping_layers"],
        mapping_lr_multiplier=mapping["mapping_lr_multiplier"],
        design_filters=False,
        **settings,
    )
    names = list(synthesis.attributes.get("layer_names", []))
    if names != list(generator.synthesis.layer_names):
        raise _Unsupported(
            f"layers {names} differ from the rebuilt {generator.synthesis.layer_names}"
        )
    return generator


def generator_from_record(record: PersistentRecord, truncation: float = 1.0) -> nn.Module:
    """Build ganlens' generator for an NVlabs ``Generator`` record and load its tensors strictly.

    Args:
        record: The ``G_ema`` (or ``G``) record of a network pickle.
        truncation: Truncation psi of the returned generator.

    Returns:
        A :class:`StyleGAN2Generator` or :class:`StyleGAN3Generator` in eval mode.

    Raises:
        ValueError: If the record is not a supported generator (the message says why).

    Example:
        >>> from ganlens.models.stylegan_pickle import PersistentRecord
        >>> generator_from_record(PersistentRecord("Discriminator", (), {}, {}, {}, {}, {}))
        Traceback (most recent call last):
        ...
        ValueError: the network is a Discriminator, not a Generator
    """
    if record.class_name != "Generator":
        raise ValueError(f"the network is a {record.class_name}, not a Generator")
    generator: StyleGAN2Generator | StyleGAN3Generator
    try:
        args = _arguments(record)
        modules = _child(record, "synthesis").modules
        generator = _stylegan3(record, args) if "input" in modules else _stylegan2(record, args)
    except (KeyError, TypeError, AttributeError, IndexError) as exc:  # a malformed record
        raise _Unsupported(
            f"malformed {record.class_name} record ({type(exc).__name__}: {exc})"
        ) from exc
    mismatch = load_exactly(generator, record.tensors())
    if mismatch:
        raise _Unsupported(f"its tensors do not match the rebuilt {type(generator).__name__}: "
                           f"{mismatch}")  # fmt: skip
    generator.truncation = float(truncation)
    return generator.eval().requires_grad_(False)


def load_exactly(module: nn.Module, state: Mapping[str, Tensor]) -> str:
    """Load ``state`` (as float32) into ``module`` when its names and shapes match exactly.

    Returns:
        ``""`` when loaded, else what differs (the first missing, unexpected and wrongly
        shaped names), and nothing is loaded.

    Example:
        >>> load_exactly(nn.Linear(2, 2), {"weight": torch.zeros(2, 2)})
        "missing ['bias'], unexpected [], wrong shape []"
    """
    expected = module.state_dict()
    missing, unexpected = sorted(set(expected) - set(state)), sorted(set(state) - set(expected))
    wrong = [k for k in expected if k in state and state[k].shape != expected[k].shape]
    if missing or unexpected or wrong:
        return f"missing {missing[:5]}, unexpected {unexpected[:5]}, wrong shape {wrong[:5]}"
    module.load_state_dict({k: v.to(torch.float32) for k, v in state.items()}, strict=True)
    return ""


def load_nvlabs_pickle(path: str | os.PathLike[str], truncation: float = 1.0) -> nn.Module:
    """Load the generator (``G_ema``, else ``G``) of an NVlabs network pickle; no code from it runs.

    Args:
        path: The ``.pkl`` file.
        truncation: Truncation psi of the returned generator.

    Returns:
        A :class:`StyleGAN2Generator` or :class:`StyleGAN3Generator` in eval mode.

    Raises:
        ValueError: One line naming the file and what is wrong (a refused global, no generator,
            an unsupported network).
        FileNotFoundError: If there is no such file.

    Example:
        >>> import pickle, tempfile
        >>> with tempfile.NamedTemporaryFile(suffix=".pkl") as f:
        ...     pickle.dump({"G_ema": print}, f); f.flush()
        ...     load_nvlabs_pickle(f.name)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: refusing to load ...: the file asks for global 'builtins.print'
    """
    with open(path, "rb") as file:
        try:
            data = read_network_pickle(file)
        except RefusedGlobal as exc:
            raise ValueError(f"refusing to load {os.fspath(path)}: {exc}") from None
        except Exception as exc:  # malformed: one line, the details chained
            first = (str(exc).splitlines() or [""])[0]
            raise ValueError(
                f"could not read {os.fspath(path)} as an NVlabs network pickle: "
                f"{type(exc).__name__}: {first}"
            ) from exc
    record = data.get("G_ema", data.get("G")) if isinstance(data, dict) else None
    if not isinstance(record, PersistentRecord):
        raise ValueError(f"{os.fspath(path)} holds no NVlabs generator (no 'G_ema' or 'G' network)")
    try:
        return generator_from_record(record, truncation)
    except ValueError as exc:
        raise ValueError(f"cannot load the generator of {os.fspath(path)}: {exc}") from None
