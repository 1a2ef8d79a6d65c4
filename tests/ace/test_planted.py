"""Planted causes: ACE finds the units that paint the concept; IoU prefers the decoys."""

from __future__ import annotations

import pytorch_lightning as pl
import torch

from ganlens.ace import CausalUnitFitter, causal_curves, iou_ranking, search_cells
from ganlens.ace.planted import PlantedCausalGenerator, PlantedConceptSegmenter
from ganlens.dissect import dissect
from ganlens.hooks import Intervention, intervene, trace
from ganlens.metrics import AverageCausalEffect

from .conftest import latents


def _trainer(steps: int, **options: object) -> pl.Trainer:
    return pl.Trainer(
        max_steps=steps, logger=False, enable_checkpointing=False, enable_progress_bar=False,
        enable_model_summary=False, accelerator="cpu", **options,
    )  # fmt: skip


def test_fitter_ranks_causal_units_first_and_iou_does_not(
    jittered_generator: PlantedCausalGenerator, segmenter: PlantedConceptSegmenter
) -> None:
    g = jittered_generator
    z = latents(160, g.latent_size)
    iou = dissect(g, "layer1", segmenter, z[:64], z[64:128], threshold_mode="iqr")["layer1"]
    tree_iou = iou.iou_table[:, 1]
    by_iou = iou_ranking(tree_iou)
    assert set(by_iou[:3]) == set(g.decoy_units)  # correlation alone points at the decoys
    search = search_cells(g, "layer1", segmenter, "tree", z[:96])
    torch.manual_seed(0)
    fitter = CausalUnitFitter(g, segmenter, search, iou=tree_iou, batch_size=16)
    assert fitter.alpha[g.decoy_units].min() > fitter.alpha[g.causal_units].max()  # IoU start
    _trainer(80).fit(fitter)
    assert set(fitter.ranking()[:3]) == set(g.causal_units)
    alpha = fitter.alpha.detach()
    assert alpha[g.causal_units].min() > 0.9 and alpha[g.decoy_units].max() < 0.5
    assert float(alpha.min()) >= 0 and float(alpha.max()) <= 1  # projected
    held_out = search_cells(g, "layer1", segmenter, "tree", z[128:], k=search.k)
    curves = causal_curves(g, segmenter, held_out, {"ace": fitter.ranking(), "iou": by_iou},
                           k=search.k, top_n=3)  # fmt: skip
    assert curves.ablation["ace"][-1] > 0.99 and curves.insertion["ace"][-1] > 0.99
    assert curves.ablation["iou"] == [0.0, 0.0, 0.0] == curves.insertion["iou"]


def test_gradient_reaches_alpha_only(
    jittered_generator: PlantedCausalGenerator, segmenter: PlantedConceptSegmenter
) -> None:
    g = jittered_generator
    search = search_cells(g, "layer1", segmenter, "tree", latents(16, g.latent_size))
    fitter = CausalUnitFitter(g, segmenter, search, batch_size=8)
    batch = next(iter(fitter.train_dataloader()))
    fitter.terms(batch)["loss"].backward()
    assert fitter.alpha.grad is not None
    assert fitter.alpha.grad[g.causal_units].abs().min() > 0
    # decoys and noise units feed nothing: only the penalty moves them
    others = g.decoy_units + g.noise_units
    expected = 2 * fitter.hparams["penalty"] * fitter.alpha.detach()[others]
    torch.testing.assert_close(fitter.alpha.grad[others], expected)
    assert all(p.grad is None for p in g.parameters())
    assert [name for name, p in fitter.named_parameters() if p.requires_grad] == ["alpha"]


def _closed_form(
    n: int, causal: int = 3, level: float = 0.5, k: float = 0.75
) -> tuple[float, float]:
    """Population hard presence after ablating / inserting n of the causal units (m ~ U(0, 1))."""
    keep = 1 - n / causal
    ablated = max(0.0, 1 - level / keep) if keep > 0 else 0.0
    inserted = 1.0 if keep == 0 else min(1.0, max(0.0, 1 - (level - n / causal * k) / keep))
    return inserted, ablated


def test_ace_matches_the_analytic_expectation(
    exact_generator: PlantedCausalGenerator, segmenter: PlantedConceptSegmenter
) -> None:
    g = exact_generator
    z = latents(256, g.latent_size, seed=1)
    for n in (1, 2, 3):
        units = g.causal_units[:n]
        metric = AverageCausalEffect(g, "layer1", segmenter, "tree", k=0.75, units=units)
        metric.update(z[:100])
        metric.update(z[100:])
        result = metric.compute()
        # exact, on the same latents: hard presence is [d' > level] with d' from the edited units
        for value, key in ((0.0, "ablated"), (0.75, "inserted")):
            edit = Intervention("layer1", units=units, value=value)
            with torch.no_grad(), intervene(g, edit), trace(g, "layer1") as traced:
                g(z)  # the trace, opened inside, records the edited units
                field = g.decode(traced["layer1"])  # [N, g, g], the concept field after the edit
            hard = (field > g.level).double().mean()
            soft = torch.sigmoid(g.sharpness * (field - g.level)).double().mean()
            torch.testing.assert_close(result[key].double(), torch.stack([hard, soft]), atol=1e-5,
                                       rtol=0)  # fmt: skip
        # population closed form (m uniform): within sampling error of 256 * 64 cells
        inserted, ablated = _closed_form(n)
        assert abs(float(result["ace"][0]) - (inserted - ablated)) < 0.02
        assert abs(float(result["ablated"][0]) - ablated) < 0.02


def test_decoys_have_no_effect_and_unedited_presence_is_one_half(
    exact_generator: PlantedCausalGenerator, segmenter: PlantedConceptSegmenter
) -> None:
    g = exact_generator
    z = latents(128, g.latent_size, seed=2)
    metric = AverageCausalEffect(g, "layer1", segmenter, "tree", k=5.0, units=g.decoy_units)
    metric.update(z)
    result = metric.compute()
    torch.testing.assert_close(result["ace"], torch.zeros(2))
    assert abs(float(result["inserted"][0]) - 0.5) < 0.02  # P(m > 1/2), nothing changed
