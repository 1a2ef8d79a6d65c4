"""Trace and edit layer outputs by dotted name, with forward hooks inside context managers.

GAN Dissection (Bau et al., ICLR 2019, section 3.2) reads a generator's featuremap
``r = h(z)`` at one layer and edits it before the rest of the network renders ``x = f(r)``:

    r' = (1 - alpha * mask) * r + alpha * mask * value

with a per-unit ``alpha`` in [0, 1], a spatial ``mask`` at the layer's resolution (hard or soft)
and ``value`` 0 for ablation or a constant / per-unit ``k`` for insertion. Hooks are registered
with ``register_forward_hook`` on entry and always removed on exit, also when an exception
escapes; ``forward`` is never replaced. Hooks run in the order they were opened: a trace opened
inside an :func:`intervene` block records the edited output, one opened outside it the original.

Featuremaps with a margin (StyleGAN3's layers render a border around the image region) are
seen without it everywhere: a model that says how wide a layer's margin is
(``model.featuremap_margin(layer)``, in pixels per side) is traced with the border cropped,
and masks given at the cropped size are padded with zeros (the border is left alone).

(Over 300 lines: tracing and intervening share one forward-hook mechanism and its checks.)
"""

from __future__ import annotations

import difflib
import operator
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn
from torch.utils.hooks import RemovableHandle

__all__ = [
    "Intervention",
    "featuremap_margin",
    "featuremap_shapes",
    "get_layer",
    "intervene",
    "layer_names",
    "layers_run",
    "module_device",
    "trace",
]


def layer_names(model: nn.Module) -> list[str]:
    """Dotted names of every submodule of ``model``, in registration order.

    Example:
        >>> layer_names(nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.ReLU())))
        ['0', '1', '1.0']
    """
    return [name for name, _ in model.named_modules() if name]


def module_device(module: nn.Module) -> torch.device:
    """The device of a module's first parameter or buffer (the CPU when it has none).

    Example:
        >>> module_device(nn.Linear(1, 1))
        device(type='cpu')
    """
    for tensor in (*module.parameters(), *module.buffers()):
        return tensor.device
    return torch.device("cpu")


def featuremap_margin(model: nn.Module, layer: str) -> int:
    """Pixels per side of ``layer``'s output outside the image region (0 for most models).

    Read from ``model.featuremap_margin(layer)`` when the model has that method.

    Example:
        >>> featuremap_margin(nn.Linear(2, 2), "anything")
        0
    """
    method = getattr(model, "featuremap_margin", None)
    return int(method(layer)) if callable(method) else 0


def _without_margin(tensor: Tensor, margin: int) -> Tensor:
    """``[..., H - 2m, W - 2m]``: the image region of a ``[..., H, W]`` featuremap."""
    if margin <= 0:
        return tensor
    height, width = tensor.shape[-2:]
    return tensor[..., margin : height - margin, margin : width - margin]


def get_layer(model: nn.Module, name: str) -> nn.Module:
    """The submodule called ``name`` (dotted, as in ``model.named_modules()``).

    Raises:
        ValueError: If there is no such layer; the message suggests close names and lists the
            valid ones.

    Example:
        >>> get_layer(nn.Sequential(nn.Linear(2, 3)), "0")
        Linear(in_features=2, out_features=3, bias=True)
    """
    modules: dict[str, nn.Module] = dict(model.named_modules())
    if name and name in modules:
        return modules[name]
    valid = layer_names(model)
    close = difflib.get_close_matches(name, valid, n=3)
    hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
    shown = ", ".join(valid[:60]) + (f", ... ({len(valid)} in all)" if len(valid) > 60 else "")
    raise ValueError(
        f"unknown layer {name!r} in {type(model).__name__}.{hint} Valid layers: {shown}"
    )


def _as_tensor_output(name: str, output: Any) -> Tensor:
    if not isinstance(output, Tensor):
        raise ValueError(
            f"layer {name!r} returns {type(output).__name__}; only tensors can be hooked "
            "(choose a submodule that returns a tensor)"
        )
    return output


@contextmanager
def trace(
    model: nn.Module, layers: str | Sequence[str], *, detach: bool = True, clone: bool = False
) -> Iterator[dict[str, Tensor]]:
    """Record the outputs of one or several layers during forward passes.

    Args:
        model: The network.
        layers: One dotted layer name or several.
        detach: Store outputs cut from the autograd graph (``False`` keeps the graph, for
            gradients through the traced features).
        clone: Store a copy, so later in-place operations in the network cannot change it.

    Yields:
        A dict from layer name to its latest output ``[N, U, ...]`` (a layer called twice in
        one pass keeps the second output), without the layer's margin
        (:func:`featuremap_margin`); filled while the model runs inside the block.

    Raises:
        ValueError: If a layer name is unknown (before anything is registered).

    Example:
        >>> net = nn.Sequential(nn.Linear(2, 3), nn.ReLU())
        >>> with trace(net, ["0", "1"]) as features:
        ...     _ = net(torch.ones(1, 2))
        >>> sorted(features), features["1"].shape
        (['0', '1'], torch.Size([1, 3]))
    """
    names = [layers] if isinstance(layers, str) else list(layers)
    modules = [get_layer(model, name) for name in names]
    margins = {name: featuremap_margin(model, name) for name in names}
    outputs: dict[str, Tensor] = {}

    def recorder(name: str) -> Any:
        def hook(module: nn.Module, inputs: Any, output: Any) -> None:
            tensor = _without_margin(_as_tensor_output(name, output), margins[name])
            tensor = tensor.detach() if detach else tensor
            outputs[name] = tensor.clone() if clone else tensor

        return hook

    handles = [
        module.register_forward_hook(recorder(n)) for n, module in zip(names, modules, strict=True)
    ]
    try:
        yield outputs
    finally:
        for handle in handles:
            handle.remove()


def layers_run(model: nn.Module, layers: Sequence[str], *inputs: Any) -> tuple[list[str], Tensor]:
    """Which of ``layers`` give a featuremap in a forward pass on ``inputs``, and the output.

    A growing generator (ProgGAN) runs only the blocks of its current stage; monitors use this
    to evaluate only the layers that exist yet. Runs without gradients.

    Returns:
        The names (in the order given) whose output is a ``[N, U, H, W]`` tensor, and the
        model's output.

    Example:
        >>> net = nn.Sequential(nn.Conv2d(3, 4, 1), nn.Flatten())
        >>> layers_run(net, ["0", "1"], torch.zeros(1, 3, 2, 2))[0]
        ['0']
    """
    with torch.no_grad(), trace(model, list(layers)) as features:
        output = model(*inputs)
    active = [name for name in layers if name in features and features[name].ndim == 4]
    return active, output


def featuremap_shapes(model: nn.Module, *inputs: Any) -> dict[str, tuple[int, ...]]:
    """The output shape of every submodule that returns a tensor, in one pass on ``inputs``.

    Submodules that return something else (a tuple, a dict) or do not run are left out; shapes
    are those :func:`trace` records (without a margin). Runs without gradients.

    Example:
        >>> net = nn.Sequential(nn.Conv2d(3, 4, 1), nn.Flatten())
        >>> featuremap_shapes(net, torch.zeros(1, 3, 2, 2))
        {'0': (1, 4, 2, 2), '1': (1, 16)}
    """
    shapes: dict[str, tuple[int, ...]] = {}
    names = layer_names(model)
    margins = {name: featuremap_margin(model, name) for name in names}

    def recorder(name: str) -> Any:
        def hook(module: nn.Module, hook_inputs: Any, output: Any) -> None:
            if isinstance(output, Tensor):
                cropped = _without_margin(output, margins[name]) if output.dim() >= 3 else output
                shapes[name] = tuple(cropped.shape)

        return hook

    modules = dict(model.named_modules())
    with ExitStack() as stack, torch.no_grad():
        for name in names:
            stack.callback(modules[name].register_forward_hook(recorder(name)).remove)
        model(*inputs)
    return {name: shapes[name] for name in names if name in shapes}


def _unit_indices(units: Sequence[int] | Tensor) -> Tensor:
    """``int64 [n]`` unit indices; floats and booleans are refused rather than truncated."""
    if isinstance(units, Tensor):
        if units.dtype == torch.bool or units.is_floating_point() or units.is_complex():
            raise ValueError(f"unit indices must be integers; got a {units.dtype} tensor")
        return units.long().flatten()
    try:
        if any(isinstance(u, bool) for u in units):
            raise TypeError("bool")
        indices = [operator.index(u) for u in units]  # ints, NumPy ints; not floats or strings
    except TypeError:
        raise ValueError(f"unit indices must be integers; got {list(units)!r}") from None
    return torch.tensor(indices, dtype=torch.long)


@dataclass
class Intervention:
    """An edit of one layer's output: ``r' = (1 - alpha * mask) * r + alpha * mask * value``.

    Args:
        layer: Dotted name of the layer whose output is edited.
        units: Unit (channel) indices to edit; ``None`` means every unit.
        alpha: Strength in [0, 1]: a number for all selected units, or a tensor with one entry
            per selected unit (``[len(units)]``, or ``[U]`` when ``units`` is ``None``).
            Gradients flow to a tensor ``alpha`` that requires them.
        mask: Where to edit, at the layer's spatial resolution: ``[H, W]``, ``[N, H, W]`` or
            ``[N, 1, H, W]``; boolean (hard) or float in [0, 1] (soft). ``None`` edits everywhere.
        value: What to write: 0 ablates; a number or a per-unit tensor ``[U]`` (or
            ``[len(units)]``) inserts that constant ``k``.

    Raises:
        ValueError: If ``alpha`` or a soft ``mask`` leaves [0, 1], or ``units`` is empty, has
            negative entries or entries that are not integers (checked at construction); if
            units, alpha, value or mask do not fit the layer's output (checked at the first
            forward, with expected vs actual).

    Example:
        >>> r = torch.ones(1, 3, 2, 2)
        >>> edit = Intervention("x", units=[1], value=5.0, mask=torch.tensor([[1.0, 0], [0, 0]]))
        >>> edit.apply(r)[0, :, 0, 0].tolist(), edit.apply(r)[0, 1, 1, 1].item()
        ([1.0, 5.0, 1.0], 1.0)
    """

    layer: str
    units: Sequence[int] | Tensor | None = None
    alpha: float | Tensor = 1.0
    mask: Tensor | None = None
    value: float | Tensor = 0.0

    def __post_init__(self) -> None:
        """Validate what can be checked before the layer's output shape is known."""
        if self.units is not None:
            self.units = _unit_indices(self.units)
            if self.units.numel() == 0:
                raise ValueError("units is empty; pass None to edit every unit")
            if int(self.units.min()) < 0:
                raise ValueError(f"unit indices must be >= 0; got {self.units.tolist()}")
        _check_unit_interval("alpha", self.alpha)
        if self.mask is not None and self.mask.dtype != torch.bool:
            _check_unit_interval("mask", self.mask)

    def apply(self, output: Tensor, margin: int = 0) -> Tensor:
        """The edited output for a layer output ``[N, U, *spatial]``.

        A ``mask`` may cover only the region inside a border of ``margin`` pixels per side;
        the border is then left unedited.
        """
        if output.dim() < 2:
            raise ValueError(
                f"layer {self.layer!r} output must be [N, U, ...]; got {tuple(output.shape)}"
            )
        count = output.shape[1]
        shape = (1, count) + (1,) * (output.dim() - 2)
        alpha = self._per_unit("alpha", self.alpha, count, output).reshape(shape)
        value = self._per_unit("value", self.value, count, output).reshape(shape)
        gate = alpha if self.mask is None else alpha * self._mask_for(output, margin)
        return output + gate * (value - output)  # == (1 - gate) * r + gate * value

    def _per_unit(self, what: str, given: float | Tensor, count: int, output: Tensor) -> Tensor:
        """Expand a number or per-selected-unit tensor to ``[U]`` (zero alpha off the selection)."""
        units = self.units
        assert units is None or isinstance(units, Tensor)
        if units is not None and int(units.max()) >= count:
            raise ValueError(
                f"unit index {int(units.max())} out of range for layer {self.layer!r} "
                f"with {count} units (expected indices 0..{count - 1})"
            )
        selected = count if units is None else units.numel()
        full = torch.as_tensor(given, dtype=output.dtype, device=output.device).flatten()
        if full.numel() == 1:
            full = full.expand(selected)
        elif full.numel() != selected:
            raise ValueError(
                f"{what} for layer {self.layer!r} has {full.numel()} entries; expected 1 or "
                f"{selected} (one per {'unit' if units is None else 'selected unit'})"
            )
        if units is None:
            return full
        # Zero elsewhere: alpha 0 leaves unselected units untouched, whatever their value.
        base = torch.zeros(count, dtype=output.dtype, device=output.device)
        return base.index_put((units.to(output.device),), full)  # differentiable in `full`

    def _mask_for(self, output: Tensor, margin: int = 0) -> Tensor:
        """The mask as ``[N or 1, 1, *spatial]`` in the output's dtype and device."""
        assert self.mask is not None
        mask, spatial = self.mask, tuple(output.shape[2:])
        inner = tuple(size - 2 * margin for size in spatial)
        if margin > 0 and len(spatial) == 2 and tuple(mask.shape[-2:]) == inner:
            mask = torch.nn.functional.pad(mask.float(), (margin,) * 4)  # the border: no edit
        extra = mask.dim() - len(spatial)
        fits = (
            len(spatial) > 0
            and extra in (0, 1, 2)
            and tuple(mask.shape[extra:]) == spatial
            and (extra < 2 or mask.shape[1] == 1)
        )
        if not fits:
            raise ValueError(
                f"mask for layer {self.layer!r} has shape {tuple(mask.shape)}; expected "
                f"[H, W], [N, H, W] or [N, 1, H, W] with (H, W) = {spatial}"
            )
        if extra == 0:
            mask = mask.reshape((1, 1, *spatial))
        elif extra == 1:
            mask = mask.unsqueeze(1)
        if mask.shape[0] not in (1, output.shape[0]):
            raise ValueError(
                f"mask for layer {self.layer!r} covers {mask.shape[0]} samples; the batch has "
                f"{output.shape[0]}"
            )
        return mask.to(device=output.device, dtype=output.dtype)


def _check_unit_interval(what: str, given: float | Tensor) -> None:
    low, high = (
        (float(given.detach().min()), float(given.detach().max()))
        if isinstance(given, Tensor)
        else (given,) * 2
    )
    if low < 0.0 or high > 1.0:
        raise ValueError(f"{what} must lie in [0, 1]; got values from {low} to {high}")


@contextmanager
def intervene(model: nn.Module, *interventions: Intervention) -> Iterator[None]:
    """Apply interventions to ``model``'s layers while the block runs.

    Several interventions compose: on different layers independently, on the same layer one
    after another in the order given.

    Args:
        model: The network.
        *interventions: The edits.

    Raises:
        ValueError: If a layer name is unknown (before anything is registered).

    Example:
        >>> net = nn.Sequential(nn.Conv2d(1, 2, 1), nn.ReLU())
        >>> with intervene(net, Intervention("1", units=[0])):
        ...     out = net(torch.ones(1, 1, 2, 2))
        >>> bool(out[:, 0].eq(0).all())
        True
    """
    modules = [get_layer(model, edit.layer) for edit in interventions]

    def editor(edit: Intervention) -> Any:
        margin = featuremap_margin(model, edit.layer)

        def hook(module: nn.Module, inputs: Any, output: Any) -> Tensor:
            return edit.apply(_as_tensor_output(edit.layer, output), margin)

        return hook

    with ExitStack() as stack:
        for edit, module in zip(interventions, modules, strict=True):
            handle: RemovableHandle = module.register_forward_hook(editor(edit))
            stack.callback(handle.remove)
        yield
