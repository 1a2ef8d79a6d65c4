"""Lightning callbacks that schedule ganlens metrics and log their results."""

from ganlens.callbacks.causal_effect import CausalEffectMonitor
from ganlens.callbacks.dissection import DissectionMonitor
from ganlens.callbacks.logging import log_evaluation
from ganlens.callbacks.quality import ImageQualityMonitor
from ganlens.callbacks.samples import SampleGridMonitor

__all__ = [
    "CausalEffectMonitor",
    "DissectionMonitor",
    "ImageQualityMonitor",
    "SampleGridMonitor",
    "log_evaluation",
]
