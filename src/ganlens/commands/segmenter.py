"""``ganlens segmenter``: train the scene-world segmenter and write its weights."""

from __future__ import annotations

from dataclasses import dataclass, field

from ganlens.options import Settings, check_output, check_positive

__all__ = ["SegmenterSettings", "run_segmenter_command"]


@dataclass(frozen=True, kw_only=True)
class SegmenterSettings(Settings):
    """Train the scene-world segmenter and write its weights and JSON record.

    Args:
        out: Weights file to write; its JSON record goes beside it. The shipped weights are
            replaced only when this names them (src/ganlens/segment/weights/scene_segmenter.pt).
        steps: Optimizer steps.
        batch_size: Scenes per batch.
        resolution: Training image side in pixels.
        widths: U-Net channels per scale, finest first.
        learning_rate: Peak AdamW learning rate.
        weight_decay: AdamW weight decay.
        augment_probability: Chance that an image receives each GAN-like corruption.
        dice_weight: Weight of the soft Dice loss added to each head's cross-entropy.
        zoom_probability: Share of scenes cropped from a 2x render, for scale robustness.
        church_fraction: Share of training scenes in the church framing (one large building).
        init_weights: Start from these segmenter weights (fine-tuning) instead of random ones.
        seed: World seed of the training scenes.
        val_seed: World seed of the validation scenes.
        val_size: Validation scenes.
        val_every: Validate every N steps.
        threads: Torch CPU threads.
        workers: Data-loader processes.
        accelerator: Lightning accelerator: cpu, gpu or auto.
        log_dir: Folder for Lightning's CSV logs.
        quiet: No progress bar, model summary or final record.
    """

    out: str = "outputs/segmenter/scene_segmenter.pt"
    steps: int = 5000
    batch_size: int = 16
    resolution: int = 64
    widths: list[int] = field(default_factory=lambda: [16, 32, 64, 96])
    learning_rate: float = 3e-3
    weight_decay: float = 1e-4
    augment_probability: float = 0.2
    dice_weight: float = 1.0
    zoom_probability: float = 0.25
    church_fraction: float = 0.0
    init_weights: str | None = None
    seed: int = 0
    val_seed: int = 1
    val_size: int = 256
    val_every: int = 1000
    threads: int = 1
    workers: int = 0
    accelerator: str = "cpu"
    log_dir: str = "outputs/segmenter"
    quiet: bool = False

    def check(self) -> None:
        """Check the values before training."""
        check_positive(steps=self.steps, batch_size=self.batch_size, resolution=self.resolution,
                       learning_rate=self.learning_rate, val_size=self.val_size,
                       val_every=self.val_every, threads=self.threads)  # fmt: skip
        if not 0 <= self.church_fraction <= 1:
            raise ValueError(f"--church-fraction must lie in [0, 1]; got {self.church_fraction}")
        if self.init_weights is not None:
            from pathlib import Path

            if not Path(self.init_weights).is_file():
                raise FileNotFoundError(f"--init-weights {self.init_weights} does not exist")
        check_output("out", self.out, folder=False)
        if self.workers < 0:
            raise ValueError(f"--workers must be 0 or more; got {self.workers}")


def run_segmenter_command(settings: SegmenterSettings) -> int:
    """Train and save the segmenter; returns the exit status.

    Example:
        >>> SegmenterSettings(steps=0)
        Traceback (most recent call last):
        ...
        ValueError: --steps must be a positive number; got 0
    """
    from ganlens.segment.train_scene import train_scene_segmenter

    train_scene_segmenter(settings)
    return 0
