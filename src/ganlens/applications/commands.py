"""The applications' commands: validate settings, compute, write JSON and pictures into ``out``.

``run_artifacts`` (GAN Dissection section 4.3), ``run_context`` (section 4.4) and ``run_compare``
(section 4.1) each take their settings dataclass (:mod:`ganlens.applications.settings`) and return
0; input errors raise ``ValueError`` naming the field, the value and what is allowed. The JSON
each writes is documented in its module (``artifacts_command``, ``context_command``,
``compare_command``).
"""

from __future__ import annotations

from ganlens.applications.artifacts_command import run_artifacts
from ganlens.applications.compare_command import run_compare
from ganlens.applications.context_command import run_context

__all__ = ["run_artifacts", "run_compare", "run_context"]
