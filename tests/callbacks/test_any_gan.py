"""The monitors on a GAN that is not ganlens' ProgressiveGAN: a tiny StyleGAN2 trained a few steps.

The module offers only what the monitors' contract asks (``ganlens.callbacks.base``): a
``sample(count, z)`` method, its generator as an attribute, a latent size on the generator, a
resolution in ``hparams``; no ``stage`` and no ``images_shown``.
"""

from __future__ import annotations

import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganlens.callbacks import DissectionMonitor, ImageQualityMonitor
from ganlens.callbacks.history import RunHistory, read_history_file
from ganlens.data import SceneDataModule
from ganlens.models.stylegan2 import StyleGAN2Generator

LAYER = "synthesis.b16.conv1"


class TinyStyleGAN2(pl.LightningModule):
    """A 16 px StyleGAN2 generator against a two-layer critic, non-saturating loss."""

    def __init__(self) -> None:
        super().__init__()
        self.save_hyperparameters({"resolution": 16})  # the latent size is the generator's
        self.automatic_optimization = False
        self.generator = StyleGAN2Generator(z_dim=16, w_dim=16, mapping_layers=2, resolution=16,
                                            channel_base=128, channel_max=16)  # fmt: skip
        self.critic = nn.Sequential(nn.Conv2d(3, 8, 4, 2, 1), nn.LeakyReLU(0.2), nn.Flatten(),
                                    nn.Linear(8 * 8 * 8, 1))  # fmt: skip

    def sample(self, count: int, z: Tensor) -> Tensor:
        return self.generator(z[:count].to(self.device))

    def training_step(self, batch: dict[str, Tensor], batch_idx: int) -> None:
        real = batch["image"]
        opt_g, opt_c = self.optimizers()  # type: ignore[misc]
        z = torch.randn(real.shape[0], self.generator.latent_size, device=self.device)
        fake = self.generator(z)
        c_loss = (
            F.softplus(self.critic(fake.detach())).mean() + F.softplus(-self.critic(real)).mean()
        )
        opt_c.zero_grad()
        self.manual_backward(c_loss)
        opt_c.step()
        g_loss = F.softplus(-self.critic(fake)).mean()
        opt_g.zero_grad()
        self.manual_backward(g_loss)
        opt_g.step()

    def configure_optimizers(self) -> list[torch.optim.Optimizer]:
        return [torch.optim.Adam(self.generator.parameters(), lr=2e-3, betas=(0.0, 0.99)),
                torch.optim.Adam(self.critic.parameters(), lr=2e-3, betas=(0.0, 0.99))]  # fmt: skip


def test_dissection_and_quality_monitors_on_a_stylegan2_lightning_module(tmp_path):
    torch.manual_seed(0)
    module = TinyStyleGAN2()
    before = [p.detach().clone() for p in module.generator.parameters()]
    dissection = DissectionMonitor([LAYER], num_samples=16, batch_size=16,
                                   generator_attribute="generator")  # fmt: skip
    quality = ImageQualityMonitor(num_images=16, batch_size=16)
    trainer = pl.Trainer(
        default_root_dir=tmp_path, max_epochs=2, logger=False, enable_checkpointing=False,
        enable_progress_bar=False, enable_model_summary=False,
        callbacks=[dissection, quality, RunHistory()],
    )  # fmt: skip
    data = SceneDataModule(resolution=16, batch_size=16, train_size=64, val_size=16)
    trainer.fit(module, datamodule=data)

    assert any(
        not torch.equal(a, b) for a, b in zip(before, module.generator.parameters(), strict=True)
    )
    records = read_history_file(tmp_path / "history.jsonl")
    by_monitor = {(r["monitor"], r["epoch"]): r for r in records if r["monitor"] != "fit"}
    assert set(by_monitor) == {(m, e) for m in ("DissectionMonitor", "ImageQualityMonitor")
                               for e in (0, 1)}  # fmt: skip
    last = by_monitor[("DissectionMonitor", 1)]
    assert 0 <= last[f"dissect/{LAYER}/interpretable_units"] <= 8  # channel_base 128 / 16 px
    assert last["dissect/images_shown"] == trainer.global_step  # no images_shown: the step count
    assert dissection.last_result is not None and len(dissection.last_result[LAYER].units) == 8
    swd = by_monitor[("ImageQualityMonitor", 1)]
    assert swd["quality/resolution"] == 16 and swd["quality/swd"] > 0 and "quality/fsd" in swd
