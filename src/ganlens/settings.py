"""Command-line arguments from a settings dataclass: one place for flags, defaults and help.

Every ``ganlens`` subcommand is a dataclass whose fields are its options (documented in the class
docstring's ``Args:`` section) and a function that runs it. :func:`add_settings_arguments` turns the
fields into jsonargparse arguments: ``batch_size`` becomes ``--batch-size`` (also accepted as
``--batch_size``), a ``bool`` becomes a switch (``--quiet`` / ``--no-quiet``), a ``list`` takes
several values (``--layers layer2 layer4``), a ``Literal`` lists its choices, and a field without a
default is positional, or a required option when its metadata says ``{"option": True}``. ``--config
FILE.yaml`` sets any of them from YAML (jsonargparse). Only the standard library and jsonargparse
are imported, so ``--help`` is fast.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from typing import Any, Literal, TypeVar, Union

__all__ = ["add_settings_arguments", "field_help", "settings_from_namespace"]

T = TypeVar("T")


def field_help(settings: type) -> dict[str, str]:
    """Help text of each field, from the ``Args:`` section of the class docstring.

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

    parsed = docstring_parser.parse(settings.__doc__ or "")
    return {p.arg_name: " ".join((p.description or "").split()) for p in parsed.params}


def _optional(hint: Any) -> tuple[Any, bool]:
    """``(X, True)`` for ``X | None``, else ``(hint, False)``."""
    args = typing.get_args(hint)
    if typing.get_origin(hint) in (Union, types.UnionType) and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        if len(rest) == 1:
            return rest[0], True
    return hint, False


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
    for field in dataclasses.fields(settings):
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
        elif origin is Literal:
            kwargs.update(type=str, choices=list(typing.get_args(hint)))
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
