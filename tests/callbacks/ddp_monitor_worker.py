"""Run DissectionMonitor under a real 2-process CPU DDP Trainer; each rank saves what it computed.

Usage: ``python ddp_monitor_worker.py OUT_DIR``. Lightning's ``ddp`` strategy launches rank 1 by
running this script again.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytorch_lightning as pl
import torch

sys.path.insert(0, str(Path(__file__).parent))
from planted_module import NUM_SAMPLES, PlantedModule, scene_bank

from ganlens.callbacks import DissectionMonitor
from ganlens.callbacks.dissection import layer_scalars
from ganlens.dissect import SceneLabelSegmenter


def main(out: Path) -> None:
    monitor = DissectionMonitor(["layer1"], num_samples=NUM_SAMPLES, batch_size=5,
                                segmenter=SceneLabelSegmenter(range(2 * NUM_SAMPLES)))  # fmt: skip
    monitor.latents = torch.cat(scene_bank())  # probe, then held-out latents
    trainer = pl.Trainer(accelerator="cpu", devices=2, strategy="ddp", max_epochs=1, logger=False,
                         enable_progress_bar=False, enable_model_summary=False,
                         enable_checkpointing=False, callbacks=[monitor])  # fmt: skip
    module, generated = PlantedModule(), []
    module.generator_ema.register_forward_hook(lambda m, i, out: generated.append(len(out)))
    trainer.fit(module)
    result = monitor.last_result
    assert result is not None
    layer = result["layer1"]
    torch.save(
        {
            "scalars": layer_scalars(layer, result.concept_names),
            "iou_table": layer.iou_table,
            "thresholds": torch.tensor([u.threshold for u in layer.units]),
            "top_samples": [u.top_samples for u in layer.units],
            "generated": sum(generated),
        },
        out / f"rank{trainer.global_rank}.pt",
    )


if __name__ == "__main__":
    main(Path(sys.argv[1]))
