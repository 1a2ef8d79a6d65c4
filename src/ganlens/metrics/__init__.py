"""torchmetrics ``Metric`` classes: they hold state and delegate the math to ``functional``."""

from ganlens.metrics.sliced_wasserstein import SlicedWassersteinDistance

__all__ = ["SlicedWassersteinDistance"]
