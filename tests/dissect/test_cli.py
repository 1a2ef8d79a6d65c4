"""``dissect.py units`` / ``report`` / ``ace`` as a user runs them, on the shipped scene GAN.

Covers the outputs (dissect.json valid against its schema, unit images, HTML), cache reuse and
invalidation, and interrupted runs (no partial output under a final name; a re-run completes and
reuses the finished stages).
"""

import json
import os
import shutil

import pytest

import ganlens.dissect.stages as units_module
import ganlens.io as io_module
from ganlens.cli import build_parser, main
from ganlens.dissect.record import read_document as read_dissect_json
from ganlens.dissect.record import validate_dissect_json

ARGS = ["units", "--layers", "layer4", "layer6", "--samples", "24", "--images-per-unit", "2",
        "--batch-size", "48", "--quiet"]  # fmt: skip
FINAL = ("dissect.json", "dissect.html", "layers.html")


class Spy:
    """Wraps ``ganlens.dissect.stages.dissect`` and records which layers each call dissected."""

    def __init__(self, monkeypatch):
        self.calls: list[list[str]] = []
        real = units_module.dissect

        def spy(generator, layers, *args, **kwargs):
            self.calls.append(list(layers))
            return real(generator, layers, *args, **kwargs)

        monkeypatch.setattr(units_module, "dissect", spy)


def run(out, *extra, verbose=False):
    args = [*ARGS, "--out", str(out), *extra]
    return main([a for a in args if not (verbose and a == "--quiet")])


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    out = tmp_path_factory.mktemp("units") / "out"
    assert run(out) == 0
    return out


@pytest.fixture
def copy_of_finished(finished, tmp_path):
    return shutil.copytree(finished, tmp_path / "out")


def test_units_writes_valid_json_images_and_report(finished):
    document = read_dissect_json(finished)
    validate_dissect_json(document)
    assert [layer["layer"] for layer in document["layers"]] == ["layer4", "layer6"]
    assert document["settings"]["num_probe"] == 24 and document["settings"]["seed"] == 0
    assert document["settings"]["command"]["samples"] == 24  # the command's own names
    for layer in document["layers"]:
        assert (
            layer["num_units"] == len(layer["units"]) == (128 if layer["layer"] == "layer4" else 64)
        )
        images = {unit["image"] for unit in layer["units"]}
        assert len(images) == layer["num_units"]
        assert all((finished / image).read_bytes()[:4] == b"\x89PNG" for image in images)
    html = (finished / "dissect.html").read_text()
    assert html.count('class="unit ') == 128 + 64 and 'data-sort="iou"' in html


def test_a_rerun_reuses_every_stage_and_writes_the_same_json(copy_of_finished, monkeypatch, capsys):
    spy = Spy(monkeypatch)
    monkeypatch.setattr(units_module, "top_sample_overlays", lambda *a, **k: pytest.fail("drew"))
    before = (copy_of_finished / "dissect.json").read_text()
    assert run(copy_of_finished, verbose=True) == 0
    assert spy.calls == []
    err = capsys.readouterr().err
    for layer in ("layer4", "layer6"):
        assert f"{layer}: reused cached dissection" in err and f"{layer}: reused unit images" in err
    assert (copy_of_finished / "dissect.json").read_text() == before


def test_changed_settings_recompute_and_new_layers_add_only_themselves(
    copy_of_finished, monkeypatch
):
    spy = Spy(monkeypatch)
    assert run(copy_of_finished, "--min-iou", "0.2") == 0
    assert spy.calls == [["layer4", "layer6"]]
    document = read_dissect_json(copy_of_finished)
    assert document["settings"]["min_iou"] == 0.2
    assert all(u["iou"] > 0.2 for layer in document["layers"] for u in layer["units"]
               if u["interpretable"])  # fmt: skip
    spy.calls.clear()
    assert run(copy_of_finished, "--layers", "layer2", "layer4", "layer6") == 0
    assert spy.calls == [["layer2"]]
    assert [la["layer"] for la in read_dissect_json(copy_of_finished)["layers"]] == [
        "layer2", "layer4", "layer6"
    ]  # fmt: skip
    spy.calls.clear()
    assert run(copy_of_finished, "--force") == 0
    assert spy.calls == [["layer4", "layer6"]]
    spy.calls.clear()
    everything = ["--layers", "layer2", "layer4", "layer6"]
    assert run(copy_of_finished, *everything, "--exact") == 0  # an exhaustive search: new key
    assert spy.calls == [["layer2", "layer4", "layer6"]]


def test_an_interrupted_run_leaves_no_output_and_the_rerun_reuses_its_stages(
    tmp_path, monkeypatch, capsys
):
    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(units_module, "_draw_units", interrupt)
        with pytest.raises(KeyboardInterrupt):
            run(tmp_path)
    assert not [name for name in FINAL if (tmp_path / name).exists()]
    assert len(list((tmp_path / "cache").glob("*.json"))) == 2
    spy = Spy(monkeypatch)
    assert run(tmp_path, verbose=True) == 0
    assert spy.calls == [] and "layer4: reused cached dissection" in capsys.readouterr().err
    validate_dissect_json(read_dissect_json(tmp_path))


def test_an_interrupted_write_keeps_the_previous_json_whole(copy_of_finished, monkeypatch):
    before = (copy_of_finished / "dissect.json").read_bytes()
    real_replace = os.replace

    def replace(source, target):
        if os.fspath(target).endswith("dissect.json"):
            raise KeyboardInterrupt
        real_replace(source, target)

    monkeypatch.setattr(io_module.os, "replace", replace)
    with pytest.raises(KeyboardInterrupt):
        run(copy_of_finished, "--min-iou", "0.3")
    assert (copy_of_finished / "dissect.json").read_bytes() == before
    assert not [p.name for p in copy_of_finished.iterdir() if p.name.endswith(".tmp")]
    assert not [p.name for p in (copy_of_finished / "images").iterdir() if p.name.startswith(".")]


def test_report_folds_in_ace_results_and_rebuilds_the_pages(copy_of_finished):
    ace = {"layer": "layer6", "concept": "sky", "num_units": 64, "alpha": [0.5] * 64,
           "ranking": {"ace": [3, 1], "iou": [1, 3]},
           "curves": {"n": [1, 2], "ablation": {"ace": [0.2, 0.3], "iou": [0.1, 0.2]}}}  # fmt: skip
    (copy_of_finished / "ace" / "layer6").mkdir(parents=True)
    (copy_of_finished / "ace" / "layer6" / "sky.json").write_text(json.dumps(ace))
    (copy_of_finished / "dissect.html").unlink()
    assert main(["report", str(copy_of_finished), "--quiet"]) == 0
    document = read_dissect_json(copy_of_finished)
    validate_dissect_json(document)
    layer6 = document["layers"][1]
    assert [r["name"] for r in layer6["rankings"] if r["metric"] == "ace"] == ["sky-ace"]
    assert 'class="chart line-chart"' in (copy_of_finished / "dissect.html").read_text()


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--layers", "layr4"], "Did you mean 'layer4'"),
        (["--segmenter", "nowhere"], "segmenter must be 'scene', 'segformer:PATH'"),
        (["--generator", "missing.pth"], "generator file 'missing.pth' does not exist"),
    ],
)
def test_bad_input_exits_2_naming_the_problem(tmp_path, capsys, extra, message):
    assert run(tmp_path, *extra) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "dissect.json").exists()


def test_report_without_a_dissection_exits_2(tmp_path, capsys):
    assert main(["report", str(tmp_path)]) == 2
    assert "no dissect.json at" in capsys.readouterr().err


def test_every_flag_has_help_text():
    parser = build_parser()
    commands = next(a for a in parser._actions if a.dest == "subcommand").choices
    for name in ("units", "report", "ace", "summary", "scenes", "segmenter"):
        for action in commands[name]._actions:
            assert action.help, f"{name} {action.option_strings or action.dest} lacks help"


def test_settings_are_checked_before_anything_runs(tmp_path, capsys):
    assert main(["ace", "--concept", "tree", "--radius", "-1", "--out", str(tmp_path)]) == 2
    assert "--radius must be 0 or more; got -1" in capsys.readouterr().err
    assert main(["units", "--batch-size", "0", "--out", str(tmp_path)]) == 2
    assert "--batch-size must be a positive number; got 0" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def test_other_layers_into_the_same_folder_are_merged_not_dropped(copy_of_finished, monkeypatch):
    spy = Spy(monkeypatch)
    before = read_dissect_json(copy_of_finished)
    assert run(copy_of_finished, "--layers", "layer2") == 0
    assert spy.calls == [["layer2"]]
    document = read_dissect_json(copy_of_finished)
    validate_dissect_json(document)
    assert [la["layer"] for la in document["layers"]] == ["layer2", "layer4", "layer6"]
    assert document["layers"][1:] == before["layers"]
    for layer in document["layers"]:
        assert all((copy_of_finished / u["image"]).is_file() for u in layer["units"])


def test_other_settings_for_other_layers_need_overwrite(copy_of_finished, capsys):
    before = (copy_of_finished / "dissect.json").read_bytes()
    images = sorted(p.name for p in (copy_of_finished / "images").iterdir())
    assert run(copy_of_finished, "--layers", "layer2", "--min-iou", "0.3") == 2
    err = capsys.readouterr().err
    assert "layer4, layer6" in err and "--overwrite" in err and "min_iou" in err
    assert (copy_of_finished / "dissect.json").read_bytes() == before
    assert sorted(p.name for p in (copy_of_finished / "images").iterdir()) == images
    assert run(copy_of_finished, "--layers", "layer2", "--min-iou", "0.3", "--overwrite") == 0
    assert [la["layer"] for la in read_dissect_json(copy_of_finished)["layers"]] == ["layer2"]
    assert [p.name.split("-")[0] for p in (copy_of_finished / "images").iterdir()] == ["layer2"]


@pytest.mark.parametrize("name", ["model.ckpt", "model.pth"])
def test_a_corrupt_generator_file_is_one_line_naming_it(tmp_path, capsys, name):
    broken = tmp_path / name
    broken.write_bytes(os.urandom(256))
    assert run(tmp_path / "out", "--generator", str(broken)) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("ganlens units: error: ") and str(broken) in err
    assert "\n" not in err and "weights_only" not in err and "Traceback" not in err


def test_an_output_folder_that_is_a_file_or_read_only_is_one_line(tmp_path, capsys, monkeypatch):
    afile = tmp_path / "afile"
    afile.write_text("")
    assert run(afile) == 2
    assert capsys.readouterr().err.strip() == (
        f"ganlens units: error: --out {afile} is a file, not a folder"
    )
    locked = tmp_path / "locked"
    locked.mkdir()
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, m: str(p) != str(locked) and real_access(p, m))
    assert run(locked / "out") == 2  # (root may write anywhere, so the check is simulated)
    assert capsys.readouterr().err.strip() == (
        f"ganlens units: error: --out {locked / 'out'}: {locked} is not writable"
    )
    assert not (locked / "out").exists()


def test_a_record_without_command_settings_needs_overwrite_to_merge(copy_of_finished, capsys):
    document = json.loads((copy_of_finished / "dissect.json").read_text())
    del document["settings"]["command"]  # as ganlens wrote it before recording them
    (copy_of_finished / "dissect.json").write_text(json.dumps(document))
    assert run(copy_of_finished, "--layers", "layer2") == 2
    assert "did not record its command settings" in capsys.readouterr().err


@pytest.mark.parametrize(
    "mode", ["iqr", pytest.param("quantile", marks=pytest.mark.slow)]
)  # one real 2-process run in the default suite
def test_two_processes_write_the_dissection_of_one(tmp_path, capfd, mode):
    one, two = tmp_path / "one", tmp_path / "two"
    extra = ["--layers", "layer4", "--threshold-mode", mode]
    # Each of the 2 processes takes 12 of the 24 samples of a set, so the one-process run uses
    # batches of 12 too: the convolutions' rounding depends on the batch size (the 64 px
    # generator's images differ in the last bit between batches of 12 and 48, enough to flip a
    # few segmentation labels), while the sums across processes are exact.
    assert run(one, *extra, "--batch-size", "12") == 0
    capfd.readouterr()
    assert run(two, *extra, "--devices", "2", verbose=True) == 0  # Fabric, ddp_spawn, gloo
    err = capfd.readouterr().err  # (the processes write to the file descriptor)
    assert "running on 2 processes (cpu)" in err and "layer4: " in err
    assert "Initializing distributed" not in err and "distributed_backend" not in err
    assert read_dissect_json(two) == read_dissect_json(one)  # the counts sum exactly
    assert len(list((two / "images").rglob("*.png"))) == len(list((one / "images").rglob("*.png")))


def test_devices_must_be_positive(tmp_path, capsys):
    assert run(tmp_path, "--devices", "0") == 2
    assert "--devices must be a positive number; got 0" in capsys.readouterr().err


@pytest.mark.slow  # two torchrun "nodes" of one process each (about 30 s)
def test_two_nodes_under_torchrun_write_the_dissection_of_one(tmp_path):
    import socket
    import subprocess
    import sys

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    out = tmp_path / "out"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}

    def node(rank: int) -> subprocess.Popen[str]:
        torchrun = [sys.executable, "-m", "torch.distributed.run", "--nnodes", "2", "--node_rank",
                    str(rank), "--nproc-per-node", "1", "--master_addr", "127.0.0.1",
                    "--master_port", str(port)]  # fmt: skip
        command = [*torchrun, "dissect.py", *ARGS, "--out", str(out), "--num-nodes", "2"]
        return subprocess.Popen(command, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)  # fmt: skip

    nodes = [node(0), node(1)]
    errors = [node.communicate(timeout=600)[1] for node in nodes]
    assert [node.returncode for node in nodes] == [0, 0], errors
    one = tmp_path / "one"  # at each node's batch: 12 of the 24 samples of a set
    assert run(one, "--batch-size", "12") == 0
    assert read_dissect_json(out) == read_dissect_json(one)


def test_several_nodes_without_a_launcher_is_one_line(tmp_path, capsys):
    assert run(tmp_path, "--num-nodes", "2") == 2
    assert "--num-nodes 2 needs a launcher" in capsys.readouterr().err


def test_the_log_lists_each_layers_part_units(tmp_path, capfd):
    assert run(tmp_path, "--layers", "layer6", verbose=True) == 0
    err = capfd.readouterr().err
    summary = read_dissect_json(tmp_path)["layers"][0]["summary"]
    parts = [e for e in summary["class_distribution"] if e["category"] == "part"]
    line = next(line for line in err.splitlines() if "layer6: " in line and "interpretable" in line)
    if parts:  # e.g. "...; 3 part units (roof 2, door 1)"
        listed = ", ".join(f"{e['concept']} {e['count']}" for e in parts)
        assert line.endswith(f"; {sum(e['count'] for e in parts)} part units ({listed})"), line
    else:
        assert "part units" not in line, line
