"""``ganlens paint``: its settings checks, the loopback warning, serving with uvicorn."""

import logging
import subprocess
import sys

import pytest
from fastapi.testclient import TestClient

from ganlens.commands import paint as command
from ganlens.commands.paint import PaintSettings, is_loopback, run_paint


def test_settings_module_imports_only_the_standard_library():
    code = (
        "import sys, ganlens.commands.paint as s; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'fastapi', 'numpy'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    assert "open_browser:" in PaintSettings.__doc__ and "quick_samples:" in PaintSettings.__doc__


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"port": 0}, "--port must lie in 1..65535; got 0"),
        ({"port": 70000}, "--port must lie in 1..65535; got 70000"),
        ({"images": 65}, "--images must lie in 1..64; got 65"),
        ({"quick_samples": 4}, "--quick-samples must lie in 8..4096; got 4"),
        ({"top_n": 0}, "--top-n must lie in 1..4096; got 0"),
        ({"seed": -1}, "--seed must lie in"),
        ({"host": " "}, "--host must be an address"),
        ({"dissection": "/nonexistent"}, "--dissection /nonexistent is neither"),
        ({"layer": ""}, "--layer must be a layer name"),
        ({"device": "tpu:x"}, "--device 'tpu:x' is not a torch device"),
    ],
)
def test_bad_settings_raise_before_anything_runs(monkeypatch, changes, message):
    monkeypatch.setattr("uvicorn.run", lambda *a, **k: pytest.fail("served despite bad settings"))
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(".", r"\.")):
        run_paint(PaintSettings(open_browser=False, **changes))  # the settings raise: no run


def test_loopback_hosts():
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.2")
    assert not is_loopback("example.org")


def test_run_paint_serves_with_uvicorn_and_warns_off_loopback(monkeypatch, caplog):
    served = {}
    monkeypatch.setattr("uvicorn.run", lambda app, **kwargs: served.update(kwargs, app=app))
    settings = PaintSettings(host="0.0.0.0", port=9123, layer="layer4", quick_samples=16,
                             open_browser=False)  # fmt: skip
    with caplog.at_level(logging.WARNING, logger=command.__name__):
        assert run_paint(settings) == 0
    assert served["host"] == "0.0.0.0" and served["port"] == 9123
    assert "not loopback" in caplog.text
    client = TestClient(served["app"])
    assert client.get("/api/info").json()["layer"] == "layer4"
    PaintSettings()  # the defaults are valid


def test_paint_is_a_subcommand_of_the_one_command_line(capsys):
    from ganlens.cli import main

    try:
        main(["paint", "--help"])
    except SystemExit as exit_info:
        assert exit_info.code == 0
    out = capsys.readouterr().out
    for flag in ("--generator", "--dissection", "--layer", "--host", "--port", "--open-browser"):
        assert flag in out
    assert main(["paint", "--port", "0", "--no-open-browser"]) == 2
    assert (
        capsys.readouterr().err.strip()
        == "ganlens paint: error: --port must lie in 1..65535; got 0"
    )
