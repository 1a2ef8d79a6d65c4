"""One PEP 562 helper for the lazily importing packages (ganlens.lazy)."""

import os
import sys
import types

import pytest

from fresh_imports import failures_of_each_alone
from ganlens.lazy import lazy_exports

LAZY_PACKAGES = {
    "ganlens.applications": "ganlens.applications.artifacts",
    "ganlens.data": "ganlens.data.datamodules",
    "ganlens.dissect": "ganlens.dissect.runner",
    "ganlens.report": "ganlens.report.publish",
}
"""Each lazy package and a heavy submodule that importing the package must not load."""


def test_a_name_is_imported_on_first_use_and_stored():
    package = types.ModuleType("ganlens_lazy_probe")
    sys.modules[package.__name__] = package
    try:
        getattr_ = lazy_exports("json", {"JSONDecoder": "decoder"})
        import json.decoder

        assert getattr_("JSONDecoder") is json.decoder.JSONDecoder
        probe = lazy_exports(package.__name__, {"anything": "missing"})
        with pytest.raises(AttributeError, match="module 'ganlens_lazy_probe' has no attribute"):
            probe("other")
        with pytest.raises(ModuleNotFoundError, match=r"ganlens_lazy_probe\.missing"):
            probe("anything")
    finally:
        del sys.modules[package.__name__]


def _lazy_check(package: str, heavy: str) -> str:
    return (
        f"import sys, importlib; p = importlib.import_module({package!r}); "
        f"assert {heavy!r} not in sys.modules, 'loaded on import'; "
        "missing = [n for n in p.__all__ if getattr(p, n, None) is None]; "
        "assert not missing, missing; "
        f"assert {heavy!r} in sys.modules; "
        "assert all(n in vars(p) for n in p.__all__), 'not stored'; "
        "name = p.__all__[0]; exec(f'from {p.__name__} import {name}'); "
        "assert not hasattr(p, 'no_such_name')"
    )


@pytest.fixture(scope="module")
def lazy_failures() -> dict[str, str]:
    """Each package checked alone in a fresh child process (forked, see ``fresh_imports``)."""
    return failures_of_each_alone({p: _lazy_check(p, heavy) for p, heavy in LAZY_PACKAGES.items()})


@pytest.mark.skipif(not hasattr(os, "fork"), reason="forks a child per package (POSIX)")
@pytest.mark.parametrize("package", sorted(LAZY_PACKAGES))
def test_each_lazy_package_exports_its_names_without_loading_them_first(package, lazy_failures):
    assert package not in lazy_failures, lazy_failures[package]
