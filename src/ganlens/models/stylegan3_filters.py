"""Kaiser-windowed low-pass FIR filters for StyleGAN3 layers built from scratch.

Karras et al., "Alias-Free Generative Adversarial Networks", NeurIPS 2021, arXiv:2106.12423,
section 3.2 and its appendices: each layer's up- and downsampling filters are windowed-sinc
low-pass filters with cutoff ``f_c`` and transition band ``2 * f_h``, using the Kaiser window of
Kaiser's design formulas (J. F. Kaiser, "Nonrecursive digital filter design using the I0-sinh
window function", 1974): attenuation ``A = 2.285 (N - 1) pi (2 f_h / (s / 2)) + 7.95`` dB and

    beta = 0.1102 (A - 8.7)                              for A > 50
    beta = 0.5842 (A - 21) ** 0.4 + 0.07886 (A - 21)     for 21 < A <= 50
    beta = 0                                             otherwise;

the rotation-equivariant config R (section 3.3) uses a radially symmetric jinc filter
``J1(2 pi f_c r) / (pi r)`` windowed by the outer product of the same window. Filters are
normalised to unit DC gain. Files store the designed filters as buffers, so loading never needs
this module; it is numpy + torch only.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor

__all__ = ["kaiser_beta", "lowpass_filter"]


def kaiser_beta(attenuation: float) -> float:
    """Kaiser window ``beta`` for a stopband attenuation in dB (the formulas above).

    Args:
        attenuation: ``A`` in dB.

    Returns:
        ``beta``.

    Example:
        >>> round(kaiser_beta(60.0), 4)
        5.6533
    """
    if attenuation > 50:
        return 0.1102 * (attenuation - 8.7)
    if attenuation > 21:
        return 0.5842 * float((attenuation - 21) ** 0.4) + 0.07886 * (attenuation - 21)
    return 0.0


def lowpass_filter(
    numtaps: int, cutoff: float, width: float, fs: float, radial: bool = False
) -> Tensor | None:
    """A windowed-sinc (or, ``radial``, windowed-jinc) low-pass filter with unit DC gain.

    Args:
        numtaps: Filter length; 1 means no filter.
        cutoff: Cutoff frequency ``f_c``.
        width: Transition band width ``2 * f_h``.
        fs: Sampling rate.
        radial: Design the radially symmetric 2D filter of config R.

    Returns:
        None for ``numtaps == 1``, else float32 ``[numtaps]`` or ``[numtaps, numtaps]``.

    Raises:
        ValueError: If ``numtaps < 1``.

    Example:
        >>> f = lowpass_filter(12, cutoff=2.0, width=4.0, fs=16.0)
        >>> f.shape, round(float(f.sum()), 6)
        (torch.Size([12]), 1.0)
    """
    if numtaps < 1:
        raise ValueError(f"numtaps must be >= 1, got {numtaps}")
    if numtaps == 1:
        return None
    nyquist = fs / 2
    attenuation = 2.285 * (numtaps - 1) * math.pi * (width / nyquist) + 7.95
    window = np.kaiser(numtaps, kaiser_beta(attenuation))
    offsets = np.arange(numtaps) - (numtaps - 1) / 2  # [numtaps], in samples
    if not radial:
        c = cutoff / nyquist
        taps = c * np.sinc(c * offsets) * window
    else:
        x = offsets / fs
        r = torch.from_numpy(np.hypot(*np.meshgrid(x, x)))  # [numtaps, numtaps]
        arg = 2 * math.pi * cutoff * r
        jinc = torch.where(
            r > 0,
            torch.special.bessel_j1(arg) / (math.pi * r.clamp_min(1e-300)),
            torch.full_like(r, cutoff),
        )
        taps = jinc.numpy() * np.outer(window, window)
    return torch.as_tensor(taps / taps.sum(), dtype=torch.float32)
