"""Checks of the applications' settings before anything heavy runs.

Each check raises ``ValueError`` naming the field, the value given and what is allowed.
"""

from __future__ import annotations

from typing import Any

from ganlens.applications.settings import (
    QUALITY_METRICS,
    ArtifactsSettings,
    CompareSettings,
    ContextSettings,
)

__all__ = ["RANKINGS", "THRESHOLDS", "validate"]

RANKINGS = ("auto", "ace", "iou")
THRESHOLDS = ("iqr", "quantile")


def _at_least(settings: Any, least: int, *names: str) -> None:
    for name in names:
        value = getattr(settings, name)
        if not isinstance(value, int) or isinstance(value, bool) or value < least:
            raise ValueError(f"{name} must be an integer >= {least}; got {value!r}")


def _one_of(settings: Any, name: str, allowed: tuple[str, ...]) -> None:
    value = getattr(settings, name)
    if value not in allowed:
        raise ValueError(f"{name} must be one of {allowed}; got {value!r}")


def validate(settings: ArtifactsSettings | ContextSettings | CompareSettings) -> None:
    """Check every field of an application's settings.

    Args:
        settings: The settings to check.

    Returns:
        None; raises on the first bad field.

    Raises:
        ValueError: Naming the first bad field, its value and what is allowed.

    Example:
        >>> validate(ArtifactsSettings(top_k=1))
        Traceback (most recent call last):
        ...
        ValueError: top_k must be an integer >= 2; got 1
        >>> validate(ContextSettings(ranking="best"))
        Traceback (most recent call last):
        ...
        ValueError: ranking must be one of ('auto', 'ace', 'iou'); got 'best'
    """
    _at_least(settings, 1, "batch_size")
    _at_least(settings, 0, "seed")
    if isinstance(settings, ArtifactsSettings):
        _at_least(settings, 2, "samples", "top_k", "real")
        _at_least(settings, 0, "repair_units", "show_units")
        _one_of(settings, "quality", QUALITY_METRICS)
        bad = [m for m in settings.repair_quality if m not in QUALITY_METRICS]
        if bad or not settings.repair_quality:
            raise ValueError(
                f"repair_quality must be a non-empty list of {QUALITY_METRICS}; "
                f"got {settings.repair_quality!r}"
            )
        if settings.top_k > settings.samples:
            raise ValueError(f"top_k must be <= samples ({settings.samples}); got {settings.top_k}")
        if settings.quality == "swd" and settings.top_k > settings.real:
            raise ValueError(
                f"top_k must be <= real ({settings.real}) for swd; got {settings.top_k}"
            )
        uses_fid = "fid" in (settings.quality, *settings.repair_quality)
        if uses_fid and not settings.inception_weights:
            raise ValueError("inception_weights must name a weights file when quality is 'fid'")
    elif isinstance(settings, ContextSettings):
        _at_least(settings, 1, "units", "samples", "k_samples", "spacing")
        _at_least(settings, 2, "dissect_samples")
        _at_least(settings, 0, "radius", "show_images")
        _one_of(settings, "ranking", RANKINGS)
        if not 0.0 < settings.min_added <= 1.0:
            raise ValueError(f"min_added must lie in (0, 1]; got {settings.min_added!r}")
        if not settings.context_layers:
            raise ValueError("context_layers must name at least one label layer; got []")
    else:
        _at_least(settings, 2, "samples")
        _one_of(settings, "threshold", THRESHOLDS)
        if settings.seed_b is not None:
            _at_least(settings, 0, "seed_b")
        if not settings.layers:
            raise ValueError("layers must name at least one layer; got []")
