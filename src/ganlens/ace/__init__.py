"""Which units cause a concept: ACE fitting and evaluation (GAN Dissection, section 3.2).

Bau et al., ICLR 2019 (arXiv:1811.10597) measure the average causal effect of units U on a concept
c, ``delta(U -> c) = E[s_c(x_inserted)] - E[s_c(x_ablated)]`` (eq. 3), and
learn per-unit coefficients alpha that pick the most causal units. This package holds the steps:

* :func:`insertion_statistics` -- the insertion constant k per unit (and a 99th-percentile level);
* :func:`search_cells` -- "present" and "candidate" (image, cell) pairs;
* :class:`CausalUnitFitter` -- the LightningModule that learns alpha (``Trainer.fit``);
* :func:`causal_curves` -- ablation / insertion curves of the top n units of a ranking;
* :func:`run_concept` / :func:`write_record` -- the whole procedure and its JSON + SVG record;
* :mod:`ganlens.ace.planted` -- a toy generator with planted causal and decoy units;
* :mod:`ganlens.commands.ace` -- ``dissect.py ace`` (the command line).

The metric itself is :class:`ganlens.metrics.AverageCausalEffect`.
"""

from ganlens.ace.evaluation import CausalCurves, causal_curves, iou_ranking
from ganlens.ace.fitter import CausalPairs, CausalUnitFitter
from ganlens.ace.insertion import InsertionStatistics, insertion_statistics
from ganlens.ace.pipeline import run_concept, write_record
from ganlens.ace.planted import PlantedCausalGenerator, PlantedConceptSegmenter
from ganlens.ace.plot import curve_svg, save_curve_plot
from ganlens.ace.search import CellSearch, search_cells

__all__ = [
    "CausalCurves",
    "CausalPairs",
    "CausalUnitFitter",
    "CellSearch",
    "InsertionStatistics",
    "PlantedCausalGenerator",
    "PlantedConceptSegmenter",
    "causal_curves",
    "curve_svg",
    "insertion_statistics",
    "iou_ranking",
    "run_concept",
    "save_curve_plot",
    "search_cells",
    "write_record",
]
