"""The math of ganlens as pure functions on tensors (torchmetrics convention)."""

from ganlens.functional.causal_effect import (
    CAUSAL_VARIANTS,
    average_causal_effect,
    cell_windows,
    concept_presence,
    insertion_constant,
    pool_to_grid,
)
from ganlens.functional.dissection import (
    LayerSummary,
    concept_category_index,
    layer_summary,
    upsample_featuremaps,
)
from ganlens.functional.information_quality import (
    IQRThresholdSearch,
    information_quality_ratio,
    iqr_threshold_search,
    iqr_top_fractions,
)
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
from ganlens.functional.top_activations import (
    TopActivationsResult,
    merge_top_tables,
    top_activations,
)
from ganlens.functional.unit_concept_iou import (
    IOU_MODES,
    UnitConceptCounts,
    UnitConceptHistograms,
    sort_thresholds,
    unit_concept_counts,
    unit_concept_iou,
)
from ganlens.functional.unit_labels import UnitConceptIoUResult
from ganlens.functional.unit_quantile import (
    histogram_bin_edges,
    num_histogram_bins,
    unit_quantile,
)

__all__ = [
    "CAUSAL_VARIANTS",
    "IOU_MODES",
    "IQRThresholdSearch",
    "LayerSummary",
    "SlicedWassersteinResult",
    "TopActivationsResult",
    "UnitConceptCounts",
    "UnitConceptHistograms",
    "UnitConceptIoUResult",
    "average_causal_effect",
    "cell_windows",
    "concept_category_index",
    "concept_presence",
    "histogram_bin_edges",
    "information_quality_ratio",
    "insertion_constant",
    "iqr_threshold_search",
    "iqr_top_fractions",
    "laplacian_pyramid",
    "layer_summary",
    "level_resolutions",
    "merge_top_tables",
    "num_histogram_bins",
    "pool_to_grid",
    "pyramid_down",
    "pyramid_up",
    "sliced_wasserstein_distance",
    "sort_thresholds",
    "top_activations",
    "unit_concept_counts",
    "unit_concept_iou",
    "unit_quantile",
    "upsample_featuremaps",
]
