"""configs/scene_gpu_64.yaml: the recipe's settings, and a few steps of it on the CPU, tiny."""

from pathlib import Path

import pytest
import torch

from ganlens.fit import main
from ganlens.training import CompactStateExport

CONFIG = Path(__file__).parents[2] / "configs" / "scene_gpu_64.yaml"
TINY = [
    "--trainer.accelerator", "cpu", "--trainer.logger", "false", "--trainer.max_epochs", "1",
    "--trainer.limit_train_batches", "2",
    "--model.latent_size", "8", "--model.fmap_base", "32", "--model.fmap_max", "8",
    "--data.init_args.batch_size", "8", "--data.init_args.train_size", "32",
    "--data.init_args.num_workers", "0",
]  # fmt: skip


def test_recipe_settings(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    cli = main(["--config", str(CONFIG), "--trainer.accelerator", "cpu"], run=False)
    gan, data, trainer = cli.model, cli.datamodule, cli.trainer
    assert (gan.hparams["fmap_base"], gan.hparams["fmap_max"], gan.hparams["latent_size"]) == (
        2048,
        256,
        256,
    )
    assert 13.5e6 < sum(p.numel() for p in gan.parameters()) < 13.8e6  # G + D + EMA
    assert gan.schedule.total_images() == gan.max_images == 1_200_000
    sizes = [phase.batch_size or 0 for phase in gan.schedule.phases]
    assert sizes == sorted(sizes, reverse=True) and sizes[0] > sizes[-1]  # bigger early
    assert data.batch_size == max(sizes) and gan.split_batches and not data.labels
    assert data.num_workers >= 8
    assert trainer.precision == "bf16-mixed"
    assert trainer.max_epochs == -1 and trainer.max_steps == -1
    assert any(type(c).__name__ == "Timer" for c in trainer.callbacks)  # max_time
    (saver,) = [c for c in trainer.callbacks if type(c).__name__ == "ModelCheckpoint"]
    assert saver.save_last and saver.dirpath == str(tmp_path / "outputs/scene_gpu_64/checkpoints")
    assert any(isinstance(c, CompactStateExport) for c in trainer.callbacks)


def test_recipe_trains_a_few_steps_on_cpu_when_tiny(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # the config's output paths are relative
    cli = main(["--config", str(CONFIG), *TINY], run=False)
    cli.trainer.fit(cli.model, datamodule=cli.datamodule)
    assert cli.model.images_shown_count == 16  # loader batches of 8 < the phase batch of 256
    last = tmp_path / "outputs/scene_gpu_64/checkpoints/last.ckpt"
    assert int(torch.load(last, weights_only=True)["state_dict"]["images_shown"]) == 16
    compact = torch.load(tmp_path / "outputs/scene_gpu_64/compact.pt", weights_only=True)
    assert compact["images_shown"] == 16 and compact["dtype"] == "bfloat16"
    assert all(torch.isfinite(p).all() for p in cli.model.generator.parameters())


@pytest.mark.gpu
def test_recipe_runs_and_resumes_on_cuda_with_channels_last(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    gpu = [*TINY, "--trainer.accelerator", "gpu", "--model.channels_last", "true"]
    cli = main(["--config", str(CONFIG), *gpu], run=False)
    cli.trainer.fit(cli.model, datamodule=cli.datamodule)
    assert cli.model.images_shown_count == 16
    compact = tmp_path / "outputs/scene_gpu_64/compact.pt"
    more = ["--model.init_state", str(compact), "--trainer.max_epochs", "1"]
    resumed = main(["--config", str(CONFIG), *gpu, *more], run=False)
    assert resumed.model.images_shown_count == 16
    resumed.trainer.fit(resumed.model, datamodule=resumed.datamodule)
    assert resumed.model.images_shown_count == 32
    assert torch.load(compact, weights_only=True)["images_shown"] == 32
