"""Train the scene segmenter and write its weights: ``python -m ganlens.segment.train_scene``.

Trains :class:`~ganlens.segment.scene_training.SceneSegmenterModule` (a compact U-Net after
Ronneberger et al. 2015) on freshly rendered scenes of one world seed, validates on another seed,
and writes ``scene_segmenter.pt`` (plain state dict) and ``scene_segmenter.json`` (architecture,
training record) with :func:`~ganlens.segment.scene_segmenter.save_scene_segmenter`. Run with
``--help`` for every option.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import pytorch_lightning as pl
import torch
from pytorch_lightning.loggers import CSVLogger
from torch.utils.data import DataLoader

from ganlens.data.datamodules import SceneDataset
from ganlens.segment.scene_segmenter import default_weights_path, save_scene_segmenter
from ganlens.segment.scene_training import MultiScaleSceneDataset, SceneSegmenterModule

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """The command line of :func:`main`.

    Example:
        >>> build_parser().parse_args(["--steps", "10"]).steps
        10
    """
    parser = argparse.ArgumentParser(
        prog="python -m ganlens.segment.train_scene",
        description="Train the scene-world segmenter and write its weights and JSON record.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    add = parser.add_argument
    add("--out", type=Path, default=default_weights_path(),
        help="weights file to write; its JSON record goes beside it")  # fmt: skip
    add("--steps", type=int, default=5000, help="optimizer steps")
    add("--batch-size", type=int, default=16, help="scenes per batch")
    add("--resolution", type=int, default=64, help="training image side in pixels")
    add("--widths", type=int, nargs="+", default=[16, 32, 64, 96],
        help="U-Net channels per scale, finest first")  # fmt: skip
    add("--learning-rate", type=float, default=3e-3, help="peak AdamW learning rate")
    add("--weight-decay", type=float, default=1e-4, help="AdamW weight decay")
    add("--augment-probability", type=float, default=0.2,
        help="chance that an image receives each GAN-like corruption")  # fmt: skip
    add("--dice-weight", type=float, default=1.0,
        help="weight of the soft Dice loss added to each head's cross-entropy")  # fmt: skip
    add("--zoom-probability", type=float, default=0.25,
        help="share of scenes cropped from a 2x render, for scale robustness")  # fmt: skip
    add("--church-fraction", type=float, default=0.0,
        help="share of training scenes in the church framing (one large building)")  # fmt: skip
    add("--init-weights", type=Path, default=None,
        help="start from these segmenter weights (fine-tuning) instead of random ones")  # fmt: skip
    add("--seed", type=int, default=0, help="world seed of the training scenes")
    add("--val-seed", type=int, default=1, help="world seed of the validation scenes")
    add("--val-size", type=int, default=256, help="validation scenes")
    add("--val-every", type=int, default=1000, help="validate every N steps")
    add("--threads", type=int, default=1, help="torch CPU threads")
    add("--workers", type=int, default=0, help="data-loader processes")
    add("--accelerator", default="cpu", help="Lightning accelerator: cpu, gpu or auto")
    add("--log-dir", type=Path, default=Path("outputs/segmenter"),
        help="folder for Lightning's CSV logs")  # fmt: skip
    add("--quiet", action="store_true", help="no progress bar, model summary or final record")
    return parser


def main(argv: Sequence[str] | None = None) -> dict[str, float]:
    """Train, validate and save; returns the final validation scores.

    Args:
        argv: Command-line arguments (default ``sys.argv[1:]``).

    Returns:
        ``{"val/mean_iou": ..., "val/pixel_accuracy": ...}`` of the last validation.

    Example:
        >>> import tempfile
        >>> folder = tempfile.mkdtemp()
        >>> scores = main(["--steps", "2", "--batch-size", "2", "--resolution", "32",
        ...                "--widths", "4", "8", "--val-size", "2", "--val-every", "2",
        ...                "--out", f"{folder}/seg.pt", "--log-dir", folder, "--quiet"])
        >>> sorted(scores), Path(f"{folder}/seg.json").is_file()
        (['val/mean_iou', 'val/pixel_accuracy'], True)
    """
    args = build_parser().parse_args(argv)
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
            "command": "python -m ganlens.segment.train_scene " + " ".join(argv or sys.argv[1:]),
            "steps": trainer.global_step,
            "minutes": round(minutes, 1),
            "threads": args.threads,
            "world_seed": args.seed,
            "validation": {"seed": args.val_seed, "scenes": args.val_size, **scores},
        }
    }
    json_path = save_scene_segmenter(module.network, args.out, record)
    if not args.quiet:
        print(json.dumps(record, indent=2))
        print(f"wrote {args.out} and {json_path}")
    return scores


if __name__ == "__main__":
    main()
