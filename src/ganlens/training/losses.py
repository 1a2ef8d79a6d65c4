"""WGAN-GP losses with the drift term, as pure functions.

Gulrajani et al. 2017 (improved WGAN training) with the generalisation of Karras et al. 2018,
appendix A.1: the gradient penalty ``lambda * (||grad D(x_hat)|| - target)^2 / target^2`` on random
interpolates ``x_hat`` of real and fake images, plus ``drift * E[D(x_real)^2]`` to keep the critic
from drifting away from zero.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor


def gradient_penalty(
    critic: Callable[[Tensor], Tensor],
    real: Tensor,
    fake: Tensor,
    mix: Tensor,
    target: float = 1.0,
) -> Tensor:
    """Mean ``(||grad critic(x_hat)|| - target)^2 / target^2`` over the batch.

    Args:
        critic: Maps images ``[N, C, H, W]`` to scores ``[N]`` or ``[N, 1]``.
        real: Real images ``[N, C, H, W]``.
        fake: Generated images, same shape.
        mix: Interpolation weights ``[N]`` in [0, 1]; ``x_hat = real + mix * (fake - real)``.
        target: The gradient norm the penalty pulls towards (1 in WGAN-GP).

    Returns:
        A scalar tensor, differentiable with respect to the critic's parameters.

    Raises:
        ValueError: If the shapes disagree.

    Example:
        >>> w = torch.tensor([3.0, 4.0])           # a linear critic with gradient norm 5
        >>> critic = lambda x: x.flatten(1) @ w
        >>> real, fake = torch.zeros(2, 1, 1, 2), torch.ones(2, 1, 1, 2)
        >>> gradient_penalty(critic, real, fake, torch.tensor([0.2, 0.7])).item()
        16.0
    """
    if real.shape != fake.shape or mix.shape != real.shape[:1]:
        raise ValueError(
            f"real {tuple(real.shape)} and fake {tuple(fake.shape)} must match and mix must be "
            f"[{real.shape[0]}]; got mix {tuple(mix.shape)}"
        )
    weight = mix.reshape(-1, *([1] * (real.dim() - 1)))  # [N, 1, 1, 1]
    mixed = (real.detach() + weight * (fake.detach() - real.detach())).requires_grad_(True)
    scores = critic(mixed)
    (grad,) = torch.autograd.grad(scores.sum(), mixed, create_graph=True)
    norm = grad.flatten(1).norm(dim=1)  # [N]
    penalty: Tensor = ((norm - target) ** 2).mean() / target**2
    return penalty


def critic_loss(
    real_scores: Tensor, fake_scores: Tensor, penalty: Tensor, gp_weight: float, drift: float
) -> Tensor:
    """WGAN-GP critic loss ``E[D(fake)] - E[D(real)] + gp_weight * GP + drift * E[D(real)^2]``.

    Example:
        >>> critic_loss(torch.tensor([2.0]), torch.tensor([-1.0]), torch.tensor(0.5), 10.0, 0.001)
        tensor(2.0040)
    """
    return (
        fake_scores.mean()
        - real_scores.mean()
        + gp_weight * penalty
        + drift * (real_scores**2).mean()
    )


def generator_loss(fake_scores: Tensor) -> Tensor:
    """WGAN generator loss ``-E[D(G(z))]``.

    Example:
        >>> generator_loss(torch.tensor([1.0, 3.0]))
        tensor(-2.)
    """
    return -fake_scores.mean()
