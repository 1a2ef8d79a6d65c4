"""A callback that measures the causal effect of given unit sets on a concept during training.

GAN Dissection (Bau et al., ICLR 2019, arXiv:1811.10597, section 3.2, eq. 3): the average causal
effect ``delta(U -> c) = E[s_c(inserted)] - E[s_c(ablated)]`` of units U at one layer
(the paper's eq. 3), computed by :class:`~ganlens.metrics.AverageCausalEffect` on a fixed bank
of latents every few epochs and logged through :func:`~ganlens.callbacks.logging.log_evaluation`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pytorch_lightning as pl
import torch
from pytorch_lightning.utilities import rank_zero_warn
from torch import Tensor, nn

from ganlens.callbacks.base import Monitor, latent_size_of
from ganlens.callbacks.logging import log_evaluation
from ganlens.hooks import layers_run
from ganlens.metrics.causal_effect import REGIONS, AverageCausalEffect
from ganlens.metrics.distributed import all_reduce_sum

__all__ = ["CausalEffectMonitor"]


class CausalEffectMonitor(Monitor):
    """Log the ACE of fixed unit sets on a concept after every ``every_n_epochs`` epochs.

    The module must expose the generator as attribute ``generator_attribute`` (the EMA generator
    of :class:`~ganlens.training.ProgressiveGAN` by default) and ``hparams["latent_size"]`` (or
    the generator a ``latent_size``). The latents are drawn once from ``seed`` and kept in the
    callback's checkpointed state. Under DDP each process evaluates its share of them and the
    metric's sum states are all-reduced, so every process computes the same values. With ``k``
    None the insertion constants are the coverage-weighted means over all the latents (the same
    on every process). Evaluation is skipped, with a warning, while the layer is not yet part of
    the growing generator.

    Logged metrics (``<set>/`` only when ``units`` is a mapping of named sets):
        ``causal/<layer>/<concept>/<set>/ace``, ``.../inserted``, ``.../ablated``: hard values
        (argmax pixel fraction), ``.../ace_soft``, ``.../inserted_soft``, ``.../ablated_soft``:
        soft values (class probability), each a mean over the region's cells per image, averaged
        over images.

    Args:
        layer: Dotted layer name of the generator.
        concept: Concept name.
        units: Unit ids, or a mapping from set name to unit ids.
        segmenter: A :class:`~ganlens.segment.Segmenter`; default the shipped scene segmenter.
        k: Insertion value: a number, ``[U]`` per-unit values, or None (computed).
        count: Number of fixed latents.
        batch_size: Samples per forward pass.
        every_n_epochs: Evaluate after every this many epochs.
        seed: Seed of the fixed latents.
        region: ``"whole"`` or ``"present"`` (see :class:`~ganlens.metrics.AverageCausalEffect`).
        generator_attribute: Name of the module's generator attribute.

    Raises:
        ValueError: On an empty unit set, a bad count or an unknown region.

    Example:
        >>> monitor = CausalEffectMonitor("layer4", "tree", {"top": [3, 7]}, count=16)
        >>> monitor.state_dict()
        {'latents': None, 'images_block': 0}
    """

    def __init__(
        self,
        layer: str,
        concept: str,
        units: Sequence[int] | Mapping[str, Sequence[int]],
        segmenter: Any | None = None,
        k: float | Sequence[float] | Tensor | None = None,
        count: int = 64,
        batch_size: int = 32,
        every_n_epochs: int = 1,
        seed: int = 0,
        region: str = "whole",
        generator_attribute: str = "generator_ema",
    ) -> None:
        sets = dict(units) if isinstance(units, Mapping) else {"": units}
        if not sets or any(len(u) == 0 for u in sets.values()):
            raise ValueError(f"units must name at least one unit per set; got {units!r}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1; got {batch_size}")
        super().__init__(count, every_n_epochs, seed=seed)
        if region not in REGIONS[:2]:
            raise ValueError(f"region must be one of {REGIONS[:2]}; got {region!r}")
        self.layer, self.concept, self.region = layer, concept, region
        self.sets = {name: [int(u) for u in ids] for name, ids in sets.items()}
        self.segmenter = segmenter
        self.k = None if k is None else torch.as_tensor(k, dtype=torch.float32)
        self.count, self.batch_size = count, batch_size
        self.generator_attribute = generator_attribute
        self.last: dict[str, float] = {}

    def _segmenter(self, device: torch.device) -> Any:
        if self.segmenter is None:
            from ganlens.segment import load_scene_segmenter

            self.segmenter = load_scene_segmenter(device)
        if isinstance(self.segmenter, nn.Module):
            self.segmenter.to(device)
        return self.segmenter

    def evaluate(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> dict[str, float]:
        """Compute and log the values now (on every process); empty while the layer is absent."""
        generator: nn.Module = getattr(pl_module, self.generator_attribute)
        latents = self.latent_bank(latent_size_of(pl_module, generator))
        if not layers_run(generator, [self.layer], latents[:1].to(pl_module.device))[0]:
            rank_zero_warn(
                f"CausalEffectMonitor skipped epoch {trainer.current_epoch}: the generator's "
                f"current stage does not run layer {self.layer!r}"
            )
            return {}
        share = latents[trainer.global_rank :: max(trainer.world_size, 1)]
        segmenter = self._segmenter(pl_module.device)
        k = self.k
        if k is None:
            from ganlens.ace.insertion import insertion_statistics

            k = insertion_statistics(generator, self.layer, segmenter, self.concept, latents,
                                     batch_size=self.batch_size).mean  # fmt: skip
        scalars: dict[str, float] = {}
        for name, units in self.sets.items():
            metric = AverageCausalEffect(
                generator, self.layer, segmenter, self.concept, k, units=units,
                region=self.region, dist_sync_fn=all_reduce_sum,
            ).to(pl_module.device)  # fmt: skip
            for start in range(0, share.shape[0], self.batch_size):
                metric.update(share[start : start + self.batch_size])
            values = metric.compute()
            prefix = "/".join(p for p in ("causal", self.layer, self.concept, name) if p)
            for key, value in values.items():
                scalars[f"{prefix}/{key}"] = float(value[0])
                scalars[f"{prefix}/{key}_soft"] = float(value[1])
        self.last = scalars
        log_evaluation(trainer, scalars, owner="CausalEffectMonitor")
        return scalars
