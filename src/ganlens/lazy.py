"""Names of a package imported from their submodules on first use (PEP 562, standard library only).

A package whose ``__init__`` would otherwise import heavy submodules (torchmetrics, Lightning,
W&B's protobuf reader) lists where each public name lives and sets
``__getattr__ = lazy_exports(__name__, {name: submodule, ...})``: ``import ganlens.X`` then
loads none of them, and ``ganlens.X.Name`` or ``from ganlens.X import Name`` imports
``ganlens.X.submodule`` when ``Name`` is first asked for. Type checkers do not run
``__getattr__``, so such a package repeats the imports under ``if TYPE_CHECKING:``.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(package: str, homes: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` (PEP 562) importing each name of ``homes`` from its submodule.

    The first lookup of a name imports ``package.submodule`` and stores the value in the
    package, so later lookups no longer reach ``__getattr__``.

    Args:
        package: The package's ``__name__``.
        homes: Each lazily imported name and the submodule (relative to ``package``) defining it.

    Returns:
        The function to assign to the package's ``__getattr__``; it raises ``AttributeError``
        (as attribute lookup does) for a name not in ``homes``.

    Example:
        >>> getattr_ = lazy_exports("json", {"JSONDecoder": "decoder"})
        >>> getattr_("JSONDecoder").__module__
        'json.decoder'
        >>> getattr_("nothing")
        Traceback (most recent call last):
        ...
        AttributeError: module 'json' has no attribute 'nothing'
    """
    table = dict(homes)

    def __getattr__(name: str) -> Any:
        home = table.get(name)
        if home is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{home}"), name)
        setattr(sys.modules[package], name, value)
        return value

    return __getattr__
