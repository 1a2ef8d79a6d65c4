"""Run a command's work on several processes, one per device, through Lightning Fabric.

A command with ``--devices N`` checks its settings in the calling process, then hands its work
to :func:`run_on_devices`: with N > 1, Fabric's ``ddp_spawn`` strategy starts N processes joined
in a ``torch.distributed`` group (gloo between CPU processes, NCCL between GPUs), each runs the
work on its own device, and the streaming metrics inside (``sync_on_compute``) sum their states
over the group. Only the first process (rank 0) writes files and prints; the others wait for it
at a barrier. With N = 1 the work runs here, in this process. Fabric is the launcher: ganlens
starts no processes of its own.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from ganlens.console import QuietChildProcess, log_to_stderr

__all__ = ["Work", "run_on_devices"]

Work = Callable[..., int]
"""``work(device=..., writer=..., distributed=...) -> int``, picklable (a module-level function
or a ``functools.partial`` of one): called in every process with its device, whether it writes
(rank 0) and whether a process group splits the samples."""


def run_on_devices(work: Work, devices: int = 1, device: str = "cpu", quiet: bool = False) -> int:
    """Run ``work`` in ``devices`` processes and return the first process's exit status.

    Args:
        work: Called as ``work(device=..., writer=..., distributed=...)``; with ``devices > 1``
            inside an initialised process group, so code given ``distributed=True`` splits its
            samples over the processes.
        devices: How many processes (1: this one).
        device: ``"cpu"`` or a CUDA device (``"cuda"``: one GPU per process).
        quiet: No messages from rank 0 either (the others never print).

    Returns:
        What ``work`` returned in rank 0.

    Example:
        >>> def work(device, writer, distributed):
        ...     print(device, writer, distributed)
        ...     return 0
        >>> run_on_devices(work)
        cpu True False
        0
    """
    if devices == 1:
        return work(device=device, writer=True, distributed=False)
    from lightning_fabric import Fabric

    accelerator = "cuda" if device.startswith("cuda") else "cpu"
    fabric = Fabric(accelerator=accelerator, devices=devices, strategy="ddp_spawn")
    rank_work = partial(_rank, work=work, quiet=quiet, token=QuietChildProcess())
    status: int = fabric.launch(rank_work)
    return status


def _rank(fabric: Any, work: Work, quiet: bool, token: object = None) -> int:
    """One process: rank 0 reports; all run ``work``, then wait for each other.

    ``token`` is the :class:`~ganlens.console.QuietChildProcess`, already unpickled.
    """
    log_to_stderr(quiet=quiet or fabric.global_rank != 0)
    writer = fabric.global_rank == 0
    status = work(device=str(fabric.device), writer=writer, distributed=True)
    fabric.barrier()  # the others wait until the first has written
    return status
