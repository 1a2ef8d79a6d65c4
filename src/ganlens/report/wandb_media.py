"""W&B media built from tensors and curves: images, tables with image cells, bar and line charts.

Monitors pass these builders to :func:`ganlens.callbacks.logging.log_evaluation`, which calls them
only when a ``WandbLogger`` is attached; ``wandb`` is imported inside each function.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from torch import Tensor

if TYPE_CHECKING:
    from ganlens.ace.evaluation import CausalCurves

__all__ = ["wandb_bar_chart", "wandb_curve_charts", "wandb_image", "wandb_table"]


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


def wandb_curve_charts(curves: CausalCurves, prefix: str) -> dict[str, Callable[[], Any]]:
    """Builders of W&B line charts (``wandb.plot.line_series``) of ACE curves, one per kind.

    Args:
        curves: The ablation and insertion curves (:class:`ganlens.ace.CausalCurves`).
        prefix: Key prefix, e.g. ``"causal/layer4/tree"``.

    Returns:
        ``{prefix + "/ablation_curve": builder, prefix + "/insertion_curve": builder}``; each
        builder returns a chart with one line per ranking against n.

    Example:
        >>> from ganlens.ace.evaluation import CausalCurves
        >>> charts = wandb_curve_charts(CausalCurves([1, 2], {"ace": [0.5, 0.8]},
        ...                                        {"ace": [0.1, 0.2]}), "causal/layer4/tree")
        >>> sorted(charts)
        ['causal/layer4/tree/ablation_curve', 'causal/layer4/tree/insertion_curve']
        >>> type(charts["causal/layer4/tree/ablation_curve"]()).__name__
        'CustomChart'
    """

    def builder(kind: str, lines: dict[str, list[float]]) -> Callable[[], Any]:
        def build() -> Any:
            import wandb

            title = f"{prefix} {kind}: top n units"
            return wandb.plot.line_series(
                xs=curves.n, ys=list(lines.values()), keys=list(lines), title=title, xname="n"
            )

        return build

    return {
        f"{prefix}/ablation_curve": builder("ablation", curves.ablation),
        f"{prefix}/insertion_curve": builder("insertion", curves.insertion),
    }
