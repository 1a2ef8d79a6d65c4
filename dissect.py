"""Dissect a trained generator: ``python dissect.py {units,report,ace} --help``.

``units`` writes dissect.json, unit images and an HTML report; ``report DIR`` rebuilds the report;
``ace`` fits the average causal effect of units on a concept. Same as the ``ganlens`` command.
"""

from ganlens.dissect.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
