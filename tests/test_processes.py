"""A process that raises, dies or hangs stops a multi-process job with one line naming it."""

from __future__ import annotations

import time
from functools import partial

import pytest
import torch

from ganlens.cli import main
from ganlens.processes import ProcessFailure, run_on_devices
from process_faults import FAIL_AFTER, FAIL_RANK, work

pytestmark = pytest.mark.skipif(not torch.distributed.is_available(), reason="no torch.distributed")


def test_a_process_that_raises_stops_the_job_naming_it():
    with pytest.raises(ProcessFailure) as caught:
        run_on_devices(work, devices=2, quiet=True)
    assert str(caught.value) == "process 1 of 2 failed: RuntimeError: injected failure"


@pytest.mark.slow  # two more spawns (about 20 s)
def test_a_process_that_dies_or_hangs_stops_the_job_in_bounded_time():
    with pytest.raises(ProcessFailure, match=r"^process 1 of 2 exited with code 9 "):
        run_on_devices(partial(work, how="exit"), devices=2, quiet=True)
    started = time.perf_counter()
    with pytest.raises(ProcessFailure, match=r"^process 0 of 2 failed: .*[Tt]imed out"):
        run_on_devices(partial(work, how="hang"), devices=2, quiet=True, timeout=5)
    assert time.perf_counter() - started < 60  # the 5 s timeout, plus starting two processes


UNITS = ["units", "--generator", "process_faults:scene_generator_that_fails", "--layers",
         "layer4", "--samples", "24", "--batch-size", "8", "--images-per-unit", "2",
         "--devices", "2"]  # fmt: skip


@pytest.mark.slow  # three 2-process dissections (about a minute)
def test_units_fails_in_one_line_writes_nothing_and_the_rerun_reuses_the_cache(
    tmp_path, capfd, monkeypatch
):
    out = tmp_path / "out"
    monkeypatch.setenv(FAIL_RANK, "1")
    monkeypatch.setenv(FAIL_AFTER, "3")  # in the dissection's second pass
    assert main([*UNITS, "--out", str(out), "--quiet"]) == 1
    assert capfd.readouterr().err.strip().splitlines()[-1] == (
        "ganlens units: error: process 1 of 2 failed: RuntimeError: injected failure "
        "(--debug shows its traceback)"
    )
    assert not (out / "dissect.json").exists() and not list(out.rglob("*.png"))
    assert not list(out.rglob("*.json"))  # no layer finished, so none is cached

    monkeypatch.setenv(FAIL_RANK, "0")
    monkeypatch.setenv(FAIL_AFTER, "8")  # rank 0 drawing the unit images, after the cache
    assert main([*UNITS, "--out", str(out), "--quiet"]) == 1
    assert "process 0 of 2 failed: RuntimeError: injected failure" in capfd.readouterr().err
    assert not (out / "dissect.json").exists() and list((out / "cache").glob("layer4-*.json"))

    monkeypatch.setenv(FAIL_RANK, "-1")  # nobody fails
    assert main([*UNITS, "--out", str(out)]) == 0
    assert "layer4: reused cached dissection" in capfd.readouterr().err
    assert (out / "dissect.json").is_file()


@pytest.mark.slow  # two torchrun "nodes", one waiting out a 15 s timeout (about 40 s)
def test_a_wrong_layer_on_one_node_stops_both_before_any_computing(tmp_path):
    import os
    import socket
    import subprocess
    import sys

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    out = tmp_path / "out"

    def node(rank: int, layer: str) -> subprocess.Popen[str]:
        torchrun = [sys.executable, "-m", "torch.distributed.run", "--nnodes", "2", "--node_rank",
                    str(rank), "--nproc-per-node", "1", "--master_addr", "127.0.0.1",
                    "--master_port", str(port)]  # fmt: skip
        units = ["dissect.py", "units", "--layers", layer, "--samples", "24", "--num-nodes", "2",
                 "--timeout", "15", "--quiet", "--out", str(out)]  # fmt: skip
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        return subprocess.Popen([*torchrun, *units], env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)  # fmt: skip

    started = time.perf_counter()
    nodes = [node(0, "layer4"), node(1, "layer99")]
    errors = [process.communicate(timeout=300)[1] for process in nodes]
    assert [process.returncode != 0 for process in nodes] == [True, True]
    assert "dissect.py units: error: unknown layer 'layer99'" in errors[1]
    assert (
        "dissect.py units: error: process 0 could not join the others within --timeout 15 s"
        in errors[0]
    )
    assert time.perf_counter() - started < 120 and not out.exists()  # nothing was computed
