"""AverageCausalEffect: functional parity, merge parity, regions and errors."""

from __future__ import annotations

import pytest
import torch

from ganlens.ace.planted import PlantedCausalGenerator, PlantedConceptSegmenter
from ganlens.functional.causal_effect import average_causal_effect, concept_presence
from ganlens.hooks import Intervention, intervene
from ganlens.metrics import AverageCausalEffect

Toy = tuple[PlantedCausalGenerator, PlantedConceptSegmenter, torch.Tensor]


@pytest.fixture
def toy() -> tuple[PlantedCausalGenerator, PlantedConceptSegmenter, torch.Tensor]:
    g = PlantedCausalGenerator(grid=4, scale=2, jitter=0.2)
    z = torch.randn(24, g.latent_size, generator=torch.Generator().manual_seed(3))
    return g, PlantedConceptSegmenter(), z


def _presence(g: PlantedCausalGenerator, seg: PlantedConceptSegmenter, z: torch.Tensor,
              *edits: Intervention) -> torch.Tensor:  # fmt: skip
    with torch.no_grad(), intervene(g, *edits):
        images = g(z).clamp(-1, 1)
    return concept_presence(seg, images, "tree", (4, 4))


def test_metric_equals_the_functional_with_per_unit_alpha_and_k(toy: Toy) -> None:
    g, seg, z = toy
    alpha = torch.tensor([0.0, 0.0, 0.0, 1.0, 0.5, 0.25, 0.0, 1.0])
    k = torch.linspace(0.2, 0.9, 8)
    metric = AverageCausalEffect(g, "layer1", seg, "tree", k=k, alpha=alpha)
    for part in z.split(7):
        metric.update(part)
    inserted = _presence(g, seg, z, Intervention("layer1", alpha=alpha, value=k))
    ablated = _presence(g, seg, z, Intervention("layer1", alpha=alpha))
    expected = average_causal_effect(inserted, ablated)
    for key, value in metric.compute().items():
        torch.testing.assert_close(value, expected[key])


def test_present_region_and_merge_state_parity(toy: Toy) -> None:
    g, seg, z = toy
    options = {"k": 0.75, "units": g.causal_units[:1], "region": "present"}
    whole = AverageCausalEffect(g, "layer1", seg, "tree", **options)
    whole.update(z)
    parts = [AverageCausalEffect(g, "layer1", seg, "tree", **options) for _ in range(2)]
    parts[0].update(z[:10])
    parts[1].update(z[10:])
    parts[0].merge_state(parts[1])
    for key, value in whole.compute().items():
        torch.testing.assert_close(parts[0].compute()[key], value)
    mask = _presence(g, seg, z)[0] > 0  # where the concept is, unedited
    inserted = _presence(g, seg, z, Intervention("layer1", units=g.causal_units[:1], mask=mask,
                                                 value=0.75))  # fmt: skip
    ablated = _presence(g, seg, z, Intervention("layer1", units=g.causal_units[:1], mask=mask))
    expected = average_causal_effect(inserted, ablated, mask)
    torch.testing.assert_close(whole.compute()["ace"], expected["ace"])
    assert float(whole.compute()["ablated"][0]) < 1.0  # ablation removed some concept


def test_given_region_needs_a_mask_and_bad_arguments_raise(toy: Toy) -> None:
    g, seg, z = toy
    metric = AverageCausalEffect(g, "layer1", seg, "tree", k=0.75, units=[3], region="given")
    corner = torch.zeros(4, 4, dtype=torch.bool)
    corner[0, 0] = True
    metric.update(z, corner)
    assert metric.count == z.shape[0]
    with pytest.raises(ValueError, match="pass mask exactly when region='given'"):
        metric.update(z)
    with pytest.raises(ValueError, match="region must be one of"):
        AverageCausalEffect(g, "layer1", seg, "tree", k=1.0, region="corner")
    with pytest.raises(ValueError, match="unknown layer 'layer9'"):
        AverageCausalEffect(g, "layer9", seg, "tree", k=1.0)
    with pytest.raises(ValueError, match="not in the segmenter's vocabulary"):
        AverageCausalEffect(g, "layer1", seg, "dome", k=1.0)


def test_state_is_sum_reduced_and_small(toy: Toy) -> None:
    g, seg, _ = toy
    metric = AverageCausalEffect(g, "layer1", seg, "tree", k=1.0)
    assert set(metric._reductions) == {"inserted", "ablated", "count"}
    assert all(fn.__name__ == "dim_zero_sum" for fn in metric._reductions.values())
    assert not any(key.startswith("_models") for key in metric.state_dict())


def test_emulated_two_rank_sync_equals_single_process(toy: Toy) -> None:
    g, seg, z = toy

    def build() -> AverageCausalEffect:
        return AverageCausalEffect(g, "layer1", seg, "tree", k=0.75, units=[3, 4], region="present")

    single, rank0, rank1 = build(), build(), build()
    single.update(z)
    rank0.update(z[0::2])
    rank1.update(z[1::2])
    names = {id(getattr(rank0, name)): name for name in rank0._defaults}

    def gather(tensor: torch.Tensor, group: object = None) -> list[torch.Tensor]:
        return [tensor, getattr(rank1, names[id(tensor)])]

    rank0.sync(dist_sync_fn=gather, distributed_available=lambda: True)
    for name in single._defaults:
        torch.testing.assert_close(getattr(rank0, name), getattr(single, name))
    rank0.unsync()
    assert rank0.count < single.count  # its own half again
