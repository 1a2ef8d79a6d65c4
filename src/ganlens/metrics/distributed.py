"""Process-group helpers for the dissection metrics (sum states synced by one all-reduce).

GAN Dissection (Bau et al., ICLR 2019, arXiv:1811.10597, section 3.1) statistics are sums over
the probe set, so the metric states that hold them (histograms and counts) merge exactly by
addition across processes.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

__all__ = ["all_reduce_sum", "process_share", "rank_and_world", "summed_over_processes"]


def process_share(count: int, distributed: bool) -> range:
    """The sample positions this process handles: all, or its contiguous share of ``count``.

    Raises:
        ValueError: If ``distributed`` without an initialised process group, or fewer samples
            than processes.

    Example:
        >>> process_share(5, distributed=False)
        range(0, 5)
    """
    if not distributed:
        return range(count)
    if not (torch.distributed.is_available() and torch.distributed.is_initialized()):
        raise ValueError("distributed=True needs an initialised torch.distributed process group")
    rank, world = torch.distributed.get_rank(), torch.distributed.get_world_size()
    if count < world:
        raise ValueError(f"each of the {world} processes needs a sample; got {count} latents")
    return range(rank * count // world, (rank + 1) * count // world)


def rank_and_world(distributed: bool) -> tuple[int, int]:
    """This process's rank and the group's size (0 and 1 when not distributed).

    Example:
        >>> rank_and_world(distributed=False)
        (0, 1)
    """
    if not distributed:
        return 0, 1
    return torch.distributed.get_rank(), torch.distributed.get_world_size()


def summed_over_processes(tensor: Tensor) -> Tensor:
    """``tensor`` summed over the process group (itself without one), on its own device.

    The all-reduce runs where the backend needs it (the current GPU for NCCL).

    Example:
        >>> summed_over_processes(torch.tensor([1.0, 2.0]))
        tensor([1., 2.])
    """
    if not (torch.distributed.is_available() and torch.distributed.is_initialized()):
        return tensor
    nccl = torch.distributed.get_backend() == "nccl"
    where = torch.device("cuda", torch.cuda.current_device()) if nccl else tensor.device
    reduced = tensor.to(where).clone()
    torch.distributed.all_reduce(reduced)
    return reduced.to(tensor.device)


def all_reduce_sum(tensor: Tensor, group: Any | None = None) -> list[Tensor]:
    """A ``dist_sync_fn`` that sums a state across processes in place of gathering every copy.

    torchmetrics' default sync gathers every rank's copy (about ``world_size + 1`` times the
    state's memory); for states reduced with ``"sum"`` an all-reduce gives the same result with
    one copy. Pass it as ``dist_sync_fn=all_reduce_sum`` to metrics whose states are all sums
    (:class:`~ganlens.metrics.UnitQuantile`, :class:`~ganlens.metrics.UnitConceptIoU`).

    Args:
        tensor: The local state.
        group: Process group (default: the world).

    Returns:
        A one-element list with the summed state (torchmetrics stacks and sums it).

    Example:
        >>> all_reduce_sum(torch.ones(2))  # without torch.distributed: the tensor itself
        [tensor([1., 1.])]
    """
    if not (torch.distributed.is_available() and torch.distributed.is_initialized()):
        return [tensor]
    reduced = tensor.clone()
    torch.distributed.all_reduce(reduced, group=group)
    return [reduced]
