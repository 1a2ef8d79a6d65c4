"""``train.py`` as a user runs it: help, every config, the tiny run and its resumption."""

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from pytorch_lightning.callbacks import ModelCheckpoint

from ganlens import fit as fit_module
from ganlens.callbacks import DissectionMonitor
from ganlens.callbacks.history import RunHistory
from ganlens.cli import main as cli_main
from ganlens.fit import main
from ganlens.report.run_summary import read_history_file

ROOT = Path(__file__).parents[1]
CONFIGS = sorted((ROOT / "configs").glob("*.yaml"))


def train(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "train.py", *args], cwd=ROOT, capture_output=True, text=True, timeout=600
    )


def test_help_documents_the_options():
    done = train("fit", "--help")
    assert done.returncode == 0, done.stderr
    for option in ("--model.schedule", "--model.ema_decay", "--data CONFIG", "--trainer.logger"):
        assert option in done.stdout


@pytest.mark.parametrize("config", CONFIGS, ids=[c.stem for c in CONFIGS])
def test_every_config_instantiates_with_the_resolution_linked(config):
    cli = main(["--config", str(config), "--trainer.accelerator", "cpu"], run=False)
    assert cli.datamodule.resolution == cli.model.hparams["resolution"]
    assert cli.model.schedule.final_resolution == cli.model.hparams["resolution"]


RESUME_HEADING = "### Resuming a run, and what survives a kill"


def resume_commands() -> list[str]:
    """The bash block under the resume heading: README.md once merged, else its draft."""
    for document in (ROOT / "README.md", ROOT / "docs" / "resume_readme.md"):
        text = document.read_text(encoding="utf-8")
        if RESUME_HEADING in text:
            block = text.split(RESUME_HEADING, 1)[1].split("```bash\n", 1)[1].split("```", 1)[0]
            return [line for line in block.splitlines() if line.strip()]
    raise AssertionError(f"no {RESUME_HEADING!r} section")


def test_the_readme_resume_commands_work_as_written(tmp_path):
    # Why 3: the README's resume recipe failed (tiny_cpu.yaml never wrote last.ckpt).
    (tmp_path / "configs").symlink_to(ROOT / "configs")
    # Not WANDB_SERVICE: a W&B test earlier in this process would hand its service to the children,
    # and that service still holds the first command's run id when the second resumes it.
    inherited = {k: v for k, v in os.environ.items() if k != "WANDB_SERVICE"}
    env = {**inherited, "PYTHONPATH": str(ROOT / "src"), "WANDB_MODE": "offline"}
    programs = {"python": [sys.executable], "ganlens": [sys.executable, "-m", "ganlens"]}
    outputs = []
    for line in resume_commands():
        program, *words = shlex.split(line)
        if program == "python":
            words[0] = str(ROOT / words[0])  # train.py, from the repository
        done = subprocess.run([*programs[program], *words], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=900)  # fmt: skip
        assert done.returncode == 0, f"{line}\n{done.stderr[-3000:]}"
        outputs.append(done.stdout)
    run = tmp_path / "outputs" / "tiny_cpu"
    last = torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)
    assert int(last["state_dict"]["images_shown"]) == 4 * 512  # resumed, not restarted
    rows = [row for row in read_history_file(run / "history.jsonl") if "event" not in row]
    assert [row["epoch"] for row in rows] == [0, 1, 2, 3]  # one series, each epoch once
    assert len(list(run.glob("samples/epoch=*.png"))) == 4  # in the run folder, one per epoch
    ids = {path.name for path in run.glob("wandb/offline-run-*/run-*.wandb")}
    assert len(ids) == 1 and len(list(run.glob("wandb/offline-run-*"))) == 2  # one W&B run
    assert "The run finished." in outputs[-1]


@pytest.mark.parametrize("config", CONFIGS, ids=[c.stem for c in CONFIGS])
def test_every_config_saves_last_ckpt_in_the_run_folder(config, tmp_path):
    root = ["--trainer.default_root_dir", str(tmp_path / "run")]
    cli = main(["--config", str(config), *root, "--trainer.accelerator", "cpu"], run=False)
    (checkpoint,) = [c for c in cli.trainer.callbacks if isinstance(c, ModelCheckpoint)]
    assert checkpoint.save_last and checkpoint.dirpath == str(
        (tmp_path / "run/checkpoints").resolve()
    )
    assert checkpoint._save_on_train_epoch_end  # after the monitors' records (RunHistory)
    assert not checkpoint._enable_version_counter  # last.ckpt, never last-v1.ckpt
    assert any(isinstance(c, RunHistory) for c in cli.trainer.callbacks)


def test_a_config_without_a_checkpoint_callback_gets_one(tmp_path):
    text = (ROOT / "configs" / "tiny_cpu.yaml").read_text()
    lines = [line for line in text.splitlines() if "ModelCheckpoint" not in line]
    lines = [line for line in lines if "enable_version_counter" not in line]
    (tmp_path / "bare.yaml").write_text("\n".join(lines))
    cli = main(["--config", str(tmp_path / "bare.yaml"), "--trainer.default_root_dir", "x"],
               run=False)  # fmt: skip
    (checkpoint,) = [c for c in cli.trainer.callbacks if isinstance(c, ModelCheckpoint)]
    assert (
        checkpoint.save_last and Path(checkpoint.dirpath) == (Path("x") / "checkpoints").resolve()
    )


def fit_in_process(root: Path, *args: str) -> int:
    return cli_main(["fit", "--config", str(ROOT / "configs" / "tiny_cpu.yaml"),
                     "--trainer.default_root_dir", str(root), *args], prog="train.py")  # fmt: skip


def bad_checkpoints(folder: Path) -> dict[str, Path]:
    folder.mkdir()
    (folder / "random.ckpt").write_bytes(bytes(range(256)) * 8)
    torch.save({"state_dict": {"w": torch.zeros(1000)}, "epoch": 1}, folder / "whole.ckpt")
    data = (folder / "whole.ckpt").read_bytes()
    (folder / "cut.ckpt").write_bytes(data[: len(data) // 2])
    return {"random": folder / "random.ckpt", "truncated": folder / "cut.ckpt",
            "missing": folder / "lats.ckpt", "folder": folder}  # fmt: skip


@pytest.mark.parametrize("kind", ["missing", "random", "truncated", "folder"])
def test_a_bad_checkpoint_fails_in_one_line_before_touching_the_run(tmp_path, capsys, kind):
    # Why 4: a mistyped --ckpt_path created a W&B run and overwrote config.yaml first.
    root = tmp_path / "run"
    root.mkdir()
    (root / "config.yaml").write_text("the real run's config\n")
    path = bad_checkpoints(tmp_path / "ckpts")[kind]
    assert fit_in_process(root, "--ckpt_path", str(path)) == 2
    error = capsys.readouterr().err
    (line,) = [line for line in error.splitlines() if "error:" in line]
    assert line.startswith("train.py fit: error: --ckpt_path") and str(path) in line
    assert "Traceback" not in error
    assert sorted(p.name for p in root.iterdir()) == ["config.yaml"]
    assert (root / "config.yaml").read_text() == "the real run's config\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--model.resolution", "48"], "resolution is 48"),
        (["--model.latent_size", "-1"], "latent_size"),
        (["--model.schedule", "[{resolution: 4}, {resolution: 16}]"], "must double the previous 4"),
    ],
    ids=["resolution", "latent_size", "schedule"],
)
def test_an_invalid_model_fails_in_one_line_before_any_side_effect(tmp_path, capsys, args, message):
    # Why 7 (training): these were tracebacks.
    assert fit_in_process(tmp_path / "run", *args) == 2
    error = capsys.readouterr().err
    (line,) = [line for line in error.splitlines() if "error:" in line]
    assert line.startswith("train.py fit: error:") and message in line and "Traceback" not in error
    assert not (tmp_path / "run").exists()


def test_a_run_folder_that_is_a_file_or_not_writable_fails_in_one_line(
    tmp_path, capsys, monkeypatch
):
    (tmp_path / "file").write_text("not a folder")
    for root in (tmp_path / "file", tmp_path / "file" / "run"):
        assert fit_in_process(root) == 2
        error = capsys.readouterr().err
        assert "error: --trainer.default_root_dir" in error and "is a file" in error
        assert "Traceback" not in error
    # Not writable: os.access decides (the tests may run as root, who may write anywhere).
    real_access = os.access
    monkeypatch.setattr(
        fit_module.os,
        "access",
        lambda path, mode: Path(path) != tmp_path and real_access(path, mode),
    )
    assert fit_in_process(tmp_path / "run") == 2
    error = capsys.readouterr().err
    assert "is not writable" in error and "Traceback" not in error
    assert not (tmp_path / "run").exists()


def test_debug_shows_the_traceback(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="resolution is 48"):
        cli_main(
            ["--debug", "fit", "--config", "configs/tiny_cpu.yaml", "--model.resolution", "48"]
        )
    with pytest.raises(FileNotFoundError, match="--ckpt_path"):
        fit_in_process(tmp_path, "--debug", "--ckpt_path", str(tmp_path / "none.ckpt"))
    monkeypatch.setenv("GANLENS_DEBUG", "1")
    with pytest.raises(ValueError, match="resolution is 48"):
        fit_in_process(tmp_path, "--model.resolution", "48")


def test_a_bad_option_fails_with_a_message():
    done = train("fit", "--config", "configs/tiny_cpu.yaml", "--model.resolution", "24")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "power of two" in done.stderr or "resolution" in done.stderr


MONITORED = [c for c in CONFIGS if "ganlens.callbacks.DissectionMonitor" in c.read_text()]
"""Long-training recipes that carry their own monitors (on an images-shown schedule)."""


@pytest.mark.parametrize("config", MONITORED, ids=[c.stem for c in MONITORED])
def test_monitored_recipes_build_both_monitors_on_images_shown(config):
    cli = main(["--config", str(config), "--trainer.accelerator", "cpu"], run=False)
    monitors = [c for c in cli.trainer.callbacks if type(c).__name__.endswith("Monitor")]
    kinds = sorted(type(c).__name__ for c in monitors)
    assert kinds == ["DissectionMonitor", "ImageQualityMonitor", "SampleGridMonitor"]
    assert all(m.every_n_images for m in monitors if type(m).__name__ != "SampleGridMonitor")


@pytest.mark.parametrize("config", [c for c in CONFIGS if c not in MONITORED], ids=lambda c: c.stem)
def test_presets_append_both_monitors_to_every_config(config):
    presets = ["--config", "callbacks/interpretability.yaml", "--config", "callbacks/quality.yaml"]
    cli = main(["--config", str(config), *presets, "--trainer.accelerator", "cpu"], run=False)
    kinds = [type(callback).__name__ for callback in cli.trainer.callbacks]
    assert {"DissectionMonitor", "ImageQualityMonitor", "SampleGridMonitor"} <= set(kinds)
    (dissection,) = [c for c in cli.trainer.callbacks if isinstance(c, DissectionMonitor)]
    assert dissection.layers == ["layer4", "layer6"] and dissection.threshold_mode == "iqr"


def test_a_gpu_config_on_a_machine_without_one_fails_in_one_line(tmp_path):
    if torch.cuda.is_available():
        pytest.skip("checks the no-GPU error; this machine has a GPU, so the config runs")
    done = train("fit", "--config", "configs/scene_gpu_64.yaml",
                 "--trainer.default_root_dir", str(tmp_path))  # fmt: skip
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith("train.py fit: error: ")
    assert "gpu" in done.stderr.lower()


def test_a_key_without_network_trains_offline_with_one_warning(tmp_path, tiny_fit):
    done = tiny_fit(WANDB_API_KEY="k" * 40, WANDB_BASE_URL="http://127.0.0.1:9")
    assert done.returncode == 0, done.stderr
    assert "cannot reach 127.0.0.1:9" in done.stderr and "Traceback" not in done.stderr
    assert list((tmp_path / "wandb").glob("offline-run-*"))


def test_another_logger_never_asks_wandb_for_its_mode(tmp_path, monkeypatch):
    def probe():
        raise AssertionError("probed W&B")

    monkeypatch.setattr(fit_module, "wandb_mode", probe)
    monkeypatch.setattr("ganlens.report.wandb_run.wandb_mode", probe)
    root = ["--trainer.default_root_dir", str(tmp_path)]
    csv = ["--trainer.logger", "CSVLogger", "--trainer.logger.save_dir", str(tmp_path)]
    args = ["--config", "configs/tiny_cpu.yaml", *root, *csv]
    cli = main(args, run=False)
    assert type(cli.trainer.logger).__name__ == "CSVLogger"
    monkeypatch.setattr(fit_module, "wandb_mode", lambda: "disabled")
    cli = main(args[:4], run=False)  # the default W&B logger gets the mode when it is chosen
    assert cli.trainer.logger._wandb_init["mode"] == "disabled"


def test_fit_help_offers_our_data_modules_not_optimizers_and_names_fit_once(capsys):
    # ProgressiveGAN builds its own two optimizers; LightningCLI's --optimizer crashed it
    with pytest.raises(SystemExit) as raised:
        cli_main(["fit", "--config", "configs/tiny_cpu.yaml", "--optimizer", "torch.optim.SGD"],
                 prog="train.py")  # fmt: skip
    assert raised.value.code == 2
    assert "unrecognized arguments: --optimizer" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli_main(["fit", "--help"], prog="train.py")
    page = capsys.readouterr().out
    assert page.startswith("usage: train.py [options] fit ") and "--optimizer" not in page
    assert "--lr_scheduler" not in page and "--model.lr" in page
    assert "ganlens.data.SceneDataModule" in page and "ganlens.data.ImageFolderDataModule" in page


def test_a_bad_image_root_fails_before_any_wandb_run_is_made(tmp_path, capsys):
    missing = tmp_path / "no_images"
    data = ["--data", "ganlens.data.ImageFolderDataModule", "--data.init_args.root", str(missing)]
    root = ["--trainer.default_root_dir", str(tmp_path / "run")]
    args = ["fit", "--config", "configs/tiny_cpu.yaml", *data, *root]
    assert cli_main(args, prog="train.py") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert (
        err[-1]
        == f"train.py fit: error: image folder '{missing}' does not exist or is not a folder"
    )
    assert not (tmp_path / "run" / "wandb").exists()  # no W&B run, no repointed latest-run


def test_a_data_resolution_other_than_the_models_is_an_error_not_replaced(tmp_path, capsys):
    args = ["fit", "--config", "configs/tiny_cpu.yaml", "--data.init_args.resolution", "64",
            "--trainer.default_root_dir", str(tmp_path)]  # fmt: skip
    assert cli_main(args, prog="train.py") == 2
    err = capsys.readouterr().err
    assert "--data.init_args.resolution 64 differs from the model's resolution 16" in err
    assert "--model.resolution" in err and not list(tmp_path.iterdir())
