"""Dissect a trained generator: ``python dissect.py {units,report,ace,...} --help``.

A thin alias of the ``ganlens`` command (:mod:`ganlens.cli`): ``units`` writes dissect.json,
unit images and an HTML report; ``report DIR`` rebuilds the report; ``ace`` fits the average
causal effect of units on a concept.
"""

from ganlens.cli import main

if __name__ == "__main__":
    raise SystemExit(main(prog="dissect.py"))
