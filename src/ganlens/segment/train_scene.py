"""Train the scene segmenter and write its weights (``ganlens segmenter``).

Trains :class:`~ganlens.segment.scene_training.SceneSegmenterModule` (a compact U-Net after
Ronneberger et al. 2015) on freshly rendered scenes of one world seed, validates on another seed,
and writes ``scene_segmenter.pt`` (plain state dict) and ``scene_segmenter.json`` (architecture,
training record) with :func:`~ganlens.segment.scene_segmenter.save_scene_segmenter`.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from pytorch_lightning.loggers import CSVLogger
from torch.utils.data import DataLoader

from ganlens.data.datamodules import SceneDataset
from ganlens.segment.scene_segmenter import save_scene_segmenter
from ganlens.segment.scene_training import MultiScaleSceneDataset, SceneSegmenterModule

__all__ = ["train_scene_segmenter"]


def train_scene_segmenter(args: Any) -> dict[str, float]:
    """Train, validate and save; returns the final validation scores.

    Args:
        args: A :class:`~ganlens.commands.segmenter.SegmenterSettings` (any object with its
            fields).

    Returns:
        ``{"val/mean_iou": ..., "val/pixel_accuracy": ...}`` of the last validation.

    Example:
        >>> import tempfile
        >>> from ganlens.commands.segmenter import SegmenterSettings
        >>> folder = tempfile.mkdtemp()
        >>> scores = train_scene_segmenter(SegmenterSettings(
        ...     steps=2, batch_size=2, resolution=32, widths=[4, 8], val_size=2, val_every=2,
        ...     out=f"{folder}/seg.pt", log_dir=folder, quiet=True))
        >>> sorted(scores), Path(f"{folder}/seg.json").is_file()
        (['val/mean_iou', 'val/pixel_accuracy'], True)
    """
    torch.set_num_threads(args.threads)
    pl.seed_everything(args.seed, verbose=False)
    module = SceneSegmenterModule(
        widths=args.widths,
        learning_rate=args.learning_rate,
        weight_decay=args.weight_decay,
        augment_probability=args.augment_probability,
        dice_weight=args.dice_weight,
    )
    if args.init_weights is not None:
        state = torch.load(args.init_weights, map_location="cpu", weights_only=True)
        module.network.load_state_dict(state)
    train_set = MultiScaleSceneDataset(
        size=args.steps * args.batch_size,
        resolution=args.resolution,
        seed=args.seed,
        zoom_probability=args.zoom_probability,
        church_fraction=args.church_fraction,
    )
    val_set = SceneDataset(args.resolution, args.val_size, seed=args.val_seed)
    loader_args = {"num_workers": args.workers, "persistent_workers": args.workers > 0}
    train = DataLoader(train_set, args.batch_size, shuffle=True, drop_last=True, **loader_args)
    val = DataLoader(val_set, 64, **loader_args)
    trainer = pl.Trainer(
        accelerator=args.accelerator,
        devices=1,
        max_steps=args.steps,
        val_check_interval=min(args.val_every, args.steps),
        check_val_every_n_epoch=None,
        num_sanity_val_steps=0,
        logger=CSVLogger(args.log_dir, name="scene_segmenter"),
        enable_checkpointing=False,
        enable_progress_bar=not args.quiet,
        enable_model_summary=not args.quiet,
        log_every_n_steps=min(50, args.steps),
    )
    start = time.perf_counter()
    trainer.fit(module, train, val)
    minutes = (time.perf_counter() - start) / 60
    scores = {k: float(v) for k, v in trainer.callback_metrics.items() if k.startswith("val/")}
    record = {
        "training": {
            "settings": asdict(args),
            "steps": trainer.global_step,
            "minutes": round(minutes, 1),
            "threads": args.threads,
            "world_seed": args.seed,
            "validation": {"seed": args.val_seed, "scenes": args.val_size, **scores},
        }
    }
    out = Path(args.out)
    json_path = save_scene_segmenter(module.network, out, record)
    if not args.quiet:
        print(json.dumps(record, indent=2))
        print(f"wrote {out} and {json_path}")
    return scores
