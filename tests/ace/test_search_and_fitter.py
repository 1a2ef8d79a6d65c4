"""Search pass, fitter logging and checkpointing, evaluation curves and plots on the toy."""

from __future__ import annotations

import csv
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch
from pytorch_lightning.loggers import CSVLogger

from ganlens.ace import (
    CausalCurves,
    CausalPairs,
    CausalUnitFitter,
    causal_curves,
    save_curve_plot,
    search_cells,
)
from ganlens.ace.planted import PlantedCausalGenerator, PlantedConceptSegmenter

from .conftest import latents

SVG = "{http://www.w3.org/2000/svg}"


def test_search_finds_most_covered_present_cells_and_empty_candidates(
    jittered_generator: PlantedCausalGenerator, segmenter: PlantedConceptSegmenter
) -> None:
    g = jittered_generator
    found = search_cells(g, "layer1", segmenter, "tree", latents(12, g.latent_size),
                         present_per_image=2, candidates_per_image=3, spacing=3)  # fmt: skip
    coverage = found.coverage
    image, row, col = found.present.T
    assert (coverage[image, row, col] > 0).all()
    assert (coverage[image, row, col] == coverage.flatten(1).amax(1)[image]).all()
    assert found.present.shape[0] == 2 * 12  # half the cells hold the concept in every image
    image, row, col = found.candidates.T
    assert (coverage[image, row, col] == 0).all() and (found.candidate_gain > 0).all()
    assert found.candidates.shape[0] == 3 * 12
    assert found.k[g.causal_units].min() > 0.7 and found.statistics.quantile.shape == (8,)
    with pytest.raises(ValueError, match="spacing must be >= 2 \\* radius \\+ 1"):
        search_cells(g, "layer1", segmenter, "tree", latents(2, g.latent_size), spacing=2, radius=1)


def test_fitter_logs_its_terms_and_restores_from_a_checkpoint(
    tmp_path: Path,
    jittered_generator: PlantedCausalGenerator,
    segmenter: PlantedConceptSegmenter,
) -> None:
    g = jittered_generator
    search = search_cells(g, "layer1", segmenter, "tree", latents(24, g.latent_size))
    fitter = CausalUnitFitter(g, segmenter, search, iou=torch.linspace(0, 1, 8), batch_size=8,
                              radius=1)  # fmt: skip
    torch.testing.assert_close(fitter.alpha.detach(), torch.linspace(0, 1, 8))
    trainer = pl.Trainer(max_steps=12, logger=CSVLogger(tmp_path), log_every_n_steps=1,
                         enable_progress_bar=False, enable_model_summary=False,
                         default_root_dir=tmp_path)  # fmt: skip
    trainer.fit(fitter)
    with open(Path(trainer.logger.log_dir) / "metrics.csv") as file:
        rows = list(csv.DictReader(file))
    keys = {k for row in rows for k, v in row.items() if v}
    assert {"fit/loss", "fit/ablation", "fit/insertion", "fit/penalty", "fit/sparsity"} <= keys
    last = [r for r in rows if r["fit/loss"]][-1]
    total = float(last["fit/ablation"]) - float(last["fit/insertion"]) + float(last["fit/penalty"])
    assert abs(float(last["fit/loss"]) - total) < 1e-5
    path = tmp_path / "fit.ckpt"
    trainer.save_checkpoint(path)
    restored = CausalUnitFitter.load_from_checkpoint(path, generator=g, segmenter=segmenter,
                                                     search=search)  # fmt: skip
    torch.testing.assert_close(restored.alpha, fitter.alpha)
    assert restored.hparams["radius"] == 1 and restored.ranking() == fitter.ranking()


def test_fitter_and_pairs_reject_bad_input(
    exact_generator: PlantedCausalGenerator, segmenter: PlantedConceptSegmenter
) -> None:
    g = exact_generator
    search = search_cells(g, "layer1", segmenter, "tree", latents(4, g.latent_size))
    with pytest.raises(ValueError, match="iou must have 8 entries"):
        CausalUnitFitter(g, segmenter, search, iou=torch.ones(3))
    with pytest.raises(ValueError, match="lr must be > 0"):
        CausalUnitFitter(g, segmenter, search, lr=0)
    empty = search_cells(g, "layer1", segmenter, "tree", -10 * torch.ones(2, g.latent_size))
    with pytest.raises(ValueError, match="0 present"):
        CausalPairs(empty)


def test_curves_of_a_planted_ranking_and_their_plot(
    tmp_path: Path, exact_generator: PlantedCausalGenerator, segmenter: PlantedConceptSegmenter
) -> None:
    g = exact_generator
    held_out = search_cells(g, "layer1", segmenter, "tree", latents(64, g.latent_size, seed=5))
    rankings = {"causal": g.causal_units, "decoys": g.decoy_units}
    curves = causal_curves(g, segmenter, held_out, rankings, k=torch.full((8,), 0.75), top_n=5)
    assert curves.n == [1, 2, 3]  # capped at the shortest ranking
    # one causal unit of three: P(m > 3/4) stays of P(m > 1/2), so half the pixels are removed
    assert abs(curves.ablation["causal"][0] - 0.5) < 0.05
    assert curves.ablation["causal"][1:] == [1.0, 1.0] and curves.insertion["causal"][1:] == [
        1.0,
        1.0,
    ]
    assert curves.ablation["decoys"] == [0.0] * 3 == curves.insertion["decoys"]
    path = save_curve_plot(curves, tmp_path / "curves.svg", concept="tree", title="toy")
    root = ET.parse(path).getroot()
    assert root.tag == f"{SVG}svg" and [t.text for t in root.findall(f"{SVG}text")] == ["toy"]
    lines = {
        (chart.findtext(f"{SVG}text"), line.findtext(f"{SVG}title")): [
            float(point.split(",")[1]) for point in str(line.get("points")).split()
        ]
        for chart in root.findall(f"{SVG}svg")
        for line in chart.iter(f"{SVG}polyline")
    }
    assert sorted(lines) == [
        (f"{kind}: tree {verb}", f"top by {name}")
        for kind, verb in (("ablation", "removed"), ("insertion", "added"))
        for name in ("causal", "decoys")
    ]
    ablated = lines["ablation: tree removed", "top by causal"]  # y pixels: up is smaller
    assert ablated[0] > ablated[1] == ablated[2]
    assert len(set(lines["ablation: tree removed", "top by decoys"])) == 1  # flat at 0
    assert not list(tmp_path.glob(".*.tmp"))
    assert CausalCurves(**curves.to_dict()) == curves
