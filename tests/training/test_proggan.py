"""The Progressive GAN module: fades, Adam resets, EMA, counters, Trainer runs, exact resume."""

import pytest
import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from pytorch_lightning.callbacks import ModelCheckpoint
from pytorch_lightning.loggers import CSVLogger, WandbLogger

from ganlens.callbacks import SampleGridMonitor
from ganlens.data.datamodules import SceneDataModule
from ganlens.training import GrowthPhase, ProgressiveGAN, fade_real_images

# 4 px for 32 images, then 8 px fading in over images 32..96, so epoch 1 (64 images) ends mid-fade.
PHASES = [GrowthPhase(4, 0, 32), GrowthPhase(8, 64, 32), GrowthPhase(16, 64, 64)]


def tiny_gan(**overrides) -> ProgressiveGAN:
    settings = dict(resolution=16, latent_size=16, fmap_base=64, fmap_max=16, schedule=PHASES)
    return ProgressiveGAN(**(settings | overrides))


def tiny_data(train_size: int = 64, batch_size: int = 16) -> SceneDataModule:
    return SceneDataModule(16, batch_size, train_size=train_size, val_size=16, num_workers=0)


def trainer(tmp_path, **overrides) -> pl.Trainer:
    settings = dict(accelerator="cpu", default_root_dir=tmp_path, logger=False,
                    enable_progress_bar=False, enable_model_summary=False, limit_val_batches=0,
                    enable_checkpointing=False, max_epochs=1)  # fmt: skip
    return pl.Trainer(**(settings | overrides))


def test_real_image_fade_endpoints_equal_old_and_new_paths():
    x = torch.randn(2, 3, 16, 16)
    new = F.avg_pool2d(x, 2)  # [2, 3, 8, 8]
    old = F.interpolate(F.avg_pool2d(new, 2), scale_factor=2.0, mode="nearest")
    assert torch.allclose(fade_real_images(x, 8, 1.0), new)
    assert torch.allclose(fade_real_images(x, 8, 0.0), old)
    assert torch.allclose(fade_real_images(x, 8, 0.25), 0.75 * old + 0.25 * new)
    assert torch.equal(fade_real_images(x, 16, 1.0), x)
    with pytest.raises(ValueError, match="cannot be reduced"):
        fade_real_images(x, 32, 1.0)


def test_schedule_must_end_at_the_resolution():
    with pytest.raises(ValueError, match="schedule ends at 16 px; resolution is 32"):
        ProgressiveGAN(resolution=32, schedule=PHASES)


def test_adam_is_reset_when_a_new_phase_starts(tmp_path):
    gan = tiny_gan()
    trainer(tmp_path, limit_train_batches=3).fit(gan, datamodule=tiny_data())
    assert int(gan.images_shown) == 48 and int(gan.phase) == 1
    opt_g, opt_d = (o.optimizer for o in gan.optimizers())
    for optimizer in (opt_g, opt_d):  # steps 1-2 in phase 0, step 3 after the reset
        steps = {int(state["step"]) for state in optimizer.state.values()}
        assert steps == {1}


def test_ema_follows_the_generator_and_phase_batch_size_is_used(tmp_path):
    schedule = [
        GrowthPhase(4, 0, 32, batch_size=8),
        GrowthPhase(8, 64, 32),
        GrowthPhase(16, 64, 64),
    ]
    gan = tiny_gan(ema_decay=0.5, schedule=schedule)
    before = [p.detach().clone() for p in gan.generator.parameters()]
    trainer(tmp_path, limit_train_batches=1).fit(gan, datamodule=tiny_data())
    assert int(gan.images_shown) == 8  # the first 8 of the loader's 16
    for start, now, ema in zip(
        before, gan.generator.parameters(), gan.generator_ema.parameters(), strict=True
    ):
        assert torch.allclose(ema, 0.5 * start + 0.5 * now.detach())
    assert not any(p.requires_grad for p in gan.generator_ema.parameters())


def test_trainer_run_with_real_loggers(tmp_path):
    gan = tiny_gan()
    loggers = [
        CSVLogger(tmp_path / "csv"),
        WandbLogger(save_dir=str(tmp_path), offline=True, project="test"),
    ]
    grid = SampleGridMonitor(count=4)
    trainer(tmp_path, logger=loggers, callbacks=[grid], log_every_n_steps=1, max_epochs=2).fit(
        gan, datamodule=tiny_data()
    )
    metrics = (tmp_path / "csv" / "lightning_logs" / "version_0" / "metrics.csv").read_text()
    for key in (
        "train/d_loss",
        "train/g_loss",
        "train/gradient_penalty",
        "progress/alpha",
        "progress/kimg",
    ):
        assert key in metrics
    assert list(tmp_path.glob("wandb/offline-run-*/run-*.wandb"))
    assert grid.last_path is not None and grid.last_path.exists()
    # The run folder holds the grids whatever the loggers (beside checkpoints/, history.jsonl).
    assert grid.last_path == tmp_path / "samples" / "epoch=0001.png"
    assert gan.stage.resolution == 16 and gan.stage.alpha == 0.0  # 128 images: 16 px begins
    assert gan.sample(3).shape == (3, 3, 16, 16)


def _state(gan: ProgressiveGAN) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in gan.state_dict().items()}


def test_resume_mid_fade_is_bit_exact(tmp_path):
    pl.seed_everything(0)
    straight = tiny_gan()
    trainer(tmp_path / "a", max_epochs=2).fit(straight, datamodule=tiny_data())

    pl.seed_everything(0)
    first = tiny_gan()
    saver = ModelCheckpoint(dirpath=tmp_path / "ckpt", save_top_k=-1, every_n_epochs=1)
    trainer(tmp_path / "b", max_epochs=1, enable_checkpointing=True, callbacks=[saver]).fit(
        first, datamodule=tiny_data()
    )
    assert first.stage.resolution == 8 and 0.0 < first.stage.alpha < 1.0  # stopped mid-fade
    pl.seed_everything(123)  # resuming must not depend on the global seed
    resumed = tiny_gan(seed=99)  # nor on the module's seed: the stream comes from the checkpoint
    trainer(tmp_path / "c", max_epochs=2).fit(
        resumed, datamodule=tiny_data(), ckpt_path=saver.best_model_path or saver.last_model_path
    )
    expected, actual = _state(straight), _state(resumed)
    assert expected.keys() == actual.keys()
    for key in expected:
        assert torch.equal(expected[key], actual[key]), key
    assert resumed.generator_ema.alpha == straight.generator_ema.alpha


def test_load_from_checkpoint_restores_the_stage(tmp_path):
    gan = tiny_gan()
    saver = ModelCheckpoint(dirpath=tmp_path, save_top_k=-1)
    trainer(tmp_path, enable_checkpointing=True, callbacks=[saver]).fit(gan, datamodule=tiny_data())
    loaded = ProgressiveGAN.load_from_checkpoint(saver.best_model_path)
    assert loaded.generator_ema.current_resolution == 8
    assert loaded.generator_ema.alpha == pytest.approx(gan.stage.alpha)
    assert torch.equal(loaded.sample(2, torch.ones(2, 16)), gan.sample(2, torch.ones(2, 16)))


class _DeviceProbe(pl.Callback):
    """Records where weights, EMA, counters and samples live while training runs.

    Lightning moves the module back to the CPU at teardown, so this must be checked in a hook.
    """

    def __init__(self) -> None:
        self.devices: list[set[str]] = []

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        self.devices.append(
            {
                pl_module.generator.layer1.conv.weight.device.type,
                pl_module.generator_ema.layer1.conv.weight.device.type,
                next(pl_module.discriminator.parameters()).device.type,
                pl_module.images_shown.device.type,
                pl_module.sample(2).device.type,
            }
        )


def run_with_probe(tmp_path, accelerator: str) -> tuple[ProgressiveGAN, _DeviceProbe]:
    gan, probe = tiny_gan(), _DeviceProbe()
    run = trainer(
        tmp_path, accelerator=accelerator, devices=1, limit_train_batches=3, callbacks=[probe]
    )
    run.fit(gan, datamodule=tiny_data())
    assert int(gan.images_shown) == 48 and gan.images_shown_count == 48
    return gan, probe


def test_device_probe_sees_the_training_device_on_cpu(tmp_path):
    assert run_with_probe(tmp_path, "cpu")[1].devices == [{"cpu"}] * 3


@pytest.mark.gpu
def test_training_runs_on_cuda(tmp_path):
    assert run_with_probe(tmp_path, "gpu")[1].devices == [{"cuda"}] * 3


def test_bf16_mixed_precision_steps_stay_finite(tmp_path):
    gan = tiny_gan()
    bf16 = trainer(tmp_path, precision="bf16-mixed", limit_train_batches=3)
    bf16.fit(gan, datamodule=tiny_data())
    assert int(gan.images_shown) == 48
    assert all(torch.isfinite(p).all() for p in gan.generator.parameters())
    assert gan.generator.layer1.conv.weight.dtype == torch.float32  # master weights stay fp32
