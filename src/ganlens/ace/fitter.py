"""Learn which units cause a concept: per-unit coefficients alpha fitted with ``Trainer.fit``.

GAN Dissection (Bau et al., ICLR 2019, arXiv:1811.10597, section 3.2) optimises a per-unit
intervention strength alpha in [0, 1]^U:

    loss = mean_present s_c(x_ablated at the cell) - mean_candidate s_c(x_inserted at the cell)
           + lambda * ||alpha||^2

with ablation ``r' = (1 - alpha P) r`` at a present cell and insertion
``r' = (1 - alpha P) r + alpha P k`` at a candidate cell (P a window of ``radius`` around the
cell), s_c the segmenter's soft class probability pooled over the cell, Adam (lr 0.01) and
projection of alpha onto [0, 1] after every step. The insertion is scored at the candidate's own
cell. The terms are means over the minibatch, so ``lambda`` (0.005) is a per-sample weight.
Alpha starts at ``IoU(u, c) / max_u IoU(u, c)`` when IoUs are given, else at ``initial_alpha``.
Units ranked by the learnt alpha are the result.
"""

from __future__ import annotations

from typing import Any

import pytorch_lightning as pl
import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset

from ganlens.ace.search import CellSearch
from ganlens.functional.causal_effect import cell_windows
from ganlens.hooks import Intervention
from ganlens.metrics.causal_effect import generate_presence

__all__ = ["CausalPairs", "CausalUnitFitter"]


class CausalPairs(Dataset[dict[str, Tensor]]):
    """Pairs of a present cell and a candidate cell from a :class:`CellSearch`, as a dataset.

    Item ``i`` pairs present cell ``i mod P`` with candidate cell ``i mod Q``; the length is
    ``max(P, Q)`` (shuffle the loader to vary the pairing).

    Args:
        search: The search result.

    Raises:
        ValueError: If the search found no present or no candidate cell.

    Example:
        >>> from ganlens.ace.planted import PlantedCausalGenerator, PlantedConceptSegmenter
        >>> from ganlens.ace.search import search_cells
        >>> g = PlantedCausalGenerator(grid=4, scale=2)
        >>> z = torch.randn(4, g.latent_size, generator=torch.Generator().manual_seed(0))
        >>> pairs = CausalPairs(search_cells(g, "layer1", PlantedConceptSegmenter(), "tree", z))
        >>> sorted(pairs[0]), pairs[0]["present_cell"].shape
        (['candidate_cell', 'candidate_latent', 'present_cell', 'present_latent'], torch.Size([2]))
    """

    def __init__(self, search: CellSearch) -> None:
        if search.present.shape[0] == 0 or search.candidates.shape[0] == 0:
            raise ValueError(
                f"search found {search.present.shape[0]} present and {search.candidates.shape[0]} "
                f"candidate cells of {search.concept!r}; both must be > 0 (search more latents, "
                "or the concept never appears / cannot be inserted at this layer)"
            )
        self.search = search

    def __len__(self) -> int:
        """``max(P, Q)``."""
        return max(self.search.present.shape[0], self.search.candidates.shape[0])

    def __getitem__(self, index: int) -> dict[str, Tensor]:
        """Latents and (row, column) of the present and candidate cells of item ``index``."""
        present = self.search.present[index % self.search.present.shape[0]]
        candidate = self.search.candidates[index % self.search.candidates.shape[0]]
        return {
            "present_latent": self.search.latents[present[0]],
            "present_cell": present[1:],
            "candidate_latent": self.search.latents[candidate[0]],
            "candidate_cell": candidate[1:],
        }


class CausalUnitFitter(pl.LightningModule):
    """Fit per-unit alpha in [0, 1]^U for one concept at one layer; rank units by it.

    The generator's parameters are frozen (``requires_grad_(False)``, in place: pass a copy if
    you keep training it) and, like the segmenter, held outside the module: they are not in the
    checkpoint, which holds alpha, k, the optimiser and the hyperparameters. Restore with
    ``CausalUnitFitter.load_from_checkpoint(path, generator=..., segmenter=..., search=...)``.
    The module supplies its own ``train_dataloader``; bound the run with ``max_steps``.

    Logged metrics (every step, to any Lightning logger):
        ``fit/loss``, ``fit/ablation`` (mean soft presence at present cells after ablation),
        ``fit/insertion`` (mean soft presence at candidate cells after insertion),
        ``fit/penalty`` (``lambda * ||alpha||^2``), ``fit/sparsity`` (fraction of units with
        alpha < 0.01) and ``fit/alpha_mean``.

    Args:
        generator: Maps latents to images; frozen here.
        segmenter: A :class:`~ganlens.segment.Segmenter` with differentiable ``class_probability``.
        search: Present and candidate cells, latents and k (:func:`ganlens.ace.search_cells`).
        iou: ``[U]`` IoU of each unit with the concept (initialises alpha), or None.
        lr: Adam learning rate.
        penalty: lambda of the L2 penalty.
        batch_size: Pairs per step.
        radius: Half side of the intervention window around each cell (0: the cell alone).
        initial_alpha: Starting alpha of every unit when ``iou`` is None.
        resolution: Segmentation side (default the image size).

    Raises:
        ValueError: On a bad setting or an ``iou`` of the wrong size.

    Example:
        >>> from ganlens.ace.planted import PlantedCausalGenerator, PlantedConceptSegmenter
        >>> from ganlens.ace.search import search_cells
        >>> _ = torch.manual_seed(0)
        >>> g, segmenter = PlantedCausalGenerator(grid=4, scale=2), PlantedConceptSegmenter()
        >>> search = search_cells(g, "layer1", segmenter, "tree", torch.randn(16, g.latent_size))
        >>> fitter = CausalUnitFitter(g, segmenter, search, batch_size=8)
        >>> trainer = pl.Trainer(max_steps=30, logger=False, enable_checkpointing=False,
        ...                      enable_progress_bar=False, enable_model_summary=False)
        >>> trainer.fit(fitter)
        >>> sorted(fitter.ranking()[:3]) == g.causal_units
        True
    """

    def __init__(
        self,
        generator: nn.Module,
        segmenter: Any,
        search: CellSearch,
        iou: Tensor | None = None,
        lr: float = 0.01,
        penalty: float = 0.005,
        batch_size: int = 16,
        radius: int = 0,
        initial_alpha: float = 0.5,
        resolution: int | None = None,
    ) -> None:
        super().__init__()
        if lr <= 0 or penalty < 0 or batch_size < 1 or radius < 0:
            raise ValueError(
                "lr must be > 0, penalty >= 0, batch_size >= 1 and radius >= 0; got "
                f"lr={lr}, penalty={penalty}, batch_size={batch_size}, radius={radius}"
            )
        if not 0.0 <= initial_alpha <= 1.0:
            raise ValueError(f"initial_alpha must lie in [0, 1]; got {initial_alpha}")
        self.save_hyperparameters(ignore=["generator", "segmenter", "search", "iou"])
        generator.requires_grad_(False)
        self._models = (generator, segmenter)  # a tuple: not submodules, not checkpointed
        self.search, self.layer, self.concept = search, search.layer, search.concept
        num_units = int(search.k.numel())
        if iou is None:
            start = torch.full((num_units,), float(initial_alpha))
        else:
            iou = torch.as_tensor(iou, dtype=torch.float32).flatten().clamp(min=0)
            if iou.numel() != num_units:
                raise ValueError(
                    f"iou must have {num_units} entries (one per unit); got {iou.numel()}"
                )
            start = iou / iou.max() if float(iou.max()) > 0 else torch.full_like(iou, initial_alpha)
        self.alpha = nn.Parameter(start.clone())  # [U]
        self.register_buffer("k", search.k.detach().clone().float())  # [U]
        self.k: Tensor

    def train_dataloader(self) -> DataLoader[dict[str, Tensor]]:
        """Shuffled :class:`CausalPairs` of the search."""
        return DataLoader(
            CausalPairs(self.search), batch_size=self.hparams["batch_size"], shuffle=True
        )

    def configure_optimizers(self) -> torch.optim.Optimizer:
        """Adam over alpha only."""
        return torch.optim.Adam([self.alpha], lr=self.hparams["lr"])

    def on_fit_start(self) -> None:
        """Put the generator (and a module segmenter) on this module's device."""
        for model in self._models:
            if isinstance(model, nn.Module):
                model.to(self.device)

    def _presence_at(self, latents: Tensor, cells: Tensor, value: float | Tensor) -> Tensor:
        """Soft presence ``[B]`` at ``cells`` after intervening there with ``value``."""
        generator, segmenter = self._models
        windows = cell_windows(cells, self.search.grid, self.hparams["radius"]).float()  # [B,h,w]
        edit = Intervention(self.layer, alpha=self.alpha, mask=windows, value=value)
        presence, _ = generate_presence(
            generator, segmenter, latents, self.layer, self.concept, edit, variants=("soft",),
            resolution=self.hparams["resolution"],
        )  # fmt: skip
        rows = torch.arange(cells.shape[0], device=cells.device)
        return presence[0][rows, cells[:, 0], cells[:, 1]]  # [B]

    def terms(self, batch: dict[str, Tensor]) -> dict[str, Tensor]:
        """The loss and its parts for one batch of pairs (differentiable in alpha)."""
        ablation = self._presence_at(batch["present_latent"], batch["present_cell"], 0.0).mean()
        insertion = self._presence_at(
            batch["candidate_latent"], batch["candidate_cell"], self.k
        ).mean()
        penalty = self.hparams["penalty"] * self.alpha.pow(2).sum()
        return {
            "loss": ablation - insertion + penalty,
            "ablation": ablation,
            "insertion": insertion,
            "penalty": penalty,
        }

    def training_step(self, batch: dict[str, Tensor], batch_idx: int) -> Tensor:
        """One Adam step's loss; logs the terms and alpha's sparsity."""
        terms = self.terms(batch)
        size = batch["present_cell"].shape[0]
        for name, value in terms.items():
            self.log(f"fit/{name}", value.detach(), prog_bar=name == "loss", batch_size=size)
        alpha = self.alpha.detach()
        self.log("fit/sparsity", (alpha < 0.01).float().mean(), batch_size=size)
        self.log("fit/alpha_mean", alpha.mean(), batch_size=size)
        return terms["loss"]

    def on_train_batch_end(self, outputs: Any, batch: Any, batch_idx: int) -> None:
        """Project alpha onto [0, 1] after the optimiser step."""
        with torch.no_grad():
            self.alpha.clamp_(0.0, 1.0)

    def ranking(self) -> list[int]:
        """Unit ids by decreasing alpha (most causal first; ties keep the lower id first)."""
        order = torch.argsort(-self.alpha.detach().cpu(), stable=True)
        return [int(u) for u in order]
