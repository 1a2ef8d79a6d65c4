"""Run a command's work on several processes, one per device, through Lightning Fabric.

A command with ``--devices N`` checks its settings in the calling process, then hands its work
to :func:`run_on_devices`: with N > 1, Fabric's ``ddp_spawn`` strategy starts N processes joined
in a ``torch.distributed`` group (gloo between CPU processes, NCCL between GPUs), each runs the
work on its own device, and the streaming metrics inside (``sync_on_compute``) sum their states
over the group. Only the first process (global rank 0) writes files and prints; the others wait
for it at a barrier. With one device the work runs here, in this process.

Under a launcher that starts the processes itself (``torchrun``, SLURM's ``srun``: one command
per node or per device, as Lightning detects them), nothing is spawned: this process joins the
group the launcher describes (``ddp`` strategy; ``--devices`` per node and ``--num-nodes`` must
match it, Fabric checks). Fabric is the launcher or joins one: ganlens starts no processes of
its own.

Faults: an exception in any process becomes :class:`ProcessFailure`, one line naming the process
and its error. Spawned processes are watched by the parent, which stops the others as soon as one
raises or exits; under a launcher a lost peer breaks the others' next collective at once (gloo
and NCCL see the closed connection), and a process that hangs stops them after ``timeout``
seconds, the process group's timeout. Results are written by rank 0 only after every process has
finished computing, so a failed job leaves no partial result (finished per-layer caches stay).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from datetime import timedelta
from functools import partial
from typing import Any

from ganlens.console import QuietChildProcess, log_to_stderr

__all__ = ["ProcessFailure", "Work", "launched_externally", "run_on_devices"]

DEFAULT_TIMEOUT = 1800.0
"""Seconds a process waits for the others at a collective (torch.distributed's default)."""


class ProcessFailure(RuntimeError):
    """One process of a multi-process job raised or died; the message names it and its error.

    Example:
        >>> str(ProcessFailure.raised(1, 2, RuntimeError("out of memory")))
        'process 1 of 2 failed: RuntimeError: out of memory'
    """

    @classmethod
    def raised(cls, rank: int, world: int, error: BaseException) -> ProcessFailure:
        """The failure of process ``rank`` of ``world`` that raised ``error``."""
        return cls(f"process {rank} of {world} failed: {type(error).__name__}: {error}")


Work = Callable[..., int]
"""``work(device=..., writer=..., distributed=...) -> int``, picklable (a module-level function
or a ``functools.partial`` of one): called in every process with its device, whether it writes
(rank 0) and whether a process group splits the samples."""


def launched_externally() -> bool:
    """Whether ``torchrun`` or SLURM started this process as one rank of a group.

    Example:
        >>> launched_externally()  # a plain interpreter
        False
    """
    from lightning_fabric.plugins.environments.slurm import SLURMEnvironment
    from lightning_fabric.plugins.environments.torchelastic import TorchElasticEnvironment

    return TorchElasticEnvironment.detect() or SLURMEnvironment.detect()


def run_on_devices(
    work: Work,
    devices: int = 1,
    device: str = "cpu",
    quiet: bool = False,
    num_nodes: int = 1,
    timeout: float = DEFAULT_TIMEOUT,
) -> int:
    """Run ``work`` in ``devices`` processes (per node) and return this process's exit status.

    Args:
        work: Called as ``work(device=..., writer=..., distributed=...)``; with several
            processes inside an initialised process group, so code given ``distributed=True``
            splits its samples over them.
        devices: Processes per node (1 and one node, without a launcher: this process alone).
        device: ``"cpu"`` or a CUDA device (``"cuda"``: one GPU per process).
        quiet: No messages from rank 0 either (the others never print).
        num_nodes: Nodes; more than one needs a launcher (``torchrun``, ``srun``) per node.
        timeout: Seconds a process waits for the others at a collective before it fails.

    Returns:
        What ``work`` returned in rank 0 (spawned), or in this process (under a launcher).

    Raises:
        ValueError: If ``num_nodes > 1`` without a launcher.
        ProcessFailure: If a process raised or died (with several processes).

    Example:
        >>> def work(device, writer, distributed):
        ...     print(device, writer, distributed)
        ...     return 0
        >>> run_on_devices(work)
        cpu True False
        0
    """
    external = launched_externally()
    if devices * num_nodes == 1 and not external:
        return work(device=device, writer=True, distributed=False)
    if num_nodes > 1 and not external:
        raise ValueError(f"--num-nodes {num_nodes} needs a launcher that starts the command on "
                         "every node (torchrun or srun; see the README)")  # fmt: skip
    from lightning_fabric import Fabric
    from lightning_fabric.strategies.ddp import DDPStrategy
    from torch.multiprocessing.spawn import ProcessExitedException, ProcessRaisedException

    accelerator = "cuda" if device.startswith("cuda") else "cpu"
    strategy = DDPStrategy(start_method="popen" if external else "spawn",
                           timeout=timedelta(seconds=timeout))  # fmt: skip
    fabric = Fabric(accelerator=accelerator, devices=devices, num_nodes=num_nodes,
                    strategy=strategy)  # fmt: skip
    rank_work = partial(_rank, work=work, quiet=quiet, token=QuietChildProcess())
    _quiet_teardown()
    try:
        status: int = fabric.launch(rank_work)
    except ProcessRaisedException as error:  # the child's traceback text ends with its failure
        last = str(error).strip().splitlines()[-1]
        raise ProcessFailure(last.partition(f"{ProcessFailure.__name__}: ")[2] or last) from None
    except ProcessExitedException as error:
        how = f"signal {error.signal_name}" if error.signal_name else f"code {error.exit_code}"
        raise ProcessFailure(f"process {error.error_index} of {devices} exited with {how} "
                             "(killed, or out of memory?)") from None  # fmt: skip
    except ProcessFailure:
        raise
    except RuntimeError as error:  # under a launcher: the group never formed
        if not external:
            raise
        rank = os.environ.get("RANK", "?")
        raise ProcessFailure(f"process {rank} could not join the others within --timeout "
                             f"{timeout:g} s ({type(error).__name__}); did one fail before "
                             "joining?") from error  # fmt: skip
    return status


def _quiet_teardown() -> None:
    """Keep a failure to ganlens' one line: no notes from torch as it stops the other processes.

    torch logs each process it terminates, and multiprocessing's resource tracker (a process of
    its own, which reads its warning filters from the environment) warns about the queue of a
    killed process at exit.
    """
    logging.getLogger("torch.multiprocessing.spawn").setLevel(logging.ERROR)
    quiet = "ignore:resource_tracker:UserWarning"
    given = os.environ.get("PYTHONWARNINGS", "")
    if quiet not in given:
        os.environ["PYTHONWARNINGS"] = f"{given},{quiet}" if given else quiet


def _rank(fabric: Any, work: Work, quiet: bool, token: object = None) -> int:
    """One process: rank 0 reports; all run ``work``, then wait for each other.

    ``token`` is the :class:`~ganlens.console.QuietChildProcess`, already unpickled.
    """
    log_to_stderr(quiet=quiet or fabric.global_rank != 0)
    writer = fabric.global_rank == 0
    logging.getLogger("ganlens").info("running on %d processes (%s)", fabric.world_size,
                                      fabric.device.type)  # fmt: skip
    try:
        status = work(device=str(fabric.device), writer=writer, distributed=True)
        fabric.barrier()  # the others wait until the first has written
    except Exception as error:
        raise ProcessFailure.raised(fabric.global_rank, fabric.world_size, error) from error
    return status
