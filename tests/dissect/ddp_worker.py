"""Two-process DDP run of the dissection metrics (torch.distributed, gloo, CPU).

Run as ``python ddp_worker.py OUT_DIR``: spawns two ranks with ``torch.multiprocessing.spawn``;
each rank streams its half of a planted scene data set (samples ``rank::2``) through the metrics,
which sync on ``compute()``, and saves the results to ``OUT_DIR/rank{r}.pt``.
``test_distributed.py`` loads this file as a module to compute the same results in one process.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import torch
import torch.distributed as dist

from ganlens.data import SCENE_VOCABULARY, render_scene
from ganlens.dissect.planted import PlantedSceneGenerator
from ganlens.functional.information_quality import iqr_top_fractions
from ganlens.hooks import trace
from ganlens.metrics.distributed import all_reduce_sum
from ganlens.metrics.top_activations import TopActivations
from ganlens.metrics.unit_concept_iou import UnitConceptIoU
from ganlens.metrics.unit_quantile import UnitQuantile

NUM_SAMPLES, BATCH = 36, 5
PLANTED = ("sky", "cloud", "water", "road", "door")


def dataset() -> tuple[torch.Tensor, torch.Tensor]:
    """Planted featuremaps [36, 9, 8, 8] and scene labels [36, 3, 32, 32]."""
    generator = PlantedSceneGenerator(PLANTED, resolution=32, feature_size=8, num_noise=3)
    latents = torch.arange(NUM_SAMPLES, dtype=torch.float32).view(-1, 1)
    with trace(generator, "layer1") as features:
        generator(latents)
    labels = torch.stack([render_scene(0, i, 32).labels for i in range(NUM_SAMPLES)])
    return features["layer1"], labels


def run_metrics(indices: torch.Tensor) -> dict[str, Any]:
    """Stream the samples ``indices`` in batches through every metric; compute (synced)."""
    features, labels = dataset()
    features, labels = features[indices], labels[indices]
    units = features.shape[1]
    fractions = iqr_top_fractions()

    def batches() -> Any:
        for start in range(0, len(indices), BATCH):
            stop = start + BATCH
            yield features[start:stop], labels[start:stop], indices[start:stop]

    quantile = UnitQuantile(units, 0.01, resolution=32)
    levels = UnitQuantile(units, fractions, resolution=32, dist_sync_fn=all_reduce_sum)
    top = TopActivations(units, k=6)
    for chunk, _, index in batches():
        quantile.update(chunk)
        levels.update(chunk)
        top.update(chunk, index)
    thresholds, candidates = quantile.compute(), levels.compute()
    single = UnitConceptIoU(SCENE_VOCABULARY, thresholds, iou_mode="category")
    search = UnitConceptIoU(SCENE_VOCABULARY, candidates, min_iqr=0.01)
    reduced = UnitConceptIoU(SCENE_VOCABULARY, thresholds, dist_sync_fn=all_reduce_sum)
    # the IQR search on 256 sampled pixels of each image, drawn from its global index
    sampled = UnitConceptIoU(SCENE_VOCABULARY, candidates, min_iqr=0.01, pixels_per_image=256)
    for chunk, segmentation, index in batches():
        for metric in (single, search, reduced, sampled):
            metric.update(chunk, segmentation, index)
    results: dict[str, Any] = {"thresholds": thresholds, "candidates": candidates}
    metrics = (("single", single), ("search", search), ("reduced", reduced), ("sampled", sampled))
    for name, metric in metrics:
        result = metric.compute()
        for field in ("concept", "iou", "iqr", "threshold", "level", "interpretable", "iou_table"):
            results[f"{name}.{field}"] = getattr(result, field)
        results[f"{name}.summary"] = result.summary
    scores, top_indices = top.compute()
    results["top.scores"], results["top.indices"] = scores, top_indices
    return results


def _rank(rank: int, world_size: int, out_dir: str, port: int) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=world_size)
    try:
        results = run_metrics(torch.arange(rank, NUM_SAMPLES, world_size))
        torch.save(results, os.path.join(out_dir, f"rank{rank}.pt"))
    finally:
        dist.destroy_process_group()


if __name__ == "__main__":
    torch.multiprocessing.spawn(_rank, args=(2, sys.argv[1], int(sys.argv[2])), nprocs=2)
