"""Training in slots: wall-clock stops with checkpoints, the compact state, image budgets."""

import pytest
import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import ModelCheckpoint

from ganlens.data.datamodules import SceneDataModule
from ganlens.training import (
    CompactStateExport,
    GrowthPhase,
    ProgressiveGAN,
    export_compact_state,
    load_compact_state,
)

# 4 px for 32 images, 8 px fading in over images 32..96 and stable until 128, then 16 px.
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


def adam_steps(gan: ProgressiveGAN) -> set[int]:
    """Adam's step count per optimiser (weights on a faded-out path may have taken fewer)."""
    return {
        max(int(state["step"]) for state in optimizer.optimizer.state.values())
        for optimizer in gan.optimizers()
    }


def test_max_time_stops_mid_epoch_with_last_checkpoint_and_compact_state(tmp_path):
    gan = tiny_gan()
    saver = ModelCheckpoint(dirpath=tmp_path / "ckpt", save_last=True, every_n_train_steps=10_000)
    export = CompactStateExport(str(tmp_path / "compact.pt"))
    run = trainer(
        tmp_path, max_time={"seconds": 2}, enable_checkpointing=True, callbacks=[saver, export]
    )
    run.fit(gan, datamodule=tiny_data(train_size=16 * 2000))
    shown = gan.images_shown_count
    assert 0 < shown < 16 * 2000  # stopped by the clock, mid-epoch
    last = torch.load(tmp_path / "ckpt" / "last.ckpt", weights_only=True)
    assert int(last["state_dict"]["images_shown"]) == shown
    compact = torch.load(tmp_path / "compact.pt", weights_only=True)
    assert compact["images_shown"] == shown and export.writes == 1


def test_compact_state_resumes_the_schedule_with_bf16_weights_and_fresh_adam(tmp_path):
    first = tiny_gan()
    trainer(tmp_path, limit_train_batches=5).fit(first, datamodule=tiny_data(train_size=128))
    assert first.images_shown_count == 80 and first.stage.phase == 1  # mid-fade at 8 px
    path = export_compact_state(first, tmp_path / "state.pt")
    assert path.stat().st_size < 0.6 * sum(  # bf16 halves the fp32 weights; no Adam moments
        4 * p.numel() for p in first.parameters()
    ) + 0.6 * 4 * sum(p.numel() for p in first.generator_ema.parameters())

    resumed = tiny_gan(seed=7, init_state=str(path))
    assert resumed.images_shown_count == 80 and int(resumed.phase) == 1
    assert resumed.stage == first.stage and resumed.generator_ema.alpha == first.stage.alpha
    assert torch.equal(resumed.noise.get_state(), first.noise.get_state())
    for name in ("generator", "discriminator", "generator_ema"):
        mine, theirs = (
            resumed.get_submodule(name).state_dict(),
            first.get_submodule(name).state_dict(),
        )
        for key, value in theirs.items():
            assert torch.equal(mine[key], value.bfloat16().float()), (name, key)
            assert torch.allclose(mine[key], value, rtol=2**-8, atol=0), (name, key)

    trainer(tmp_path, limit_train_batches=2).fit(resumed, datamodule=tiny_data(train_size=128))
    assert resumed.images_shown_count == 112  # 80 + 2 x 16: faded in (96), stable at 8 px
    assert (resumed.stage.phase, resumed.stage.resolution, resumed.stage.alpha) == (1, 8, 1.0)
    assert resumed.generator_ema.current_resolution == 8
    assert adam_steps(resumed) == {2}  # Adam restarted with the slot, mid-phase

    unbroken = tiny_gan()
    trainer(tmp_path, limit_train_batches=7).fit(unbroken, datamodule=tiny_data(train_size=128))
    assert unbroken.images_shown_count == 112
    assert adam_steps(unbroken) == {5}  # reset only when phase 1 began, at the 3rd batch


def test_float32_compact_state_is_exact_and_architecture_is_checked(tmp_path):
    gan = tiny_gan()
    trainer(tmp_path, limit_train_batches=2).fit(gan, datamodule=tiny_data())
    path = export_compact_state(gan, tmp_path / "exact.pt", dtype="float32")
    copy = tiny_gan(init_state=str(path))
    for key, value in gan.state_dict().items():
        assert torch.equal(copy.state_dict()[key], value), key
    with pytest.raises(ValueError, match="architecture"):
        load_compact_state(tiny_gan(latent_size=8), path)
    with pytest.raises(ValueError, match="dtype must be one of"):
        export_compact_state(gan, tmp_path / "x.pt", dtype="int8")
    torch.save({"weights": 1}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not a compact GAN state"):
        load_compact_state(gan, tmp_path / "other.pt")


def test_max_images_stops_training_across_runs(tmp_path):
    gan = tiny_gan(max_images=48)
    trainer(tmp_path, max_epochs=3).fit(gan, datamodule=tiny_data())
    assert gan.images_shown_count == 48  # 3 of the first epoch's 4 batches
    trainer(tmp_path, max_epochs=3).fit(gan, datamodule=tiny_data())  # a slot after the end
    assert gan.images_shown_count == 48
    with pytest.raises(ValueError, match="max_images"):
        tiny_gan(max_images=0)


def test_split_batches_uses_every_image_in_phase_sized_steps(tmp_path):
    schedule = [GrowthPhase(4, 0, 32, batch_size=8), GrowthPhase(8, 64, 32), PHASES[2]]
    gan = tiny_gan(schedule=schedule, split_batches=True)
    trainer(tmp_path, limit_train_batches=1).fit(gan, datamodule=tiny_data())
    assert gan.images_shown_count == 16 and int(gan.images_shown) == 16
    assert adam_steps(gan) == {2}  # two steps of 8 images from one loader batch of 16


class _Layout(pl.Callback):
    """Records whether the 4-D weights are channels-last while training runs."""

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        weights = [p for p in pl_module.parameters() if p.dim() == 4]
        self.channels_last = all(
            p.is_contiguous(memory_format=torch.channels_last) for p in weights
        )
        self.contiguous = all(p.is_contiguous() for p in weights)


def test_channels_last_trains_the_same_model(tmp_path):
    results = []
    for channels_last in (False, True):
        pl.seed_everything(0)
        gan, layout = tiny_gan(channels_last=channels_last), _Layout()
        trainer(tmp_path, limit_train_batches=2, callbacks=[layout]).fit(
            gan, datamodule=tiny_data()
        )
        results.append((gan, layout))
    (plain, plain_layout), (nhwc, nhwc_layout) = results
    assert nhwc_layout.channels_last and plain_layout.contiguous
    assert not plain_layout.channels_last  # 3x3 kernels: NCHW and NHWC strides differ
    for key, value in plain.state_dict().items():
        assert torch.allclose(nhwc.state_dict()[key], value, atol=1e-5), key


def test_compact_state_export_writes_every_n_images_and_at_the_end(tmp_path):
    export = CompactStateExport(str(tmp_path / "state.pt"), every_n_images=32)
    gan = tiny_gan()
    trainer(tmp_path, callbacks=[export]).fit(gan, datamodule=tiny_data())  # 4 x 16 images
    assert export.writes == 3  # passing 32, passing 64, and on_train_end
    assert torch.load(tmp_path / "state.pt", weights_only=True)["images_shown"] == 64
    with pytest.raises(ValueError, match="every_n_images"):
        CompactStateExport("x.pt", every_n_images=0)
