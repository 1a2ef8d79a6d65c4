"""``ganlens fit`` (``train.py``): LightningCLI over the GAN and data modules, W&B by default.

W&B runs offline unless the user is logged in (``WANDB_API_KEY``, or an ``api.wandb.ai`` entry
in ``~/.netrc`` as ``wandb login`` writes), so nothing fails without network; ``WANDB_MODE``
overrides the guess. Sync an offline run later with ``wandb sync outputs/wandb/offline-run-*``.
Any other Lightning logger can be chosen with ``--trainer.logger``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytorch_lightning as pl
from pytorch_lightning.cli import LightningArgumentParser, LightningCLI

from ganlens.report.wandb_summary import wandb_logged_in
from ganlens.training import ProgressiveGAN


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


def main(
    args: Sequence[str] | None = None, run: bool = True, prog: str | None = None
) -> GanLensCLI:
    """Run the training command line (``ganlens fit --config configs/X.yaml``)."""
    return GanLensCLI(
        ProgressiveGAN,
        pl.LightningDataModule,
        subclass_mode_data=True,
        trainer_defaults={"logger": default_logger()},
        save_config_kwargs={"overwrite": True},
        parser_kwargs={"prog": prog} if prog else None,
        args=list(args) if args is not None else None,
        run=run,
    )
