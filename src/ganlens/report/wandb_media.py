"""W&B media built from tensors: images, tables with image cells, and bar charts.

Monitors pass these builders to :func:`ganlens.callbacks.logging.log_evaluation`, which calls them
only when a ``WandbLogger`` is attached; ``wandb`` is imported inside each function.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from torch import Tensor

__all__ = ["wandb_bar_chart", "wandb_image", "wandb_table"]


def wandb_image(picture: Tensor, caption: str | None = None) -> Any:
    """A ``wandb.Image`` of a ``uint8 [3, H, W]`` picture.

    Example:
        >>> import torch
        >>> wandb_image(torch.zeros(3, 4, 4, dtype=torch.uint8)).image.size
        (4, 4)
    """
    import wandb

    if picture.ndim != 3 or picture.shape[0] != 3 or picture.dtype.is_floating_point:
        raise ValueError(
            f"picture must be integer [3, H, W]; got {picture.dtype} {list(picture.shape)}"
        )
    return wandb.Image(picture.permute(1, 2, 0).cpu().numpy(), caption=caption)


def wandb_table(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> Any:
    """A ``wandb.Table``; cells that are ``uint8 [3, H, W]`` tensors become images.

    Example:
        >>> import torch
        >>> table = wandb_table(["unit", "picture"], [[0, torch.zeros(3, 2, 2, dtype=torch.uint8)]])
        >>> table.columns, len(table.data)
        (['unit', 'picture'], 1)
    """
    import wandb

    def cell(value: Any) -> Any:
        return wandb_image(value) if isinstance(value, Tensor) else value

    return wandb.Table(columns=list(columns), data=[[cell(v) for v in row] for row in rows])


def wandb_bar_chart(
    labels: Sequence[str], values: Sequence[float], *, title: str, label: str, value: str
) -> Any:
    """A W&B bar chart (``wandb.plot.bar``) of ``values`` by ``labels``.

    Example:
        >>> chart = wandb_bar_chart(["sky", "tree"], [3, 1], title="units", label="concept",
        ...                         value="units")
        >>> chart.table.data
        [['sky', 3], ['tree', 1]]
    """
    import wandb

    table = wandb.Table(
        columns=[label, value], data=[[n, v] for n, v in zip(labels, values, strict=True)]
    )
    return wandb.plot.bar(table, label, value, title=title)
