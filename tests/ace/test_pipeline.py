"""run_concept checks that the concept occurs in both latent sets before it fits anything."""

import pytest
import torch

import ganlens.ace.pipeline as pipeline
from ganlens.ace.planted import PlantedCausalGenerator, PlantedConceptSegmenter


def no_fit(*args, **kwargs):
    raise AssertionError("the alpha fit ran although the check should have failed first")


@pytest.mark.parametrize("absent_from", ["fit", "eval"])
def test_a_concept_missing_from_a_set_fails_before_the_fit(monkeypatch, absent_from):
    monkeypatch.setattr(pipeline, "CausalUnitFitter", no_fit)
    generator = PlantedCausalGenerator(grid=4, scale=2)
    present = torch.randn(8, generator.latent_size, generator=torch.Generator().manual_seed(0))
    absent = torch.full((8, generator.latent_size), -10.0)  # m = Phi(-10): no concept anywhere
    fit, held_out = (absent, present) if absent_from == "fit" else (present, absent)
    name = "search" if absent_from == "fit" else "held-out"
    with pytest.raises(ValueError, match=f"the {name} images contain no 'tree'"):
        pipeline.run_concept(generator, PlantedConceptSegmenter(), "layer1", "tree", fit,
                             held_out, torch.zeros(8), steps=5, top_n=2)  # fmt: skip
