"""The one W&B route: its mode rule, and a command's results logged to an offline run."""

from __future__ import annotations

import socket
import warnings
from pathlib import Path

import pytest
import wandb
from PIL import Image

from ganlens.report.wandb_run import log_results, start_run, wandb_logger, wandb_mode


@pytest.mark.parametrize(
    ("mode", "key", "netrc", "expected"),
    [
        ("", None, "", "offline"),  # no credentials: offline, nothing needs a network
        ("", "k" * 40, "", "online"),
        ("", None, "machine api.wandb.ai\n  login user\n  password p\n", "online"),
        ("offline", "k" * 40, "", "offline"),  # WANDB_MODE wins over credentials
        ("dryrun", None, "", "offline"),
        ("disabled", "k" * 40, "", "disabled"),
        ("online", None, "", "offline"),  # online asked, but no key: offline, with a warning
    ],
)
def test_mode_follows_wandb_mode_then_credentials(
    tmp_path, monkeypatch, mode, key, netrc, expected
):
    server = socket.create_server(("127.0.0.1", 0))  # a reachable "W&B server"
    monkeypatch.setenv("WANDB_BASE_URL", f"http://127.0.0.1:{server.getsockname()[1]}")
    monkeypatch.setenv("WANDB_MODE", mode)
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    if key:
        monkeypatch.setenv("WANDB_API_KEY", key)
    (tmp_path / "netrc").write_text(netrc)
    monkeypatch.setenv("NETRC", str(tmp_path / "netrc"))
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        assert wandb_mode() == expected
        assert wandb_logger("p")["init_args"]["mode"] == expected
    server.close()


def test_an_unknown_wandb_mode_is_one_clear_error(monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "sometimes")
    with pytest.raises(ValueError, match="WANDB_MODE='sometimes' is not a W&B mode"):
        wandb_mode()


def test_disabled_writes_no_run(tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "disabled")
    run = start_run("ganlens-test", tmp_path, name="off")
    run.log({"x": 1.0})
    run.finish()
    wandb.teardown()  # wandb keeps the first run's settings for the process; reset them
    assert not list((tmp_path / "wandb").glob("*run-*"))


def test_log_results_offline(tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")
    picture = tmp_path / "p.png"
    Image.new("RGB", (4, 4)).save(picture)
    directory = log_results(
        "ganlens-test",
        "context-test",
        tmp_path,
        scalars={"context/wall/success_rate": 0.5},
        tables={"context/table": (["context", "cells"], [["wall", 4], ["sky", 9]])},
        images={"context/grid": picture},
        config={"concept": "door"},
    )
    runs = list((tmp_path / "wandb").glob("offline-run-*"))
    assert runs == [Path(directory)] and list(runs[0].glob("*.wandb"))


def test_online_without_network_or_key_falls_back_to_offline_quickly(monkeypatch):
    import time

    monkeypatch.setenv("WANDB_MODE", "online")
    monkeypatch.setenv("WANDB_API_KEY", "k" * 40)
    monkeypatch.setenv("WANDB_BASE_URL", "http://127.0.0.1:9")  # nothing listens: refused
    started = time.perf_counter()
    with pytest.warns(UserWarning, match=r"cannot reach 127\.0\.0\.1:9.*logging offline"):
        assert wandb_mode() == "offline"
    assert time.perf_counter() - started < 15  # the bound the issue sets for a whole fit
    monkeypatch.delenv("WANDB_API_KEY")
    monkeypatch.setenv("NETRC", "/nonexistent")
    with pytest.warns(UserWarning, match="no W&B API key.*logging offline"):
        assert wandb_mode() == "offline"
