"""ImageQualityMonitor: a real tiny training run, its logged keys and values, state, FID paths."""

import csv
import json
import math
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch
from pytorch_lightning.loggers import CSVLogger

from ganlens.callbacks import quality
from ganlens.callbacks.quality import ImageQualityMonitor
from ganlens.data.datamodules import SceneDataModule
from ganlens.training import GrowthPhase, ProgressiveGAN

# 64 images per epoch: epoch 0 ends at 8 px (not evaluated), epoch 1 at 16 px, epoch 2 at 32 px.
PHASES = [GrowthPhase(4, 0, 32), GrowthPhase(8, 16, 32), GrowthPhase(16, 16, 48)]
PHASES.append(GrowthPhase(32, 16, 64))
N = 32  # images per set; the 64 training scenes are the 2N real images


def tiny_gan() -> ProgressiveGAN:
    return ProgressiveGAN(resolution=32, latent_size=16, fmap_base=64, fmap_max=16, schedule=PHASES)


def tiny_trainer(tmp_path: Path, callbacks: list[pl.Callback], **overrides) -> pl.Trainer:
    settings = dict(accelerator="cpu", default_root_dir=tmp_path, logger=CSVLogger(tmp_path),
                    enable_progress_bar=False, enable_model_summary=False, limit_val_batches=0,
                    enable_checkpointing=False, max_epochs=3, callbacks=callbacks)  # fmt: skip
    return pl.Trainer(**(settings | overrides))


def quality_rows(trainer: pl.Trainer) -> list[dict[str, float]]:
    with open(trainer.logger.experiment.metrics_file_path) as file:
        rows = list(csv.DictReader(file))
    return [
        {key: float(value) for key, value in row.items() if value != ""}
        for row in rows
        if row.get("quality/swd")
    ]


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory):
    tmp_path = tmp_path_factory.mktemp("quality")
    monitor = ImageQualityMonitor(num_images=N, batch_size=16)
    gan, data = tiny_gan(), SceneDataModule(32, 16, train_size=2 * N, val_size=16, num_workers=0)
    trainer = tiny_trainer(tmp_path, [monitor])
    with pytest.warns(UserWarning, match="quality/fid is skipped; logging quality/fsd"):
        trainer.fit(gan, datamodule=data)
    return trainer, gan, monitor


def test_evaluated_epochs_log_every_key_with_sane_values(trained):
    trainer, _, _ = trained
    rows = quality_rows(trainer)
    assert [row["epoch"] for row in rows] == [1, 2]  # epoch 0 ended at 8 px: nothing logged
    assert [row["quality/resolution"] for row in rows] == [16, 32]
    assert [row["quality/images_shown"] for row in rows] == [128, 192]
    levels = {16: [16], 32: [32, 16]}
    for row in rows:
        resolutions = levels[int(row["quality/resolution"])]
        expected = {"quality/swd", "quality/swd_floor", "quality/fsd", "quality/resolution"}
        expected |= {f"quality/swd_{r}px" for r in resolutions}
        expected |= {f"quality/swd_floor_{r}px" for r in resolutions}
        assert {key for key in row if key.startswith("quality/")} == expected | {
            "quality/images_shown"
        }
        assert "quality/fid" not in row
        for name in ("swd", "swd_floor"):
            per_level = [row[f"quality/{name}_{r}px"] for r in resolutions]
            assert min(per_level) > 0
            assert row[f"quality/{name}"] == pytest.approx(sum(per_level) / len(per_level))
        assert row["quality/swd"] > row["quality/swd_floor"]  # an untrained G is far from real
        assert math.isfinite(row["quality/fsd"]) and row["quality/fsd"] > 0


def test_state_round_trip_continues_the_same_series(trained, tmp_path, monkeypatch):
    trainer, gan, monitor = trained
    state = monitor.state_dict()
    assert state["latents"].shape == (N, 16)
    path = tmp_path / "last.ckpt"
    trainer.save_checkpoint(path)
    saved = torch.load(path, weights_only=True)["callbacks"][monitor.state_key]
    assert torch.equal(saved["latents"], state["latents"])

    logged: list[dict[str, float]] = []
    monkeypatch.setattr(quality, "log_evaluation", lambda _t, scalars, **_k: logged.append(scalars))
    resumed = ImageQualityMonitor(num_images=N, batch_size=16, seed=0)
    resumed.load_state_dict(saved)
    with pytest.warns(UserWarning):
        resumed.setup(trainer, gan, "fit")
    resumed.evaluate(trainer, gan, 32)  # real statistics recomputed from scratch
    monitor.evaluate(trainer, gan, 32)
    assert logged[0] == logged[1]
    other = ImageQualityMonitor(num_images=N, batch_size=16, seed=1, alternative=None)
    other.real_source = resumed._real
    with pytest.warns(UserWarning, match=r"alternative=None"):
        other.setup(trainer, gan, "fit")
    other.evaluate(trainer, gan, 32)
    assert not torch.equal(other.latents, resumed.latents)
    assert "quality/fsd" not in logged[2] and logged[2]["quality/swd"] != logged[0]["quality/swd"]


def random_inception_weights(path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """torch-fidelity's Inception-v3 with random weights, saved as a state dict, no download."""
    from torch_fidelity import feature_extractor_inceptionv3 as inception

    with monkeypatch.context() as patch:
        patch.setattr(inception, "load_state_dict_from_url", lambda *args, **kwargs: None)
        patch.setattr(inception.FeatureExtractorInceptionV3, "load_state_dict", lambda *a: None)
        network = inception.FeatureExtractorInceptionV3("inception-v3-compat", ["2048"])
    torch.save(network.state_dict(), path)
    return path


def test_inception_weights_give_quality_fid(tmp_path, monkeypatch):
    # With random weights the number is meaningless, but the code path (torchmetrics FID with
    # feature_extractor_weights_path and antialias=False) is the one real weights take.
    weights = random_inception_weights(tmp_path / "inception.pth", monkeypatch)
    real = torch.rand(8, 3, 16, 16) * 2 - 1
    monitor = ImageQualityMonitor(num_images=4, inception_weights=str(weights), real_images=real)
    gan = ProgressiveGAN(16, 8, 32, 8, schedule=[GrowthPhase(16, 0, 8)])
    trainer = pl.Trainer(logger=CSVLogger(tmp_path), enable_progress_bar=False)
    monitor.setup(trainer, gan, "fit")
    monitor.on_train_epoch_end(trainer, gan)
    trainer.logger.save()
    (row,) = quality_rows(trainer)
    assert math.isfinite(row["quality/fid"]) and "quality/fsd" not in row
    assert row["quality/resolution"] == 16 and {"quality/swd_16px", "quality/swd_floor"} <= set(row)


def test_every_n_images_evaluates_after_the_batch_that_passes_each_multiple(tmp_path):
    monitor = ImageQualityMonitor(num_images=N, batch_size=16, every_n_images=70, alternative=None)
    gan, data = tiny_gan(), SceneDataModule(32, 16, train_size=2 * N, val_size=16, num_workers=0)
    trainer = tiny_trainer(tmp_path, [monitor])  # 16 images a batch, 192 in all
    trainer.fit(gan, datamodule=data)
    rows = quality_rows(trainer)  # 70 and 140 are passed by the batches ending at 80 and 144
    assert [row["quality/images_shown"] for row in rows] == [80, 144]
    assert [row["quality/resolution"] for row in rows] == [16, 32]  # 16 px from 80, 32 from 144
    assert monitor.state_dict()["images_block"] == 2


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"num_images": 1}, "num_images must be an integer >= 2, got 1"),
        ({"every_n_epochs": 0}, "every_n_epochs must be an integer >= 1, got 0"),
        ({"every_n_images": 0}, "every_n_images must be an integer >= 1 or None, got 0"),
        ({"batch_size": 0}, "batch_size must be an integer >= 1"),
        ({"alternative": "inception"}, "alternative must be 'segmenter' or None, got 'inception'"),
        ({"inception_weights": "/no/such.pth"}, "inception_weights must be an existing file"),
        ({"real_images": torch.zeros(3, 3, 16, 16)}, r"real_images must have shape \[M >= 8"),
    ],
)
def test_bad_arguments_raise(arguments, message):
    with pytest.raises(ValueError, match=message):
        ImageQualityMonitor(**({"num_images": 4} | arguments))


def test_too_few_real_images_raise(tmp_path):
    monitor = ImageQualityMonitor(num_images=N, alternative=None)
    data = SceneDataModule(16, 16, train_size=N, val_size=16, num_workers=0)
    gan = ProgressiveGAN(16, 8, 32, 8, schedule=[GrowthPhase(16, 0, 8)])
    trainer = tiny_trainer(tmp_path, [monitor], max_epochs=1, limit_train_batches=1)
    with pytest.warns(UserWarning), pytest.raises(ValueError, match=r"needs 64 real images"):
        trainer.fit(gan, datamodule=data)


DDP_WORKER = """
import json, sys, types
import torch, torch.distributed as dist
from ganlens.callbacks import quality
from ganlens.training import GrowthPhase, ProgressiveGAN

rank, world, port, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
if world > 1:
    dist.init_process_group("gloo", f"tcp://127.0.0.1:{port}", rank=rank, world_size=world)
torch.manual_seed(0)
gan = ProgressiveGAN(16, 8, 32, 8, schedule=[GrowthPhase(16, 0, 8)])
real = torch.rand(48, 3, 32, 32, generator=torch.Generator().manual_seed(1)) * 2 - 1
logged = []
quality.log_evaluation = lambda trainer, scalars, **kwargs: logged.append(scalars)
monitor = quality.ImageQualityMonitor(num_images=24, batch_size=5, real_images=real)
trainer = types.SimpleNamespace(global_rank=rank, world_size=world, datamodule=None)
monitor.setup(trainer, gan, "fit")
monitor.evaluate(trainer, gan, 16)
json.dump(logged[0], open(f"{out}/world{world}_rank{rank}.json", "w"))
"""


@pytest.mark.slow
@pytest.mark.skipif(not torch.distributed.is_available(), reason="torch.distributed unavailable")
def test_two_process_ddp_matches_one_process(tmp_path):
    # Each rank embeds every second image; sum states (Fréchet) reduce to the one-process
    # statistics exactly, SWD's per-rank patch positions make it a different, equally valid draw.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = str(probe.getsockname()[1])
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    runs = [("1", "0"), ("2", "0"), ("2", "1")]
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", DDP_WORKER, rank, world, port, str(tmp_path)],
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        for world, rank in runs
    ]
    for worker in workers:
        _, stderr = worker.communicate(timeout=300)
        assert worker.returncode == 0, stderr[-3000:]
    single, rank0, rank1 = (
        json.loads((tmp_path / f"world{world}_rank{rank}.json").read_text()) for world, rank in runs
    )
    assert rank0 == rank1 and set(rank0) == set(single)
    assert rank0["quality/fsd"] == pytest.approx(single["quality/fsd"], rel=1e-6)
    for key in ("quality/swd", "quality/swd_floor"):
        assert rank0[key] == pytest.approx(single[key], rel=0.3) and rank0[key] != single[key]
