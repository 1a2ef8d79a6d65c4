"""Command-line arguments from a settings dataclass: one place for flags, defaults and help.

Every ``ganlens`` subcommand is a dataclass whose fields are its options (documented in the class
docstring's ``Args:`` section) and a function that runs it. :func:`add_settings_arguments` turns the
fields into jsonargparse arguments: ``batch_size`` becomes ``--batch-size`` (also accepted as
``--batch_size``), a ``bool`` becomes a switch (``--quiet`` / ``--no-quiet``), a ``list`` takes
several values (``--layers layer2 layer4``), a ``Literal`` lists its choices, and a field without a
default is positional, or a required option when its metadata says ``{"option": True}``; a
field's metadata ``{"aliases": ("--old-name",)}`` keeps deprecated spellings working. ``--config
FILE.yaml`` sets any of them from YAML (jsonargparse). Only the standard library and jsonargparse
are imported, so ``--help`` is fast.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping, Sequence
from typing import Any, Literal, TypeVar, Union

__all__ = ["add_settings_arguments", "deprecated_flags", "field_help", "settings_from_namespace"]

T = TypeVar("T")


def field_help(settings: type) -> dict[str, str]:
    """Help text of each field, from the ``Args:`` sections of the class and its bases.

    A field documented by several classes of the hierarchy takes the most derived text.

    Example:
        >>> @dataclasses.dataclass
        ... class Settings:
        ...     '''Settings.
        ...
        ...     Args:
        ...         batch_size: Samples per forward pass.
        ...     '''
        ...     batch_size: int = 64
        >>> field_help(Settings)
        {'batch_size': 'Samples per forward pass.'}
    """
    import docstring_parser  # a jsonargparse[signatures] dependency

    helps: dict[str, str] = {}
    for cls in reversed(settings.__mro__):  # option groups first; a command's own text wins
        parsed = docstring_parser.parse(vars(cls).get("__doc__") or "")
        helps.update({p.arg_name: " ".join((p.description or "").split()) for p in parsed.params})
    return helps


def _optional(hint: Any) -> tuple[Any, bool]:
    """``(X, True)`` for ``X | None``, else ``(hint, False)``."""
    args = typing.get_args(hint)
    if typing.get_origin(hint) in (Union, types.UnionType) and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        if len(rest) == 1:
            return rest[0], True
    return hint, False


def _ordered_fields(settings: type) -> list[dataclasses.Field[Any]]:
    """The fields of ``settings``: the class's own first, then each option group's in turn."""
    fields = {f.name: f for f in dataclasses.fields(settings)}
    ordered: dict[str, dataclasses.Field[Any]] = {}
    for cls in settings.__mro__:
        for name in vars(cls).get("__annotations__", {}):
            if name in fields:
                ordered.setdefault(name, fields[name])
    return list(ordered.values())


def deprecated_flags(settings: type, arguments: Sequence[str]) -> list[tuple[str, str]]:
    """``(old, new)`` for each deprecated spelling of a flag of ``settings`` in ``arguments``.

    Example:
        >>> @dataclasses.dataclass
        ... class Settings:
        ...     top_n: int = dataclasses.field(default=5, metadata={"aliases": ("--units",)})
        >>> deprecated_flags(Settings, ["--units", "3"])
        [('--units', '--top-n')]
    """
    found = []
    for field in dataclasses.fields(settings):
        for alias in field.metadata.get("aliases", ()):
            if any(a == alias or a.startswith(alias + "=") for a in arguments):
                found.append((alias, "--" + field.name.replace("_", "-")))
    return found


def add_settings_arguments(parser: Any, settings: type) -> None:
    """Add one argument per field of the dataclass ``settings`` to a jsonargparse ``parser``.

    Example:
        >>> from jsonargparse import ArgumentParser
        >>> @dataclasses.dataclass
        ... class Settings:
        ...     '''Settings.
        ...
        ...     Args:
        ...         folder: Where to write.
        ...         layers: Layers to dissect.
        ...         quiet: No progress bars.
        ...         mode: Threshold policy.
        ...     '''
        ...     folder: str
        ...     layers: list[str] = dataclasses.field(default_factory=lambda: ["layer4"])
        ...     quiet: bool = False
        ...     mode: Literal["iqr", "quantile"] = "iqr"
        >>> parser = ArgumentParser()
        >>> add_settings_arguments(parser, Settings)
        >>> args = parser.parse_args(["out", "--layers", "layer2", "layer6", "--quiet"])
        >>> settings_from_namespace(Settings, args)
        Settings(folder='out', layers=['layer2', 'layer6'], quiet=True, mode='iqr')
    """
    from jsonargparse import ActionYesNo

    hints = typing.get_type_hints(settings)
    helps = field_help(settings)
    for field in _ordered_fields(settings):
        hint, optional = _optional(hints[field.name])
        text = helps.get(field.name, "")
        kwargs: dict[str, Any] = {"help": text or field.name.replace("_", " ")}
        if field.default is not dataclasses.MISSING:
            kwargs["default"] = field.default
        elif field.default_factory is not dataclasses.MISSING:
            kwargs["default"] = field.default_factory()
        origin = typing.get_origin(hint)
        if hint is bool:
            kwargs.update(action=ActionYesNo(yes_prefix="", no_prefix="no-"))
        elif origin is Literal:  # jsonargparse lists the choices in usage and help
            kwargs["type"] = hint
        elif origin in (list, tuple):
            kwargs.update(type=typing.get_args(hint)[0], nargs="+")
        else:
            kwargs["type"] = hint
        if optional and "type" in kwargs and "nargs" not in kwargs:
            kwargs["type"] = kwargs["type"] | None
        if "default" not in kwargs and not field.metadata.get("option"):
            parser.add_argument(field.name, **kwargs)
            continue
        kwargs.setdefault("required", "default" not in kwargs)
        dashed = "--" + field.name.replace("_", "-")
        names = [dashed] if "_" not in field.name else [dashed, "--" + field.name]
        names += list(field.metadata.get("aliases", ()))  # deprecated spellings
        parser.add_argument(*names, dest=field.name, **kwargs)


def settings_from_namespace(settings: type[T], namespace: Mapping[str, Any] | Any) -> T:
    """Build ``settings`` from a parsed namespace (unknown keys such as ``config`` ignored).

    Example:
        >>> @dataclasses.dataclass
        ... class Settings:
        ...     samples: int = 8
        >>> settings_from_namespace(Settings, {"samples": 3, "config": None})
        Settings(samples=3)
    """
    if isinstance(namespace, Mapping):
        values = dict(namespace)
    else:
        values = namespace.as_dict() if hasattr(namespace, "as_dict") else vars(namespace)
    names = {f.name for f in dataclasses.fields(settings)}  # type: ignore[arg-type]
    return settings(**{k: v for k, v in values.items() if k in names})
