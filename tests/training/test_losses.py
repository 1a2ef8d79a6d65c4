import torch

from ganlens.training.losses import critic_loss, generator_loss, gradient_penalty


def test_gradient_penalty_of_a_quadratic_critic_matches_hand_computation():
    # D(x) = sum(x^2): grad = 2 x_hat, and x_hat = mix * 1 for real 0 and fake 1 (4 pixels).
    real, fake = torch.zeros(3, 1, 2, 2), torch.ones(3, 1, 2, 2)
    mix = torch.tensor([0.0, 0.25, 1.0])
    penalty = gradient_penalty(lambda x: (x**2).flatten(1).sum(1), real, fake, mix, target=2.0)
    norms = 2 * mix * 2  # ||2 * m * ones(4)|| = 4m
    assert torch.allclose(penalty, ((norms - 2.0) ** 2).mean() / 4.0)


def test_gradient_penalty_reaches_critic_parameters():
    weight = torch.tensor([3.0, 4.0], requires_grad=True)
    penalty = gradient_penalty(
        lambda x: x.flatten(1) @ weight, torch.zeros(2, 2), torch.ones(2, 2), torch.rand(2)
    )
    penalty.backward()
    # d/dw (||w|| - 1)^2 = 2 (||w|| - 1) w / ||w|| = 2 * 4 * w / 5
    assert torch.allclose(weight.grad, 1.6 * weight.detach())


def test_critic_and_generator_losses():
    real, fake = torch.tensor([1.0, 3.0]), torch.tensor([0.0, -2.0])
    loss = critic_loss(real, fake, torch.tensor(0.1), gp_weight=10.0, drift=0.01)
    assert torch.allclose(loss, torch.tensor(-1.0 - 2.0 + 1.0 + 0.01 * 5.0))
    assert torch.equal(generator_loss(fake), torch.tensor(1.0))
