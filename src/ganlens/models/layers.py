"""Building blocks of Progressive GAN.

Karras et al., "Progressive Growing of GANs for Improved Quality, Stability, and Variation",
ICLR 2018, arXiv:1710.10196.

* Equalised learning rate (section 4.1): weights are stored as N(0, 1) samples and multiplied at
  run time by the He constant ``c = gain / sqrt(fan_in)``, so that every weight sees the same
  effective learning rate under Adam.
* Pixelwise feature normalisation (section 4.2, equation 2):
  ``b[x, y] = a[x, y] / sqrt(mean_j(a_j[x, y] ** 2) + eps)`` over the channels j.
* Minibatch standard deviation (section 3): the population standard deviation of every feature
  over a group of samples, averaged to one number per group and appended as an extra channel.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = [
    "ChannelBias",
    "EqualizedConv2d",
    "EqualizedLinear",
    "MinibatchStdDev",
    "PixelNorm",
    "he_constant",
]


def he_constant(fan_in: int, gain: float = math.sqrt(2.0)) -> float:
    """Return the runtime weight scale ``gain / sqrt(fan_in)`` of an equalised-lr layer.

    Args:
        fan_in: Inputs feeding one output, ``in_channels * kernel_size ** 2`` for a conv.
        gain: ``sqrt(2)`` before a (leaky) ReLU, 1 before a linear output.

    Returns:
        The scale ``gain / sqrt(fan_in)``.

    Raises:
        ValueError: If ``fan_in`` is not positive.

    Example:
        >>> round(he_constant(512 * 3 * 3), 6)
        0.020833
        >>> he_constant(4, gain=1.0)
        0.5
    """
    if fan_in <= 0:
        raise ValueError(f"fan_in must be positive, got {fan_in}")
    return gain / math.sqrt(fan_in)


class EqualizedConv2d(nn.Module):
    """Stride-1 2D convolution with equalised learning rate.

    ``weight`` (``[out, in, k, k]``) is initialised N(0, 1) and multiplied by
    ``scale = gain / sqrt(in * k * k)`` in every forward pass; ``bias`` starts at zero.

    Args:
        in_channels: Input channels.
        out_channels: Output channels.
        kernel_size: Square kernel size k.
        padding: Zero padding on each side.
        gain: He gain, ``sqrt(2)`` before a leaky ReLU, 1 before a linear output.
        bias: Whether to hold a bias; pass False when the bias lives elsewhere (see
            :class:`ChannelBias`).

    Example:
        >>> _ = torch.manual_seed(0)
        >>> conv = EqualizedConv2d(2, 4, kernel_size=3, padding=1)
        >>> conv(torch.randn(1, 2, 5, 5)).shape
        torch.Size([1, 4, 5, 5])
        >>> round(conv.scale, 6)  # sqrt(2) / sqrt(2 * 3 * 3)
        0.333333
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        padding: int = 0,
        gain: float = math.sqrt(2.0),
        bias: bool = True,
    ) -> None:
        """Build the module; the class docstring describes the arguments."""
        super().__init__()
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = kernel_size
        self.padding = padding
        self.scale = he_constant(in_channels * kernel_size * kernel_size, gain)
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None

    def forward(self, x: Tensor) -> Tensor:
        """Convolve ``x`` ``[N, in, H, W]`` to ``[N, out, H + 2p - k + 1, W + 2p - k + 1]``."""
        return F.conv2d(x, self.weight * self.scale, self.bias, padding=self.padding)

    def extra_repr(self) -> str:
        """Describe the layer like ``nn.Conv2d`` does."""
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"padding={self.padding}, scale={self.scale:.6g}, bias={self.bias is not None}"
        )


class EqualizedLinear(nn.Module):
    """Fully connected layer with equalised learning rate.

    ``weight`` (``[out, in]``) is initialised N(0, 1) and multiplied by
    ``scale = gain / sqrt(in)`` in every forward pass; ``bias`` starts at zero.

    Args:
        in_features: Input features.
        out_features: Output features.
        gain: He gain, ``sqrt(2)`` before a leaky ReLU, 1 before a linear output.
        bias: Whether to add a bias.

    Example:
        >>> _ = torch.manual_seed(0)
        >>> dense = EqualizedLinear(16, 1, gain=1.0)
        >>> dense(torch.randn(3, 16)).shape
        torch.Size([3, 1])
        >>> dense.scale
        0.25
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        gain: float = math.sqrt(2.0),
        bias: bool = True,
    ) -> None:
        """Build the module; the class docstring describes the arguments."""
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.scale = he_constant(in_features, gain)
        self.weight = nn.Parameter(torch.randn(out_features, in_features))
        self.bias = nn.Parameter(torch.zeros(out_features)) if bias else None

    def forward(self, x: Tensor) -> Tensor:
        """Map ``x`` ``[N, in]`` to ``[N, out]``."""
        return F.linear(x, self.weight * self.scale, self.bias)

    def extra_repr(self) -> str:
        """Describe the layer like ``nn.Linear`` does."""
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"scale={self.scale:.6g}, bias={self.bias is not None}"
        )


class ChannelBias(nn.Module):
    """Add a learned per-channel bias ``b`` (``[C]``, initialised to zero) to ``[N, C, H, W]``.

    The generator keeps its conv biases here, under the attribute name ``wscale`` with the
    parameter name ``b``, so that its state-dict keys (``layerN.wscale.b``) match gandissect's
    ProgGAN files, whose ``WScaleLayer`` held the bias.

    Args:
        channels: Number of channels C.

    Example:
        >>> bias = ChannelBias(2)
        >>> with torch.no_grad():
        ...     _ = bias.b.copy_(torch.tensor([1.0, -1.0]))
        >>> bias(torch.zeros(1, 2, 1, 1)).flatten().tolist()
        [1.0, -1.0]
    """

    def __init__(self, channels: int) -> None:
        """Build the module; the class docstring describes the arguments."""
        super().__init__()
        self.b = nn.Parameter(torch.zeros(channels))

    def forward(self, x: Tensor) -> Tensor:
        """Return ``x + b`` broadcast over ``[N, C, H, W]``."""
        return x + self.b.view(1, -1, 1, 1)


class PixelNorm(nn.Module):
    """Normalise each pixel's feature vector to unit root-mean-square over channels.

    ``y[n, c, h, w] = x[n, c, h, w] / sqrt(mean_c'(x[n, c', h, w] ** 2) + eps)``; works for
    ``[N, C]`` and ``[N, C, H, W]``.

    Args:
        eps: Added under the square root (Karras use 1e-8).

    Example:
        >>> PixelNorm()(torch.tensor([[3.0, 4.0]])).tolist()
        [[0.8485..., 1.1313...]]
    """

    def __init__(self, eps: float = 1e-8) -> None:
        """Build the module; the class docstring describes the arguments."""
        super().__init__()
        self.eps = eps

    def forward(self, x: Tensor) -> Tensor:
        """Normalise ``x`` over dimension 1; the output has the input's shape."""
        return x / torch.sqrt(x.pow(2).mean(dim=1, keepdim=True) + self.eps)


class MinibatchStdDev(nn.Module):
    """Append the minibatch standard deviation as one extra feature channel.

    The batch of N samples is split into groups of G samples, strided as in Karras' code
    (sample n belongs to group ``n % (N // G)``). For each group the population standard deviation
    (``sqrt(var + 1e-8)``) of every feature ``[C, H, W]`` over the group is averaged to one
    number, which is broadcast as channel C of every sample of the group.

    G is the largest divisor of N that does not exceed ``group_size``, so any batch size works:
    ``N < group_size`` uses the whole batch as one group (as Karras do) and, for example, N = 6
    with ``group_size=4`` uses groups of 3. A group of one sample yields ``sqrt(1e-8)``.

    Args:
        group_size: Largest number of samples per group.
        eps: Added to the variance before the square root.

    Raises:
        ValueError: If ``group_size`` is smaller than 1.

    Example:
        >>> x = torch.tensor([1.0, 3.0]).view(2, 1, 1, 1)
        >>> MinibatchStdDev(group_size=2)(x).flatten().tolist()
        [1.0, 1.0, 3.0, 1.0]
    """

    def __init__(self, group_size: int = 4, eps: float = 1e-8) -> None:
        """Build the module; the class docstring describes the arguments."""
        super().__init__()
        if group_size < 1:
            raise ValueError(f"group_size must be >= 1, got {group_size}")
        self.group_size = group_size
        self.eps = eps

    def effective_group_size(self, batch_size: int) -> int:
        """Return the group size used for a batch of ``batch_size`` samples.

        Args:
            batch_size: N.

        Returns:
            The largest divisor of N not exceeding ``group_size``.

        Example:
            >>> [MinibatchStdDev(4).effective_group_size(n) for n in (1, 2, 3, 4, 5, 6, 8)]
            [1, 2, 3, 4, 1, 3, 4]
        """
        group = min(self.group_size, batch_size)
        while batch_size % group:
            group -= 1
        return group

    def forward(self, x: Tensor) -> Tensor:
        """Map ``x`` ``[N, C, H, W]`` to ``[N, C + 1, H, W]``."""
        n, _, h, w = x.shape
        group = self.effective_group_size(n)
        y = x.reshape(group, n // group, *x.shape[1:])  # [G, M, C, H, W]
        std = torch.sqrt(y.var(dim=0, unbiased=False) + self.eps)  # [M, C, H, W]
        stat = std.mean(dim=(1, 2, 3))  # [M]
        stat = stat.repeat(group).view(n, 1, 1, 1).expand(n, 1, h, w)  # [N, 1, H, W]
        return torch.cat([x, stat.to(x.dtype)], dim=1)

    def extra_repr(self) -> str:
        """Show the group size."""
        return f"group_size={self.group_size}"
