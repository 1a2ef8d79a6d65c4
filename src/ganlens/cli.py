"""``train.py``: LightningCLI over the GAN modules and data modules, with W&B as default logger.

W&B runs offline unless the user is logged in (``WANDB_API_KEY``, or an ``api.wandb.ai`` entry
in ``~/.netrc`` as ``wandb login`` writes), so nothing fails without network; ``WANDB_MODE``
overrides the guess. Sync an offline run later with ``wandb sync outputs/wandb/offline-run-*``.
Any other Lightning logger can be chosen with ``--trainer.logger``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
from pytorch_lightning.cli import LightningArgumentParser, LightningCLI

from ganlens.training import ProgressiveGAN


def wandb_logged_in() -> bool:
    """Whether W&B can go online: ``WANDB_MODE``, then an API key in the environment or netrc.

    Example:
        >>> import os
        >>> os.environ["WANDB_MODE"] = "offline"
        >>> wandb_logged_in()
        False
    """
    mode = os.environ.get("WANDB_MODE", "").lower()
    if mode in ("offline", "dryrun", "disabled"):
        return False
    if mode == "online" or os.environ.get("WANDB_API_KEY"):
        return True
    netrc = Path(os.environ.get("NETRC", Path.home() / ".netrc"))
    try:
        return "api.wandb.ai" in netrc.read_text()
    except OSError:
        return False


def default_logger(project: str = "ganlens") -> dict[str, Any]:
    """The default logger as a LightningCLI ``class_path`` record: W&B, offline unless logged in.

    Its ``save_dir`` is left empty; :class:`GanLensCLI` fills in ``trainer.default_root_dir``.

    Example:
        >>> default_logger()["class_path"]
        'pytorch_lightning.loggers.WandbLogger'
    """
    return {
        "class_path": "pytorch_lightning.loggers.WandbLogger",
        "init_args": {"project": project, "offline": not wandb_logged_in()},
    }


class GanLensCLI(LightningCLI):
    """LightningCLI for ganlens models.

    The data module takes its resolution from the model, and a W&B logger without ``save_dir``
    writes under ``trainer.default_root_dir``.
    """

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        """Link ``model.resolution`` to the data module's ``resolution``."""
        parser.link_arguments("model.resolution", "data.init_args.resolution")

    def before_instantiate_classes(self) -> None:
        """Point a W&B logger without ``save_dir`` at the run's root folder."""
        config = self.config[self.subcommand] if self.subcommand else self.config
        loggers = config.trainer.logger
        for logger in loggers if isinstance(loggers, list) else [loggers]:
            is_wandb = getattr(logger, "class_path", "").endswith("WandbLogger")
            if is_wandb and logger.init_args.get("save_dir") in (None, "."):
                logger.init_args.save_dir = config.trainer.default_root_dir or "outputs"


def main(args: Sequence[str] | None = None, run: bool = True) -> GanLensCLI:
    """Run the training command line (``python train.py fit --config configs/X.yaml``)."""
    return GanLensCLI(
        ProgressiveGAN,
        pl.LightningDataModule,
        subclass_mode_data=True,
        trainer_defaults={"logger": default_logger()},
        save_config_kwargs={"overwrite": True},
        args=list(args) if args is not None else None,
        run=run,
    )
