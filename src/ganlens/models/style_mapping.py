"""Fully connected layers and the mapping network shared by ganlens' StyleGAN generators.

* Equalised learning rate with a learning-rate multiplier (StyleGAN, Karras et al., CVPR 2019,
  arXiv:1812.04948, section 2 and appendix C): weights are stored as ``N(0, 1) / lr`` and scaled
  at run time by ``lr / sqrt(fan_in)``, the bias by ``lr`` (:class:`FullyConnected`, also the
  affine style transforms ``A`` of StyleGAN2, arXiv:1912.04958, figure 2).
* The mapping network ``f: z -> w`` (StyleGAN section 2): ``z`` normalised to unit second moment,
  fully connected leaky-ReLU layers (lr multiplier 0.01), ``w`` broadcast to every layer, and
  the truncation trick ``w' = w_avg + psi (w - w_avg)`` (StyleGAN appendix B) with
  the tracked average ``w_avg`` (:class:`MappingNetwork`; 8 layers in StyleGAN2, 2 in
  StyleGAN3, arXiv:2106.12423). Names equal NVlabs' ``MappingNetwork`` (``fc{i}``, ``w_avg``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from ganlens.models.style_layers import LRELU_GAIN, bias_act

__all__ = ["FullyConnected", "MappingNetwork", "normalize_2nd_moment"]


def normalize_2nd_moment(x: Tensor, eps: float = 1e-8) -> Tensor:
    """Scale every row to unit mean square: ``x / sqrt(mean(x ** 2) + eps)`` over dim 1.

    Args:
        x: ``[N, D]``.
        eps: Added to the mean square.

    Returns:
        ``[N, D]``.

    Example:
        >>> normalize_2nd_moment(torch.tensor([[3.0, 4.0]])).square().mean().item()
        1.0
    """
    return x * (x.square().mean(dim=1, keepdim=True) + eps).rsqrt()


class FullyConnected(nn.Module):
    """Fully connected layer with equalised learning rate and a learning-rate multiplier.

    ``y = act(x @ (weight * lr / sqrt(in)).T + bias * lr)``; the leaky ReLU has gain ``sqrt(2)``.
    The parameters ``weight`` ``[out, in]`` and ``bias`` ``[out]`` are named as in NVlabs'
    ``FullyConnectedLayer`` and rosinality's ``EqualLinear``.

    Args:
        in_features: Input size.
        out_features: Output size.
        activation: ``"linear"`` or ``"lrelu"``.
        lr_multiplier: Learning-rate multiplier ``lr`` (0.01 in the mapping network).
        bias: Whether the layer has a bias.
        bias_init: Initial effective bias (a number or one per output).
        weight_init: Standard deviation of the initial effective weight.

    Example:
        >>> _ = torch.manual_seed(0)
        >>> fc = FullyConnected(8, 4, activation="lrelu", lr_multiplier=0.01)
        >>> fc(torch.randn(2, 8)).shape
        torch.Size([2, 4])
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        activation: str = "linear",
        lr_multiplier: float = 1.0,
        bias: bool = True,
        bias_init: float | Sequence[float] = 0.0,
        weight_init: float = 1.0,
    ) -> None:
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.activation = activation
        self.lr_multiplier = float(lr_multiplier)
        self.weight = nn.Parameter(
            torch.randn(out_features, in_features) * (weight_init / lr_multiplier)
        )
        self.bias: nn.Parameter | None = None
        if bias:
            init = torch.as_tensor(bias_init, dtype=torch.float32).expand(out_features)
            self.bias = nn.Parameter(init / lr_multiplier)
        self.weight_gain = lr_multiplier / math.sqrt(in_features)

    def forward(self, x: Tensor) -> Tensor:
        """``[N, in] -> [N, out]``."""
        w = self.weight.to(x.dtype) * self.weight_gain
        b = None if self.bias is None else self.bias.to(x.dtype) * self.lr_multiplier
        if self.activation == "linear" and b is not None:
            return torch.addmm(b.unsqueeze(0), x, w.t())
        x = x.matmul(w.t())
        return bias_act(x, b, self.activation, LRELU_GAIN if self.activation == "lrelu" else 1.0)

    def extra_repr(self) -> str:
        """Sizes, activation and learning-rate multiplier."""
        return (
            f"{self.in_features}, {self.out_features}, activation={self.activation}, "
            f"lr_multiplier={self.lr_multiplier:g}"
        )


class MappingNetwork(nn.Module):
    """Mapping network ``z -> w`` broadcast to ``num_ws`` copies, with truncation.

    Args:
        z_dim: Size of ``z``.
        w_dim: Size of ``w``.
        num_ws: Copies of ``w`` the synthesis network consumes.
        num_layers: Fully connected layers ``fc0 .. fc{num_layers-1}``.
        layer_features: Width of the hidden layers; None = ``w_dim``.
        lr_multiplier: Learning-rate multiplier of the layers.
        track_w_avg: Hold the ``w_avg`` buffer (the file's average ``w``) used by truncation.

    Example:
        >>> _ = torch.manual_seed(0)
        >>> m = MappingNetwork(z_dim=8, w_dim=6, num_ws=3, num_layers=2)
        >>> m(torch.randn(2, 8)).shape
        torch.Size([2, 3, 6])
    """

    w_avg: Tensor | None

    def __init__(
        self,
        z_dim: int,
        w_dim: int,
        num_ws: int,
        num_layers: int = 8,
        layer_features: int | None = None,
        lr_multiplier: float = 0.01,
        track_w_avg: bool = True,
    ) -> None:
        super().__init__()
        self.z_dim, self.w_dim, self.num_ws, self.num_layers = z_dim, w_dim, num_ws, num_layers
        hidden = w_dim if layer_features is None else layer_features
        features = [z_dim] + [hidden] * (num_layers - 1) + [w_dim]
        for idx in range(num_layers):
            fc = FullyConnected(features[idx], features[idx + 1], "lrelu", lr_multiplier)
            self.add_module(f"fc{idx}", fc)
        self.register_buffer("w_avg", torch.zeros(w_dim) if track_w_avg else None)

    def forward(self, z: Tensor, truncation: float = 1.0, cutoff: int | None = None) -> Tensor:
        """``[N, z_dim] -> [N, num_ws, w_dim]``, psi ``truncation`` on the first ``cutoff`` ws.

        Raises:
            ValueError: If truncation is asked of a network without ``w_avg``.
        """
        x = normalize_2nd_moment(z.to(torch.float32))
        for idx in range(self.num_layers):
            fc: FullyConnected = getattr(self, f"fc{idx}")
            x = fc(x)
        ws = x.unsqueeze(1).repeat(1, self.num_ws, 1)  # [N, num_ws, w_dim]
        if truncation != 1:
            if self.w_avg is None:
                raise ValueError("truncation needs w_avg, which this mapping network does not hold")
            cut = self.num_ws if cutoff is None else cutoff
            ws[:, :cut] = self.w_avg.lerp(ws[:, :cut], truncation)
        return ws
