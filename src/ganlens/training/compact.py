"""A compact resumable state of a Progressive GAN, for training in short slots.

A Lightning checkpoint holds Adam's two moments per weight, tripling its size. Karras et al. (ICLR
2018, appendix A.1) reset Adam at every phase change anyway, so between slots it is enough to keep
the generator, critic and EMA weights (optionally in bfloat16, halving them again) plus the
counters that drive the schedule: real images shown, the phase, and the latent stream's position.
A run started from this state continues the schedule exactly; its Adam moments start at zero, so
resuming mid-phase restarts Adam there (a deviation from an unbroken run, which resets only at
phase changes). The module is duck-typed so that it does not import the module it serves.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Protocol, cast

import pytorch_lightning as pl
import torch
from torch import Tensor, nn

__all__ = [
    "FORMAT",
    "CompactGAN",
    "CompactStateExport",
    "export_compact_state",
    "load_compact_state",
]

FORMAT = "ganlens-proggan-compact-v1"
NETWORKS = ("generator", "discriminator", "generator_ema")
ARCHITECTURE = ("resolution", "latent_size", "fmap_base", "fmap_max", "mbstd_group_size")
DTYPES = {"bfloat16": torch.bfloat16, "float16": torch.float16, "float32": torch.float32}


class CompactGAN(Protocol):
    """What the compact state reads and writes: a :class:`~ganlens.training.ProgressiveGAN`."""

    @property
    def hparams(self) -> Any:
        """Constructor arguments (architecture and schedule)."""

    @property
    def noise(self) -> torch.Generator:
        """The latent and penalty random stream."""

    def get_buffer(self, target: str) -> Tensor:
        """A buffer by name (``images_shown``, ``phase``)."""

    def get_submodule(self, target: str) -> nn.Module:
        """A network by name."""

    def _sync_stage(self) -> None:
        """Refresh host-side counters and the generators' stage from the buffers."""


def _cast(state: dict[str, Tensor], dtype: torch.dtype) -> dict[str, Tensor]:
    return {
        k: (v.detach().to("cpu", dtype) if v.is_floating_point() else v.detach().cpu()).clone()
        for k, v in state.items()
    }


def export_compact_state(gan: CompactGAN, path: str | Path, dtype: str = "bfloat16") -> Path:
    """Write ``gan``'s weights and schedule counters, without optimiser state, to ``path``.

    Args:
        gan: A :class:`~ganlens.training.ProgressiveGAN`.
        path: Destination file (folders are created; written atomically via a temporary file).
        dtype: Storage type of the floating-point weights: bfloat16, float16 or float32.

    Returns:
        The written path.

    Raises:
        ValueError: If ``dtype`` is not one of those three.

    Example:
        >>> import tempfile
        >>> from ganlens.training import GrowthPhase, ProgressiveGAN
        >>> phases = [GrowthPhase(4, 0, 8), GrowthPhase(8, 8, 8), GrowthPhase(16, 8, 8)]
        >>> gan = ProgressiveGAN(16, 4, 16, 4, phases)
        >>> _ = gan.images_shown.fill_(12)
        >>> path = export_compact_state(gan, f"{tempfile.mkdtemp()}/state.pt")
        >>> torch.load(path, weights_only=True)["images_shown"]
        12
    """
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {', '.join(DTYPES)}; got {dtype!r}")
    hparams = dict(getattr(gan, "hparams", {}))
    record: dict[str, Any] = {
        "format": FORMAT,
        "dtype": dtype,
        "images_shown": int(gan.get_buffer("images_shown")),
        "phase": int(gan.get_buffer("phase")),
        "noise_rng": gan.noise.get_state(),
        "architecture": {k: hparams[k] for k in ARCHITECTURE if k in hparams},
        "schedule": hparams.get("schedule"),
    }
    for name in NETWORKS:
        record[name] = _cast(gan.get_submodule(name).state_dict(), DTYPES[dtype])
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    torch.save(record, partial)
    os.replace(partial, path)
    return path


def load_compact_state(gan: CompactGAN, path: str | Path) -> dict[str, Any]:
    """Load a compact state written by :func:`export_compact_state` into ``gan``.

    Weights are cast to ``gan``'s own types; the images-shown counter, phase and latent stream
    continue where the exported run stopped. Optimiser state is not touched.

    Args:
        gan: A :class:`~ganlens.training.ProgressiveGAN` of the same architecture.
        path: The state file.

    Returns:
        The loaded record.

    Raises:
        ValueError: If the file is not a compact state, or its architecture differs from ``gan``'s.

    Example:
        >>> import tempfile
        >>> from ganlens.training import GrowthPhase, ProgressiveGAN
        >>> phases = [GrowthPhase(4, 0, 8), GrowthPhase(8, 8, 8), GrowthPhase(16, 8, 8)]
        >>> gan = ProgressiveGAN(16, 4, 16, 4, phases)
        >>> _ = gan.images_shown.fill_(12)
        >>> path = export_compact_state(gan, f"{tempfile.mkdtemp()}/state.pt")
        >>> fresh = ProgressiveGAN(16, 4, 16, 4, phases, init_state=str(path))
        >>> fresh.images_shown_count, fresh.stage.resolution, fresh.stage.alpha
        (12, 8, 0.5)
    """
    record: dict[str, Any] = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        raise ValueError(f"{str(path)!r} is not a compact GAN state ({FORMAT})")
    hparams = dict(getattr(gan, "hparams", {}))
    mine = {k: hparams[k] for k in ARCHITECTURE if k in hparams}
    if record["architecture"] != mine:
        raise ValueError(
            f"the state in {str(path)!r} has architecture {record['architecture']}; "
            f"the module has {mine}"
        )
    for name in NETWORKS:
        module = gan.get_submodule(name)
        own = module.state_dict()
        module.load_state_dict({k: v.to(own[k].dtype) for k, v in record[name].items()})
    gan.get_buffer("images_shown").fill_(int(record["images_shown"]))
    gan.get_buffer("phase").fill_(int(record["phase"]))
    gan.noise.set_state(record["noise_rng"])
    gan._sync_stage()
    return record


class CompactStateExport(pl.Callback):
    """Write the compact state when training ends (any reason) and every ``every_n_images``.

    With ``Trainer(max_time=...)`` a slot of GPU time ends cleanly: Lightning stops after the
    current batch, ``on_train_end`` runs, and this callback writes ``path`` for the next slot
    (start it with ``ProgressiveGAN(init_state=path)``).

    Args:
        path: Destination file, overwritten each time.
        dtype: Storage type of the weights (see :func:`export_compact_state`).
        every_n_images: Also write whenever the count of real images shown passes a multiple
            of this; ``None`` writes only at the end.

    Raises:
        ValueError: If ``dtype`` is unknown or ``every_n_images`` is below 1.

    Example:
        >>> CompactStateExport("outputs/state.pt", every_n_images=100_000).every_n_images
        100000
    """

    def __init__(
        self, path: str, dtype: str = "bfloat16", every_n_images: int | None = None
    ) -> None:
        if dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {', '.join(DTYPES)}; got {dtype!r}")
        if every_n_images is not None and every_n_images < 1:
            raise ValueError(f"every_n_images must be >= 1 or None; got {every_n_images}")
        self.path, self.dtype, self.every_n_images = Path(path), dtype, every_n_images
        self.writes = 0
        self._block: int | None = None

    def _write(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.is_global_zero:
            export_compact_state(cast(CompactGAN, pl_module), self.path, self.dtype)
            self.writes += 1

    def on_train_batch_end(
        self,
        trainer: pl.Trainer,
        pl_module: pl.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
    ) -> None:
        """Write when the images-shown count enters a new block of ``every_n_images``."""
        if self.every_n_images is None:
            return
        block = int(cast(Any, pl_module).images_shown_count) // self.every_n_images
        if self._block is not None and block > self._block:
            self._write(trainer, pl_module)
        self._block = block

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        """Write the final state of this run."""
        self._write(trainer, pl_module)
