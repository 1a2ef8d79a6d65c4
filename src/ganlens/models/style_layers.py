"""Building blocks shared by ganlens' StyleGAN2 and StyleGAN3 generators.

One implementation of each operation serves every layout (NVlabs StyleGAN2 and StyleGAN3,
rosinality's StyleGAN2):

* Weight modulation and demodulation (StyleGAN2, Karras et al., "Analyzing and Improving the
  Image Quality of StyleGAN", CVPR 2020, arXiv:1912.04958, section 2.2, equations 1-3):
  ``w'_ijk = s_i * w_ijk`` and ``w''_ijk = w'_ijk / sqrt(sum_ik w'_ijk ** 2 + eps)``, computed
  here by scaling the activations before and after one convolution with the shared weight
  (:func:`modulated_conv2d`).
* Upsampling by zero insertion, FIR low-pass filtering and downsampling by decimation
  (``upfirdn``; StyleGAN2 appendix B uses the binomial filter ``[1, 3, 3, 1]``, StyleGAN3 Kaiser
  windowed filters) in :func:`upfirdn2d`; :func:`conv2d_resampled` is a convolution of the
  upsampled signal done as a strided transposed convolution followed by the filter.
* Bias, leaky ReLU with gain ``sqrt(2)`` and an optional clamp (:func:`bias_act`).

The fully connected layers and the mapping network are in :mod:`ganlens.models.style_mapping`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = [
    "bias_act",
    "conv2d_resampled",
    "fir_filter",
    "layer_margin",
    "modulated_conv2d",
    "upfirdn2d",
    "upsample2d",
]

LRELU_SLOPE = 0.2
LRELU_GAIN = math.sqrt(2.0)
Padding = tuple[int, int, int, int]  # x_before, x_after, y_before, y_after


def fir_filter(taps: Sequence[float] | Tensor, normalize: bool = True) -> Tensor:
    """A float32 FIR filter: short 1D taps become their 2D outer product, 8+ taps stay separable.

    Args:
        taps: 1D (or already 2D) filter taps.
        normalize: Divide by the sum so that a constant signal keeps its value.

    Returns:
        ``[k, k]`` for fewer than 8 1D taps, else ``[k]`` (separable) or the 2D input.

    Example:
        >>> fir_filter([1, 3, 3, 1])[0]
        tensor([0.0156, 0.0469, 0.0469, 0.0156])
    """
    f = torch.as_tensor(taps, dtype=torch.float32).clone()
    if f.ndim == 1 and f.numel() < 8:
        f = torch.outer(f, f)
    if normalize:
        f = f / f.sum()
    return f


def upfirdn2d(
    x: Tensor,
    f: Tensor | None,
    up: int = 1,
    down: int = 1,
    padding: Padding = (0, 0, 0, 0),
    gain: float = 1.0,
) -> Tensor:
    """Upsample by zero insertion, pad (negative = crop), convolve with ``f``, keep every down-th.

    Args:
        x: ``[N, C, H, W]``.
        f: ``[k]`` (separable: applied along x, then y) or ``[kh, kw]`` filter; None = identity.
        up: Upsampling factor.
        down: Downsampling factor.
        padding: ``(x0, x1, y0, y1)`` pixels added to the upsampled image.
        gain: Overall scale of the signal (``up ** 2`` keeps the magnitude when upsampling).

    Returns:
        ``[N, C, (H * up + y0 + y1 - kh + 1) // down, ...]`` (rounded up).

    Example:
        >>> y = upfirdn2d(torch.ones(1, 1, 4, 4), fir_filter([1, 3, 3, 1]), up=2,
        ...               padding=(2, 1, 2, 1), gain=4)
        >>> y.shape, round(float(y[0, 0, 3, 3]), 4)
        (torch.Size([1, 1, 8, 8]), 1.0)
    """
    n, c, h, w = x.shape
    if up > 1:  # zero insertion: [N, C, H, 1, W, 1] -> [N, C, H * up, W * up]
        x = x.reshape(n, c, h, 1, w, 1)
        x = F.pad(x, [0, up - 1, 0, 0, 0, up - 1]).reshape(n, c, h * up, w * up)
    x0, x1, y0, y1 = padding
    x = F.pad(x, [max(x0, 0), max(x1, 0), max(y0, 0), max(y1, 0)])
    x = x[:, :, max(-y0, 0) : x.shape[2] - max(-y1, 0), max(-x0, 0) : x.shape[3] - max(-x1, 0)]
    if f is not None:
        # A true convolution: conv2d correlates, so the filter is flipped.
        f = (f * gain ** (f.ndim / 2)).to(x.dtype).flip(list(range(f.ndim)))
        if f.ndim == 2:
            x = F.conv2d(x, f[None, None].expand(c, 1, *f.shape), groups=c)
        else:
            x = F.conv2d(x, f[None, None, None].expand(c, 1, 1, -1), groups=c)
            x = F.conv2d(x, f[None, None, :, None].expand(c, 1, -1, 1), groups=c)
    elif gain != 1:
        x = x * gain
    return x[:, :, ::down, ::down] if down > 1 else x


def _filter_size(f: Tensor | None) -> tuple[int, int]:
    """``(width, height)`` of a filter; a 1D filter is as wide as it is high."""
    if f is None:
        return 1, 1
    return int(f.shape[-1]), int(f.shape[0])


def upsample2d(x: Tensor, f: Tensor, up: int = 2, gain: float | None = None) -> Tensor:
    """Upsample ``x`` by ``up`` with the FIR filter ``f``, centred (output ``[N, C, H*up, W*up]``).

    Args:
        x: ``[N, C, H, W]``.
        f: The filter, as for :func:`upfirdn2d`.
        up: Upsampling factor.
        gain: Signal scale; None = ``up ** 2`` (the filter sums to 1, as NVlabs stores it).

    Returns:
        ``[N, C, H * up, W * up]``.

    Example:
        >>> upsample2d(torch.ones(1, 1, 2, 2), fir_filter([1, 3, 3, 1])).shape
        torch.Size([1, 1, 4, 4])
    """
    fw, fh = _filter_size(f)
    pad = ((fw + up - 1) // 2, (fw - up) // 2, (fh + up - 1) // 2, (fh - up) // 2)
    return upfirdn2d(x, f, up=up, padding=pad, gain=float(up * up) if gain is None else gain)


def conv2d_resampled(
    x: Tensor,
    weight: Tensor,
    up: int = 1,
    padding: int = 0,
    f: Tensor | None = None,
    filter_gain: float | None = None,
) -> Tensor:
    """Correlate ``x`` with ``weight``; with ``up > 1``, convolve the upsampled, filtered signal.

    ``up > 1`` runs as a transposed convolution of stride ``up`` followed by ``f`` (StyleGAN2
    appendix B), with ``padding`` counted on the upsampled image: a 3x3 kernel with padding 1
    maps ``H`` to ``2H``.

    Args:
        x: ``[N, I, H, W]``.
        weight: ``[O, I, kh, kw]``.
        up: Upsampling factor.
        padding: Zero padding per side (of the upsampled image when ``up > 1``).
        f: Low-pass filter for ``up > 1``.
        filter_gain: Scale applied with ``f``; None = ``up ** 2``.

    Returns:
        ``[N, O, H', W']``.

    Example:
        >>> conv2d_resampled(torch.ones(1, 2, 4, 4), torch.ones(5, 2, 3, 3), up=2, padding=1,
        ...                  f=fir_filter([1, 3, 3, 1])).shape
        torch.Size([1, 5, 8, 8])
    """
    weight = weight.to(x.dtype)
    if up == 1:
        return F.conv2d(x, weight, padding=padding)
    _, _, kh, kw = weight.shape
    fw, fh = _filter_size(f)
    x = F.conv_transpose2d(x, weight.transpose(0, 1), stride=up)  # [N, O, (H-1)*up + kh, ...]
    pad = (
        padding + (fw + up - 1) // 2 - (kw - 1),
        padding + (fw - up) // 2 - (kw - up),
        padding + (fh + up - 1) // 2 - (kh - 1),
        padding + (fh - up) // 2 - (kh - up),
    )
    return upfirdn2d(x, f, padding=pad, gain=float(up * up) if filter_gain is None else filter_gain)


def modulated_conv2d(
    x: Tensor,
    weight: Tensor,
    styles: Tensor,
    demodulate: bool = True,
    weight_gain: float = 1.0,
    up: int = 1,
    padding: int = 0,
    f: Tensor | None = None,
    filter_gain: float | None = None,
) -> Tensor:
    """Modulated (and demodulated) convolution, StyleGAN2 equations 1-3.

    Computed as ``demod * conv(x * styles, weight_gain * weight)``, which equals the convolution
    with the per-sample weights ``w''`` of equation 3. For float16 input with demodulation the
    weights and styles are first scaled by their maxima (as NVlabs does against overflow); the
    result is invariant to that up to the ``1e-8`` epsilon.

    Args:
        x: ``[N, I, H, W]``.
        weight: ``[O, I, kh, kw]``.
        styles: ``[N, I]`` per-sample input-channel scales ``s``.
        demodulate: Normalise every output channel (equation 3).
        weight_gain: Constant factor of the weight (equalised learning rate), applied before
            demodulation.
        up: Upsampling factor (see :func:`conv2d_resampled`).
        padding: Padding, as for :func:`conv2d_resampled`.
        f: Low-pass filter for ``up > 1``.
        filter_gain: Scale applied with ``f``; None = ``up ** 2``.

    Returns:
        ``[N, O, H', W']`` in the dtype of ``x``.

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> x, w = torch.randn(2, 4, 6, 6, generator=g), torch.randn(3, 4, 3, 3, generator=g)
        >>> y = modulated_conv2d(x, w, torch.ones(2, 4), padding=1)
        >>> y.shape, round(float(y.std()), 1)
        (torch.Size([2, 3, 6, 6]), 1.0)
    """
    weight = weight * weight_gain  # [O, I, kh, kw]
    styles = styles.to(torch.float32)
    if x.dtype == torch.float16 and demodulate:
        fan_in = weight[0].numel()
        weight = weight / (math.sqrt(fan_in) * weight.abs().amax(dim=[1, 2, 3], keepdim=True))
        styles = styles / styles.abs().amax(dim=1, keepdim=True)
    y = conv2d_resampled(
        x * styles.to(x.dtype)[:, :, None, None], weight, up, padding, f, filter_gain
    )
    if demodulate:
        # sum_ik (s_i w_oik)^2 = sum_i s_i^2 sum_k w_oik^2: [N, I] @ [I, O] -> [N, O]
        dcoefs = (styles.square() @ weight.square().sum(dim=[2, 3]).t() + 1e-8).rsqrt()
        y = y * dcoefs.to(y.dtype)[:, :, None, None]
    return y


def bias_act(
    x: Tensor,
    b: Tensor | None = None,
    activation: str = "linear",
    gain: float = 1.0,
    clamp: float | None = None,
    slope: float = LRELU_SLOPE,
) -> Tensor:
    """Add a per-channel bias, apply the activation, scale by ``gain`` and clamp to ``±clamp``.

    Args:
        x: ``[N, C, ...]``.
        b: ``[C]`` bias or None.
        activation: ``"linear"`` or ``"lrelu"`` (leaky ReLU of slope ``slope``).
        gain: Factor after the activation (``sqrt(2)`` for the leaky ReLU in StyleGAN).
        clamp: Clamp bound, None = no clamp.
        slope: Negative slope of the leaky ReLU.

    Returns:
        A tensor shaped like ``x``.

    Raises:
        ValueError: On an unknown activation.

    Example:
        >>> bias_act(torch.tensor([[-1.0, 2.0]]), torch.tensor([0.0, 1.0]), "lrelu", gain=2.0)
        tensor([[-0.4000,  6.0000]])
    """
    if b is not None:
        x = x + b.to(x.dtype).reshape(1, -1, *([1] * (x.ndim - 2)))
    if activation == "lrelu":
        x = F.leaky_relu(x, slope)
    elif activation != "linear":
        raise ValueError(f"unsupported activation {activation!r}; expected 'linear' or 'lrelu'")
    if gain != 1:
        x = x * gain
    if clamp is not None:
        x = x.clamp(-clamp, clamp)
    return x


def layer_margin(layer: str, margins: Mapping[str, int], model: nn.Module | None = None) -> int:
    """The margin of a featuremap layer, or a ValueError naming it and listing the valid layers.

    Args:
        layer: Dotted layer name.
        margins: Pixels to crop per side, per featuremap layer name.
        model: The generator; another of its submodules (a mapping layer, an affine) has no
            spatial margin: 0.

    Returns:
        ``margins[layer]``, 0 for another submodule of ``model``.

    Raises:
        ValueError: If ``layer`` is neither in ``margins`` nor a submodule of ``model``.

    Example:
        >>> layer_margin("b8.conv1", {"b8.conv1": 0})
        0
        >>> layer_margin("b9", {"b8.conv1": 0})
        Traceback (most recent call last):
        ...
        ValueError: unknown layer 'b9'; featuremap layers: b8.conv1
    """
    if layer in margins:
        return margins[layer]
    if model is not None and layer and layer in dict(model.named_modules()):
        return 0
    raise ValueError(f"unknown layer {layer!r}; featuremap layers: {', '.join(margins)}")
