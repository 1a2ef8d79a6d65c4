"""torchmetrics ``Metric`` classes: they hold state and delegate the math to ``functional``."""

from ganlens.metrics.causal_effect import AverageCausalEffect
from ganlens.metrics.distributed import all_reduce_sum
from ganlens.metrics.sliced_wasserstein import SlicedWassersteinDistance
from ganlens.metrics.top_activations import TopActivations
from ganlens.metrics.unit_concept_iou import UnitConceptIoU
from ganlens.metrics.unit_quantile import UnitQuantile

__all__ = [
    "AverageCausalEffect",
    "SlicedWassersteinDistance",
    "TopActivations",
    "UnitConceptIoU",
    "UnitQuantile",
    "all_reduce_sum",
]
