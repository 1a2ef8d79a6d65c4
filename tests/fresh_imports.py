"""Run snippets of Python each in a fresh child of one interpreter that holds only third-party code.

Starting a new interpreter per snippet costs a torch import each (about 2 s of CPU; the layering
test's 28 parts took 69 s of the suite on 2 cores, against 8 s forked). The children are forked
from a parent that has imported torch, Lightning and the other third-party libraries but nothing
of ganlens, so what the tests guard (how ganlens' own modules load) is as in a fresh interpreter.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Mapping

PARENT = r"""
import json, os, sys, traceback
import jsonargparse, numpy, PIL, pytorch_lightning, torch, torchmetrics, torchvision
assert not [m for m in sys.modules if m.split(".")[0] == "ganlens"], "ganlens loaded early"
children = {}
for name, code in json.loads(sys.argv[1]).items():
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        try:
            exec(compile(code, name, "exec"), {"__name__": "__main__"})
        except BaseException:
            os.write(write, traceback.format_exc()[-1500:].encode())
            os._exit(1)
        os._exit(0)
    os.close(write)
    children[name] = (pid, read)
failed = {}
for name, (pid, read) in children.items():
    message = os.read(read, 1 << 16).decode()
    if os.waitpid(pid, 0)[1]:
        failed[name] = message or "failed"
print(json.dumps(failed))
"""


def failures_of_each_alone(snippets: Mapping[str, str]) -> dict[str, str]:
    """Run each snippet in its own forked child; the traceback tail of each one that failed."""
    done = subprocess.run([sys.executable, "-c", PARENT, json.dumps(dict(snippets))],
                          capture_output=True, text=True, timeout=600)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    failed: dict[str, str] = json.loads(done.stdout.strip().splitlines()[-1])
    return failed
