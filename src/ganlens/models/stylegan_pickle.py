"""Read NVlabs network pickles (stylegan2-ada-pytorch, stylegan3) without running their code.

NVlabs' training loop pickles ``{'training_set_kwargs', 'G', 'D', 'G_ema', 'augment_pipe'}``
with ``torch_utils.persistence``: every network object reduces to
``torch_utils.persistence._reconstruct_persistent_obj(meta)`` with ``meta = {type, version,
module_src, class_name, state}``, where ``module_src`` is the Python source of the module that
defined the class and ``state`` the object's ``__dict__`` (``_parameters``, ``_buffers``,
``_modules``, ``_init_args``, ``_init_kwargs`` and plain attributes). Unpickling it the usual
way imports ``torch_utils`` and executes ``module_src``.

:func:`read_network_pickle` instead uses a :class:`pickle.Unpickler` whose ``find_class`` knows
a short list of globals and maps each to a harmless stand-in:

* ``_reconstruct_persistent_obj`` -> :class:`PersistentRecord` (class name, init arguments,
  tensors, submodules, attributes); ``module_src`` is never executed, compiled or imported;
* ``torch._utils._rebuild_tensor_v2`` / ``_rebuild_parameter[_with_state]`` -> plain tensors
  (hooks and tensor state are dropped);
* ``torch.storage._load_from_bytes``, which would call ``torch.load(weights_only=False)`` on the
  embedded bytes, -> ``torch.load(..., weights_only=True)`` on them;
* ``collections.OrderedDict``, ``builtins.set``/``frozenset``, ``_codecs.encode`` (latin-1
  bytes of protocol-2 pickles), ``dnnlib.util.EasyDict`` (as a
  plain ``dict``), numpy numeric scalars, dtypes and arrays (rebuilt from their raw bytes, never
  through numpy's own unpickling), torch dtypes, ``torch.device`` and ``torch.Size``.

Any other global is refused with :class:`RefusedGlobal` naming it, before anything is called;
``__setstate__`` (the BUILD opcode) is allowed on the numpy stand-ins only, and tensor views are
bounds-checked against their storage.

(Over 300 lines: the allowed globals, their stand-ins and the unpickler belong together.)
"""

from __future__ import annotations

import _compat_pickle
import io
import pickle
from collections import OrderedDict
from collections.abc import Callable
from typing import IO, Any, ClassVar

import numpy as np
import torch
from torch import Tensor

__all__ = ["PersistentRecord", "RefusedGlobal", "read_network_pickle"]

_NUMERIC_KINDS = "biufc"


class RefusedGlobal(pickle.UnpicklingError):
    """A pickle asked for a global that is not on the allowed list.

    Args:
        module: The global's module.
        name: The global's name.

    Example:
        >>> str(RefusedGlobal("os", "system"))
        "the file asks for global 'os.system'"
    """

    def __init__(self, module: str, name: str) -> None:
        super().__init__(f"the file asks for global '{module}.{name}'")
        self.module, self.name = module, name


class PersistentRecord:
    """What one NVlabs persistent object held, in place of the object itself.

    Args:
        class_name: ``meta['class_name']``, e.g. ``"Generator"``.
        init_args: The positional constructor arguments recorded by ``persistence``.
        init_kwargs: The keyword constructor arguments.
        parameters: Parameter tensors by name (None entries dropped).
        buffers: Buffer tensors by name (None entries kept: a registered empty buffer).
        modules: Child records by name.
        attributes: The other entries of the object's ``__dict__`` that do not start with ``_``.

    Example:
        >>> r = PersistentRecord("Layer", (), {"n": 2}, {"w": torch.ones(1)}, {}, {}, {})
        >>> sorted(r.tensors())
        ['w']
    """

    __slots__ = (
        "attributes",
        "buffers",
        "class_name",
        "init_args",
        "init_kwargs",
        "modules",
        "parameters",
    )

    def __init__(
        self,
        class_name: str,
        init_args: tuple[Any, ...],
        init_kwargs: dict[str, Any],
        parameters: dict[str, Tensor],
        buffers: dict[str, Tensor | None],
        modules: dict[str, PersistentRecord],
        attributes: dict[str, Any],
    ) -> None:
        self.class_name, self.init_args, self.init_kwargs = class_name, init_args, init_kwargs
        self.parameters, self.buffers, self.modules = parameters, buffers, modules
        self.attributes = attributes

    def __setstate__(self, state: object) -> None:
        """Refuse: a record is only ever built from ``meta``."""
        raise pickle.UnpicklingError("the file tries to set the state of a persistent object")

    def __repr__(self) -> str:
        """Class name and children."""
        return f"PersistentRecord({self.class_name!r}, modules={list(self.modules)})"

    def tensors(self, prefix: str = "") -> dict[str, Tensor]:
        """Every parameter and (non-None) buffer of the tree, by dotted name (a state dict)."""
        found: dict[str, Tensor] = {prefix + k: v for k, v in self.parameters.items()}
        found.update({prefix + k: v for k, v in self.buffers.items() if v is not None})
        for name, child in self.modules.items():
            found.update(child.tensors(f"{prefix}{name}."))
        return found


def _tensor_map(value: object, what: str) -> dict[str, Any]:
    """A ``_parameters`` / ``_buffers`` mapping with tensor-or-None values."""
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and (v is None or isinstance(v, Tensor)) for k, v in value.items()
    ):
        raise pickle.UnpicklingError(f"a persistent object's {what} are not tensors by name")
    return dict(value)


def _record_persistent(meta: object) -> PersistentRecord:
    """Stand-in for ``torch_utils.persistence._reconstruct_persistent_obj``: record, never run."""
    if not isinstance(meta, dict) or meta.get("type") != "class":
        raise pickle.UnpicklingError("a persistent object without a {'type': 'class', ...} meta")
    class_name, state = meta.get("class_name"), _plain(meta.get("state"))
    if not isinstance(class_name, str) or not isinstance(state, dict):
        raise pickle.UnpicklingError("a persistent object without class_name or state")
    modules = state.get("_modules") or {}
    if not isinstance(modules, dict) or not all(
        v is None or isinstance(v, PersistentRecord) for v in modules.values()
    ):
        raise pickle.UnpicklingError(f"{class_name} has submodules that are not persistent")
    init_args, init_kwargs = state.get("_init_args", ()), state.get("_init_kwargs", {})
    if not isinstance(init_args, (tuple, list)) or not isinstance(init_kwargs, dict):
        raise pickle.UnpicklingError(f"{class_name} has malformed init arguments")
    parameters = {
        k: v
        for k, v in _tensor_map(state.get("_parameters"), "parameters").items()
        if v is not None
    }
    attributes = {k: v for k, v in state.items() if isinstance(k, str) and not k.startswith("_")}
    return PersistentRecord(
        class_name,
        tuple(init_args),
        dict(init_kwargs),
        parameters,
        _tensor_map(state.get("_buffers"), "buffers"),
        {k: v for k, v in modules.items() if v is not None},
        attributes,
    )


def _load_storage_bytes(data: object) -> object:
    """Stand-in for ``torch.storage._load_from_bytes``: the same bytes, ``weights_only=True``."""
    if not isinstance(data, bytes):
        raise pickle.UnpicklingError("a tensor storage that is not bytes")
    try:
        return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as exc:  # torch's message is advice on unsafe loading: chained only
        raise pickle.UnpicklingError(
            "an embedded tensor storage is not plain tensor data "
            "(torch.load(weights_only=True) refused it)"
        ) from exc


def _rebuild_tensor(
    storage: object, offset: int, size: tuple[int, ...], stride: tuple[int, ...], *_: object
) -> Tensor:
    """Stand-in for ``torch._utils._rebuild_tensor_v2`` (requires_grad, hooks, metadata dropped)."""
    if not isinstance(storage, torch.TypedStorage):
        raise pickle.UnpicklingError("a tensor whose storage is not a torch storage")
    offset, size, stride = int(offset), tuple(map(int, size)), tuple(map(int, stride))
    if offset < 0 or len(size) != len(stride) or min((*size, *stride), default=0) < 0:
        raise pickle.UnpicklingError("a tensor with a negative offset, size or stride")
    # set_ does not check bounds: a view past the end of its storage would read other memory.
    end = offset + sum((n - 1) * s for n, s in zip(size, stride, strict=True)) + 1
    empty, untyped = torch.empty(0, dtype=storage.dtype), storage._untyped_storage
    if 0 not in size and end * empty.element_size() > untyped.nbytes():
        raise pickle.UnpicklingError("a tensor that reaches past the end of its storage")
    return empty.set_(untyped, offset, size, stride)


def _rebuild_parameter(data: object, *_: object) -> Tensor:
    """Stand-in for ``torch._utils._rebuild_parameter[_with_state]``: the plain tensor."""
    if not isinstance(data, Tensor):
        raise pickle.UnpicklingError("a parameter whose data is not a tensor")
    return data


def _rebuild_from_type(func: object, new_type: object, args: object, state: object) -> Tensor:
    """Stand-in for ``torch._utils._rebuild_from_type_v2`` limited to the stand-ins above."""
    if func not in (_rebuild_tensor, _rebuild_parameter) or not isinstance(args, tuple):
        raise pickle.UnpicklingError("a tensor rebuilt by a function that is not allowed")
    rebuilt: Tensor = func(*args)
    return rebuilt


def _latin1_bytes(text: object, encoding: object = "latin1") -> bytes:
    """Stand-in for ``_codecs.encode``, which protocol-2 pickles use for bytes (latin-1 only)."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise pickle.UnpicklingError("a _codecs.encode call that is not latin-1 bytes")
    return text.encode("latin-1")


class _NumpyDtype:
    """Stand-in for ``numpy.dtype(name, align, copy)``: numeric dtypes only, byte order kept."""

    __slots__ = ("dtype",)

    def __init__(self, name: object, *_: object) -> None:
        dtype = np.dtype(name) if isinstance(name, str) and name.isalnum() else None
        if dtype is None or dtype.kind not in _NUMERIC_KINDS:
            raise pickle.UnpicklingError(f"a numpy dtype that is not numeric: {name!r}")
        self.dtype = dtype

    def __setstate__(self, state: object) -> None:
        """Take the byte order (``state[1]``) and nothing else."""
        if isinstance(state, tuple) and len(state) > 1 and state[1] in ("<", ">"):
            self.dtype = self.dtype.newbyteorder(state[1])


def _numpy_scalar(dtype: object, data: object) -> object:
    """Stand-in for ``numpy.core.multiarray.scalar``: a numeric scalar from its bytes."""
    if not isinstance(dtype, _NumpyDtype) or not isinstance(data, bytes):
        raise pickle.UnpicklingError("a numpy scalar that is not numeric")
    if len(data) != dtype.dtype.itemsize:
        raise pickle.UnpicklingError("a numpy scalar of the wrong size")
    return np.frombuffer(data, dtype=dtype.dtype)[0]


class _NumpyArray:
    """Stand-in for ``numpy.core.multiarray._reconstruct(ndarray, ...)`` and its state."""

    __slots__ = ("array",)

    def __init__(self, cls: object, *_: object) -> None:
        if cls is not _NDARRAY:
            raise pickle.UnpicklingError("a numpy array of a class that is not numpy.ndarray")
        self.array: np.ndarray | None = None

    def __setstate__(self, state: object) -> None:
        """Build the array from ``(version, shape, dtype, is_fortran, raw bytes)``."""
        if not (
            isinstance(state, tuple)
            and len(state) == 5
            and isinstance(state[2], _NumpyDtype)
            and isinstance(state[4], bytes)
            and isinstance(state[1], tuple)
        ):
            raise pickle.UnpicklingError("a numpy array that is not a numeric array")
        _, shape, dtype, fortran, raw = state
        flat = np.frombuffer(raw, dtype=dtype.dtype).copy()
        self.array = flat.reshape(shape, order="F" if fortran else "C")


_NDARRAY = object()  # what 'numpy.ndarray' unpickles to: only a marker for _NumpyArray


def _plain(value: Any) -> Any:
    """Replace the numpy stand-ins inside containers by real numpy values."""
    if isinstance(value, _NumpyArray):
        return value.array
    if isinstance(value, _NumpyDtype):
        return value.dtype
    if isinstance(value, dict):
        return type(value)((k, _plain(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(v) for v in value)
    return value


_ALLOWED: dict[tuple[str, str], Callable[..., Any] | object] = {
    ("torch_utils.persistence", "_reconstruct_persistent_obj"): _record_persistent,
    ("torch.storage", "_load_from_bytes"): _load_storage_bytes,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter,
    ("torch._utils", "_rebuild_from_type_v2"): _rebuild_from_type,
    ("torch._tensor", "_rebuild_from_type_v2"): _rebuild_from_type,
    ("torch", "Size"): torch.Size,
    ("torch", "device"): torch.device,
    ("collections", "OrderedDict"): OrderedDict,
    ("_codecs", "encode"): _latin1_bytes,
    ("builtins", "set"): set,
    ("builtins", "frozenset"): frozenset,
    ("dnnlib.util", "EasyDict"): dict,
    ("numpy", "dtype"): _NumpyDtype,
    ("numpy", "ndarray"): _NDARRAY,
    ("numpy.core.multiarray", "scalar"): _numpy_scalar,
    ("numpy._core.multiarray", "scalar"): _numpy_scalar,
    ("numpy.core.multiarray", "_reconstruct"): _NumpyArray,
    ("numpy._core.multiarray", "_reconstruct"): _NumpyArray,
}


def _checked_build(unpickler: Any) -> None:
    """BUILD (``__setstate__``) only on the numpy stand-ins.

    Anything else could be a tensor, whose legacy ``__setstate__`` calls ``set_`` without bounds
    checks, or another allowed object given attributes it should not have.
    """
    target = unpickler.stack[-2]  # the state is on top, the object under it
    if not isinstance(target, (_NumpyDtype, _NumpyArray)):
        raise pickle.UnpicklingError(f"the file sets the state of a {type(target).__name__}")
    pickle._Unpickler.load_build(unpickler)  # type: ignore[attr-defined]


class _RestrictedUnpickler(pickle._Unpickler):
    """Unpickler that resolves only the globals of :data:`_ALLOWED` (and torch dtypes).

    The pure-Python unpickler, so that BUILD can be restricted (:func:`_checked_build`).
    """

    dispatch: ClassVar[dict[int, Callable[[Any], None]]] = {
        **pickle._Unpickler.dispatch,
        pickle.BUILD[0]: _checked_build,
    }

    def find_class(self, module: str, name: str) -> Any:
        """The stand-in for ``module.name``; :class:`RefusedGlobal` for anything else."""
        # Protocol 0-2 pickles written by Python 3 use Python 2 names (``__builtin__.set``).
        if (module, name) in _compat_pickle.NAME_MAPPING:
            module, name = _compat_pickle.NAME_MAPPING[(module, name)]
        elif module in _compat_pickle.IMPORT_MAPPING:
            module = _compat_pickle.IMPORT_MAPPING[module]
        if (module, name) in _ALLOWED:
            return _ALLOWED[(module, name)]
        if module == "torch" and isinstance(getattr(torch, name, None), torch.dtype):
            return getattr(torch, name)
        raise RefusedGlobal(module, name)

    def persistent_load(self, pid: object) -> Any:
        """Refuse persistent ids (NVlabs pickles have none)."""
        raise pickle.UnpicklingError("the file uses persistent ids, which plain pickles do not")


def read_network_pickle(file: IO[bytes]) -> Any:
    """Unpickle an NVlabs network pickle with the allowed globals only; nothing in it runs.

    Args:
        file: The open binary file.

    Returns:
        The unpickled object, normally a dict whose networks are :class:`PersistentRecord`.

    Raises:
        RefusedGlobal: If the pickle names a global that is not allowed.
        pickle.UnpicklingError: If it is malformed in another way.

    Example:
        >>> import io, pickle
        >>> read_network_pickle(io.BytesIO(pickle.dumps({"a": torch.ones(2)})))["a"]
        tensor([1., 1.])
        >>> read_network_pickle(io.BytesIO(pickle.dumps(print)))
        Traceback (most recent call last):
        ...
        ganlens.models.stylegan_pickle.RefusedGlobal: the file asks for global 'builtins.print'
    """
    return _plain(_RestrictedUnpickler(file).load())
