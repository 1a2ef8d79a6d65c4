"""Work and a generator that fail on purpose in one process of a multi-process job.

Importable by name (``tests/`` is on ``sys.path``), so spawned processes can unpickle them; the
generator reads when to fail from the environment, which spawned processes inherit.
"""

from __future__ import annotations

import os
import time
from typing import Any

import torch
from torch import nn

FAIL_RANK = "GANLENS_TEST_FAIL_RANK"  # the process that fails
FAIL_AFTER = "GANLENS_TEST_FAIL_AFTER"  # after this many generator calls
FAIL_HOW = "GANLENS_TEST_FAIL_HOW"  # raise (default), exit or hang


def _rank() -> int:
    return torch.distributed.get_rank() if torch.distributed.is_initialized() else 0


def fail(how: str) -> None:
    if how == "exit":
        os._exit(9)
    if how == "hang":
        time.sleep(3600)
    raise RuntimeError("injected failure")


def work(*, device: str, writer: bool, distributed: bool, how: str = "raise") -> int:
    """Run-on-devices work: rank 1 fails ``how``; the others all-reduce once, as a job would."""
    if _rank() == 1:
        fail(how)
    torch.distributed.all_reduce(torch.ones(1))
    return 0


def scene_generator_that_fails() -> nn.Module:
    """The shipped scene generator; fails in process ``$FAIL_RANK`` after ``$FAIL_AFTER`` calls."""
    from ganlens.models import load_scene_generator

    generator = load_scene_generator()
    calls = [0]

    def count(module: nn.Module, inputs: Any) -> None:
        calls[0] += 1
        if _rank() == int(os.environ[FAIL_RANK]) and calls[0] > int(os.environ[FAIL_AFTER]):
            fail(os.environ.get(FAIL_HOW, "raise"))

    generator.register_forward_pre_hook(count)
    return generator
