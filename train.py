"""Train a GAN with ganlens monitors: ``python train.py fit --config configs/tiny_cpu.yaml``.

A thin alias of the ``ganlens`` command (:mod:`ganlens.cli`); ``python train.py fit --help``
lists every option (model, data, trainer, callbacks).
"""

from ganlens.cli import main

if __name__ == "__main__":
    raise SystemExit(main(prog="train.py"))
