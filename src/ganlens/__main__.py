"""``python -m ganlens``: the ``ganlens`` command line (:mod:`ganlens.cli`)."""

from ganlens.cli import main

if __name__ == "__main__":
    raise SystemExit(main(prog="python -m ganlens"))
