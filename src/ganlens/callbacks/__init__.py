"""Lightning callbacks that schedule ganlens metrics and log their results."""

from ganlens.callbacks.samples import SampleGridMonitor

__all__ = ["SampleGridMonitor"]
