"""Progressive GAN architecture sizes (Karras et al., ICLR 2018, arXiv:1710.10196, appendix A).

The generator and discriminator share the supported resolutions (powers of two in 16..1024) and the
channel schedule: resolution ``2**k`` has ``min(fmap_base // 2**(k-1), fmap_max)`` channels, which
for Karras' LSUN configuration (``fmap_base=8192, fmap_max=512``) is 512 up to 32x32, then 256,
128, 64 at 64, 128 and 256.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "MAX_RESOLUTION",
    "MIN_RESOLUTION",
    "progressive_channels",
    "resolution_log2",
    "resolve_channels",
]

MIN_RESOLUTION = 16
MAX_RESOLUTION = 1024


def resolution_log2(resolution: int, name: str = "resolution") -> int:
    """Return log2 of a supported maximum resolution (a power of two in 16..1024).

    Args:
        resolution: The value to check.
        name: The argument name used in the error message.

    Returns:
        ``log2(resolution)``.

    Raises:
        ValueError: If ``resolution`` is not a power of two between 16 and 1024.

    Example:
        >>> resolution_log2(256)
        8
    """
    if (
        isinstance(resolution, bool)
        or not isinstance(resolution, int)
        or not MIN_RESOLUTION <= resolution <= MAX_RESOLUTION
        or resolution & (resolution - 1)
    ):
        raise ValueError(
            f"{name} must be a power of two between {MIN_RESOLUTION} and {MAX_RESOLUTION}, "
            f"got {resolution!r}"
        )
    return resolution.bit_length() - 1


def progressive_channels(
    resolution: int, fmap_base: int = 8192, fmap_max: int = 512
) -> tuple[int, ...]:
    """Return Karras' channel schedule for the resolutions 4, 8, ..., ``resolution``.

    Resolution ``2**k`` gets ``min(fmap_base // 2**(k-1), fmap_max)`` channels (at least 1).

    Args:
        resolution: The maximum resolution R (a power of two in 16..1024).
        fmap_base: Numerator of the schedule.
        fmap_max: Cap on the number of channels.

    Returns:
        ``log2(R) - 1`` channel counts, one per resolution from 4x4 to RxR.

    Raises:
        ValueError: If ``resolution`` is unsupported or ``fmap_base``/``fmap_max`` < 1.

    Example:
        >>> progressive_channels(256)
        (512, 512, 512, 512, 256, 128, 64)
    """
    log2 = resolution_log2(resolution)
    if fmap_base < 1 or fmap_max < 1:
        raise ValueError(f"fmap_base and fmap_max must be >= 1, got {fmap_base}, {fmap_max}")
    return tuple(max(1, min(fmap_base // 2 ** (k - 1), fmap_max)) for k in range(2, log2 + 1))


def resolve_channels(
    resolution: int,
    channels: Sequence[int] | None = None,
    fmap_base: int = 8192,
    fmap_max: int = 512,
) -> tuple[int, ...]:
    """Return explicit ``channels`` after checking them, or the default schedule.

    Args:
        resolution: The maximum resolution R (a power of two in 16..1024).
        channels: One positive count per resolution 4, 8, ..., R, or None for
            :func:`progressive_channels` of ``fmap_base`` and ``fmap_max``.
        fmap_base: Schedule numerator, used when ``channels`` is None.
        fmap_max: Channel cap, used when ``channels`` is None.

    Returns:
        ``log2(R) - 1`` channel counts.

    Raises:
        ValueError: On an unsupported resolution or a channel list of the wrong length or with
            entries that are not positive integers.

    Example:
        >>> resolve_channels(16, [8, 4, 2])
        (8, 4, 2)
        >>> resolve_channels(16, fmap_base=32, fmap_max=8)
        (8, 8, 4)
    """
    log2 = resolution_log2(resolution)
    if channels is None:
        return progressive_channels(resolution, fmap_base, fmap_max)
    result = tuple(channels)
    if len(result) != log2 - 1 or any(
        isinstance(c, bool) or not isinstance(c, int) or c < 1 for c in result
    ):
        raise ValueError(
            f"channels must hold {log2 - 1} positive integers (resolutions 4..{resolution}), "
            f"got {list(result)}"
        )
    return result
