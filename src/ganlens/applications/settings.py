"""Settings of the three applications of GAN Dissection (Bau et al., ICLR 2019, section 4).

One dataclass per command (``artifacts``, ``context``, ``compare``); every option is a typed field
with a default and is described in the class docstring's ``Args:`` section, from which the command
line builds its ``--help``. This module imports only the standard library.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["QUALITY_METRICS", "ArtifactsSettings", "CompareSettings", "ContextSettings"]

QUALITY_METRICS = ("fsd", "swd", "fid")
"""Image-quality measures of the artifact score: Fréchet segmenter distance, SWD, FID."""


@dataclass
class ArtifactsSettings:
    """Find the units that cause visual artifacts and repair the generator by ablating them.

    GAN Dissection, section 4.3: each unit's artifact score is the image quality of its
    top-activating samples against real images; ablating the worst units should improve the
    whole generator's samples. Writes ``artifacts.json`` and pictures into ``out``.

    Args:
        generator: "scene" (the shipped 32 px model), a .ckpt, a gandissect .pth or
            "package.module:factory".
        segmenter: Segmenter whose features give FSD: "scene" (shipped; the only one FSD supports),
            "segformer:PATH" or "package.module:factory".
        layer: Generator layer whose units are scored and ablated.
        samples: Generated samples N; each unit is scored on its top_k of them, and the repair
            curve generates these N samples at every n.
        top_k: Top-activating samples per unit that are scored (the paper used 10,000).
        real: Real images compared against (scene-world scenes); the repair curve and the floor
            use min(real, samples) of them.
        quality: "fsd" (Fréchet distance of scene-segmenter features), "swd" (sliced Wasserstein
            distance, Karras et al. 2018) or "fid" (needs inception_weights).
        inception_weights: Path of torch-fidelity's Inception-v3 weights (quality "fid" only).
        repair_quality: Measures of the repair curve, any of "fsd", "swd", "fid" (SWD costs about
            four times FSD on a CPU).
        repair_units: Largest n of the repair curve (ablate the top n artifact units, n = 0..this).
        control: Also ablate n randomly chosen units at every n (a control for the repair curve).
        show_units: Worst units shown in the picture of top samples.
        seed: Seed of the latents, the real scenes and the random control.
        device: Torch device, e.g. "cpu" or "cuda".
        out: Output folder.
        batch_size: Samples per forward pass.
        quiet: No progress bars.
        dissection: Optional dissection folder or dissect.json; each artifact unit is shown with
            the concept it detects there.
        wandb: Also log the results to a W&B run (offline unless logged in).
        wandb_project: W&B project.
    """

    generator: str = "scene"
    segmenter: str = "scene"
    layer: str = "layer4"
    samples: int = 1024
    top_k: int = 64
    real: int = 512
    quality: str = "fsd"
    inception_weights: str | None = None
    repair_quality: list[str] = field(default_factory=lambda: ["fsd"])
    repair_units: int = 20
    control: bool = True
    show_units: int = 8
    seed: int = 0
    device: str = "cpu"
    out: str = "outputs/artifacts"
    batch_size: int = 64
    quiet: bool = False
    dissection: str | None = None
    wandb: bool = False
    wandb_project: str = "ganlens"


@dataclass
class ContextSettings:
    """Insert a concept's top units at every feature cell and see where the concept appears.

    GAN Dissection, section 4.4 (Fig. 11-12): the effect of inserting units depends on the
    location's context (a door appears on a wall, not in the sky). Success at a cell: the
    concept's pixels added in the edited window's image region reach ``min_added`` of it.
    Results are grouped by the unedited image's label at the cell. Writes ``context.json`` and a
    picture grid into ``out``.

    Args:
        generator: "scene" (the shipped 32 px model), a .ckpt, a gandissect .pth or
            "package.module:factory".
        segmenter: "scene" (shipped), "segformer:PATH" or "package.module:factory".
        layer: Generator layer whose units are inserted.
        concept: Concept to insert, e.g. "door".
        units: How many of the concept's top units to insert.
        ranking: "auto" (ACE ranking from dissection when it has one, else IoU), "ace" or "iou".
        samples: Images whose every cell is tried (cost: samples x cells forward passes).
        k_samples: Samples that measure the insertion constant k (mean activation where the
            concept is present).
        dissect_samples: Samples of the quick dissection that ranks units by IoU when no
            dissection is given.
        radius: Half side of the inserted window around each cell (0: the cell alone).
        spacing: Try every spacing-th cell in each direction (1: every cell).
        min_added: Success threshold: net fraction of the window's pixels that become the concept.
        context_layers: Label layers that name a cell's context, first labelled one wins.
        show_images: Images drawn in the picture grid.
        seed: Seed of the latents.
        device: Torch device.
        out: Output folder.
        batch_size: Samples per forward pass.
        quiet: No progress bars.
        dissection: A dissection folder or dissect.json (its IoU rankings and ACE results).
        wandb: Also log the results to a W&B run.
        wandb_project: W&B project.
    """

    generator: str = "scene"
    segmenter: str = "scene"
    layer: str = "layer4"
    concept: str = "door"
    units: int = 20
    ranking: str = "auto"
    samples: int = 48
    k_samples: int = 256
    dissect_samples: int = 256
    radius: int = 1
    spacing: int = 1
    min_added: float = 0.1
    context_layers: list[str] = field(default_factory=lambda: ["part", "object"])
    show_images: int = 8
    seed: int = 0
    device: str = "cpu"
    out: str = "outputs/context"
    batch_size: int = 64
    quiet: bool = False
    dissection: str | None = None
    wandb: bool = False
    wandb_project: str = "ganlens"


@dataclass
class CompareSettings:
    """Compare two generators or dissections: interpretable units per layer and category.

    GAN Dissection, section 4.1 (Fig. 6-7). Each side is a generator source (dissected here) or a
    dissection folder / dissect.json. For two checkpoints of one training run (same layers and
    unit counts) the unit lineage says which units kept or changed their concept. Writes
    ``compare.json`` and pictures into ``out``.

    Args:
        a: First side: "scene", a .ckpt, a .pth, "package.module:factory", or a dissection folder
            or dissect.json.
        b: Second side, the same kinds.
        layers: Layers to dissect (generator sides) and compare (default: those both sides share).
        segmenter: Segmenter of the dissections run here.
        samples: Probe samples of the dissections run here.
        threshold: "iqr" (held-out half chooses thresholds) or "quantile".
        seed: Seed of the latents (both sides use the same ones unless seed_b is set).
        seed_b: Seed of B's latents when it differs (e.g. "scene" against "scene" on two latent
            sets: how many units change their label by chance, the noise floor of a comparison).
        device: Torch device.
        out: Output folder.
        batch_size: Samples per forward pass.
        quiet: No progress bars.
        wandb: Also log the results to a W&B run.
        wandb_project: W&B project.
    """

    a: str
    b: str
    layers: list[str] = field(default_factory=lambda: ["layer2", "layer4", "layer6", "layer8"])
    segmenter: str = "scene"
    samples: int = 256
    threshold: str = "iqr"
    seed: int = 0
    seed_b: int | None = None
    device: str = "cpu"
    out: str = "outputs/compare"
    batch_size: int = 64
    quiet: bool = False
    wandb: bool = False
    wandb_project: str = "ganlens"
