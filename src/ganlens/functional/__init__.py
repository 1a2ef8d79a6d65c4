"""The math of ganlens as pure functions on tensors (torchmetrics convention)."""

from ganlens.functional.laplacian_pyramid import (
    laplacian_pyramid,
    level_resolutions,
    pyramid_down,
    pyramid_up,
)
from ganlens.functional.sliced_wasserstein import (
    SlicedWassersteinResult,
    sliced_wasserstein_distance,
)

__all__ = [
    "SlicedWassersteinResult",
    "laplacian_pyramid",
    "level_resolutions",
    "pyramid_down",
    "pyramid_up",
    "sliced_wasserstein_distance",
]
