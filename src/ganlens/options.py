"""The one settings contract of the subcommands, and the option groups they share.

Every subcommand but ``fit`` is ``commands/<name>.py`` holding a frozen, keyword-only dataclass
derived from :class:`Settings` and ``run(settings) -> int``. A settings class is composed of the
option groups below (sources, sampling, output, W&B), each defined once with its ``--help``
text in its docstring's ``Args:`` section, plus the command's own fields. A command may give a
shared field another default by declaring it again; its meaning, name and check stay those of
the group. Checks live in ``check`` methods, one per class, which :class:`Settings` runs for
every class of the hierarchy when an instance is built, so a bad value is one ``ValueError``
naming the flag, the value and what is allowed, before anything is loaded or written.

Only the standard library is imported at module level, so ``ganlens --help`` stays fast.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

__all__ = [
    "ComputeOptions",
    "DeviceOptions",
    "GeneratorOptions",
    "OutputOptions",
    "ProcessOptions",
    "SamplingOptions",
    "SegmenterOptions",
    "Settings",
    "TruncationOptions",
    "WandbOptions",
    "check_at_least",
    "check_choice",
    "check_device",
    "check_dissection",
    "check_input",
    "check_output",
    "check_positive",
    "flag",
]


def flag(name: str) -> str:
    """The command-line spelling of a field.

    Example:
        >>> flag("batch_size")
        '--batch-size'
    """
    return "--" + name.replace("_", "-")


def check_positive(**values: int | float | None) -> None:
    """Raise ``ValueError`` naming the first option that is given and not positive.

    Example:
        >>> check_positive(samples=3, resolution=None)
        >>> check_positive(batch_size=0)
        Traceback (most recent call last):
        ...
        ValueError: --batch-size must be a positive number; got 0
    """
    for name, value in values.items():
        if value is not None and (isinstance(value, bool) or not value > 0):
            raise ValueError(f"{flag(name)} must be a positive number; got {value!r}")


def check_at_least(least: int, **values: int | None) -> None:
    """Raise ``ValueError`` naming the first given option that is not an integer >= ``least``.

    Example:
        >>> check_at_least(0, radius=-1)
        Traceback (most recent call last):
        ...
        ValueError: --radius must be an integer >= 0; got -1
    """
    for name, value in values.items():
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise ValueError(f"{flag(name)} must be an integer >= {least}; got {value!r}")


def check_choice(name: str, value: str, allowed: Sequence[str]) -> None:
    """Raise ``ValueError`` when ``value`` is not one of ``allowed``.

    Example:
        >>> check_choice("threshold_mode", "median", ("iqr", "quantile"))
        Traceback (most recent call last):
        ...
        ValueError: --threshold-mode must be one of iqr, quantile; got 'median'
    """
    if value not in allowed:
        raise ValueError(f"{flag(name)} must be one of {', '.join(allowed)}; got {value!r}")


def check_output(name: str, path: str, folder: bool = True) -> None:
    """Raise ``ValueError`` when ``path`` cannot become an output folder (or file).

    The nearest existing ancestor must be a writable folder; ``path`` itself, when it exists,
    must be a folder (or, with ``folder=False``, a file). Nothing is created.

    Example:
        >>> check_output("out", "/dev/null")
        Traceback (most recent call last):
        ...
        ValueError: --out /dev/null is a file, not a folder
    """
    target = Path(path)
    if target.exists() and folder != target.is_dir():
        kind = "a file, not a folder" if folder else "a folder, not a file"
        raise ValueError(f"{flag(name)} {path} is {kind}")
    ancestor = target if target.exists() else target.parent
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise ValueError(f"{flag(name)} {path}: {ancestor} is a file, not a folder")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise ValueError(f"{flag(name)} {path}: {ancestor} is not writable")


def check_input(name: str, path: str) -> None:
    """Raise ``FileNotFoundError`` naming the option when the file ``path`` does not exist.

    Example:
        >>> check_input("inception_weights", "/no/such.pth")
        Traceback (most recent call last):
        ...
        FileNotFoundError: --inception-weights /no/such.pth does not exist
    """
    if not Path(path).is_file():
        raise FileNotFoundError(f"{flag(name)} {path} does not exist")


def check_dissection(path: str, name: str = "dissection") -> None:
    """Raise ``ValueError`` unless ``path`` is a ``dissect.json`` or a folder holding one.

    Example:
        >>> check_dissection("/nonexistent")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: --dissection /nonexistent is neither a dissect.json nor a folder with one ...
    """
    target = Path(path)
    if not (target.is_file() or (target / "dissect.json").is_file()):
        raise ValueError(
            f"{flag(name)} {path} is neither a dissect.json nor a folder with one "
            "(written by `ganlens units`)"
        )


def check_device(device: str) -> None:
    """Raise ``ValueError`` unless ``device`` is a torch device this machine has.

    Example:
        >>> check_device("cpu")
        >>> check_device("tpu:x")
        Traceback (most recent call last):
        ...
        ValueError: --device 'tpu:x' is not a torch device ('cpu', 'cuda', 'cuda:1')
    """
    import torch  # only when a device is checked: --help stays light

    try:
        parsed = torch.device(device)
    except (RuntimeError, ValueError) as error:
        raise ValueError(
            f"--device {device!r} is not a torch device ('cpu', 'cuda', 'cuda:1')"
        ) from error
    if parsed.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"--device {device!r} needs CUDA, which is not available; use 'cpu'")


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Base of every subcommand's settings: runs each class's ``check`` once it is built.

    Example:
        >>> @dataclass(frozen=True, kw_only=True)
        ... class Demo(Settings):
        ...     count: int = 1
        ...     def check(self) -> None:
        ...         check_positive(count=self.count)
        >>> Demo(count=0)
        Traceback (most recent call last):
        ...
        ValueError: --count must be a positive number; got 0
    """

    def __post_init__(self) -> None:
        """Run the ``check`` of every class in the hierarchy, option groups first."""
        for cls in reversed(type(self).__mro__):
            check = vars(cls).get("check")
            if check is not None:
                check(self)


@dataclass(frozen=True, kw_only=True)
class TruncationOptions(Settings):
    """How StyleGAN files map z to w.

    Args:
        truncation: StyleGAN truncation psi: w is moved towards the file's average w by
            w_avg + psi * (w - w_avg) (1: none; 0.7 is common); StyleGAN files only.
    """

    truncation: float = 1.0

    def check(self) -> None:
        """A finite psi of 0 or more."""
        if not 0.0 <= self.truncation < float("inf"):
            raise ValueError(f"--truncation must be a number >= 0; got {self.truncation!r}")


@dataclass(frozen=True, kw_only=True)
class GeneratorOptions(TruncationOptions):
    """Which generator to load.

    Args:
        generator: The generator: 'scene' (the shipped 64 px scene ProgGAN, 'scene64'; 'scene32'
            names the earlier 32 px one), a .ckpt of ours, a gandissect/Karras .pth, a
            StyleGAN2/3 .pkl (NVlabs) or .pt (rosinality), or 'package.module:factory'
            returning an nn.Module.
    """

    generator: str = "scene"


@dataclass(frozen=True, kw_only=True)
class SegmenterOptions(Settings):
    """Which segmenter labels the generated images.

    Args:
        segmenter: The segmenter: 'scene' (shipped), 'segformer:PATH' (local SegFormer ADE20K
            folder, needs the ade20k extra) or 'package.module:factory' (called without
            arguments).
    """

    segmenter: str = "scene"


@dataclass(frozen=True, kw_only=True)
class DeviceOptions(Settings):
    """Where the networks run.

    Args:
        device: Torch device, e.g. cpu, cuda or cuda:1 (checked before anything is loaded).
    """

    device: str = "cpu"

    def check(self) -> None:
        """The device exists on this machine."""
        check_device(self.device)


@dataclass(frozen=True, kw_only=True)
class ProcessOptions(DeviceOptions):
    """How many processes share the work: one per device, launched by Lightning Fabric.

    Args:
        devices: Processes on this machine, one device each (CPU processes with --device cpu,
            GPUs with --device cuda); each generates its share of the samples and the counts are
            summed exactly, so the result is that of one process.
        num_nodes: Machines, each running this command under torchrun or srun with the same
            --devices (the launcher sets the ranks).
        timeout: Seconds a process waits for the others (at a sync or the final barrier) before
            the job stops; a process that raises or dies stops the job at once.
    """

    devices: int = 1
    num_nodes: int = 1
    timeout: float = 1800.0

    def check(self) -> None:
        """Positive counts, and as many GPUs as asked for."""
        check_positive(devices=self.devices, num_nodes=self.num_nodes, timeout=self.timeout)
        if self.devices == 1 or not self.device.startswith("cuda"):
            return
        import torch

        if self.device != "cuda":
            raise ValueError(f"--devices {self.devices} takes --device cuda (all GPUs), not "
                             f"{self.device!r}")  # fmt: skip
        if self.devices > torch.cuda.device_count():
            raise ValueError(f"--devices {self.devices}: this machine has "
                             f"{torch.cuda.device_count()} GPUs")  # fmt: skip


@dataclass(frozen=True, kw_only=True)
class SamplingOptions(Settings):
    """How many samples, from which seed, in batches of what size.

    Args:
        samples: Probe samples N: the generated images the command measures (a dissection in
            iqr mode draws N more, held out, for its thresholds).
        seed: Seed of the latents (and of every other random choice of the command).
        batch_size: Samples per forward pass.
    """

    samples: int = 256
    seed: int = 0
    batch_size: int = 64

    def check(self) -> None:
        """Samples and batch size positive, seed not negative."""
        check_positive(samples=self.samples, batch_size=self.batch_size)
        check_at_least(0, seed=self.seed)


@dataclass(frozen=True, kw_only=True)
class OutputOptions(Settings):
    """Where results go, and how much is printed.

    Args:
        out: Output folder (created; checked to be writable before any work).
        quiet: No progress bars or messages, only errors.
    """

    out: str = "outputs"
    quiet: bool = False
    OUT_IS_FOLDER: ClassVar[bool] = True

    def check(self) -> None:
        """The output can be written."""
        check_output("out", self.out, folder=self.OUT_IS_FOLDER)


@dataclass(frozen=True, kw_only=True)
class WandbOptions(Settings):
    """Logging the results to Weights & Biases.

    Args:
        wandb: Also log the results to a W&B run (offline unless logged in).
        wandb_project: W&B project.
        wandb_name: W&B run name (default: the command picks one).
    """

    wandb: bool = False
    wandb_project: str = "ganlens"
    wandb_name: str | None = None


@dataclass(frozen=True, kw_only=True)
class ComputeOptions(
    GeneratorOptions, SegmenterOptions, DeviceOptions, SamplingOptions, OutputOptions,
    WandbOptions,
):  # fmt: skip
    """Every option group of a command that generates, segments, measures and writes."""
