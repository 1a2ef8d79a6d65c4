"""The applications of GAN Dissection (Bau et al., ICLR 2019, section 4).

* artifact units (section 4.3): :func:`artifact_scores` and :func:`repair_curve`;
* insertion in context (section 4.4): :func:`insertion_in_context`;
* comparing models and checkpoints (section 4.1): :func:`compare_dissections`.

Settings dataclasses for the command line are in :mod:`ganlens.applications.settings` and the
commands that write JSON and pictures in :mod:`ganlens.applications.commands`.
"""
