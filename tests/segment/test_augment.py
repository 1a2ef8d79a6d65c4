import pytest
import torch

from ganlens.data.scene_world import SceneWorld
from ganlens.segment.augment import (
    GanLikeAugmentation,
    add_checkerboard,
    add_noise,
    gaussian_blur,
    random_affine,
    resample,
    shift_colour,
)


@pytest.fixture(scope="module")
def scenes():
    return SceneWorld(resolution=32, seed=4).batch(range(8))


def test_blur_keeps_flat_images_and_spreads_a_point_per_image():
    flat = torch.full((2, 3, 12, 12), 0.3)
    torch.testing.assert_close(gaussian_blur(flat, 1.5), flat)
    point = torch.zeros(2, 1, 15, 15)
    point[:, :, 7, 7] = 1.0
    out = gaussian_blur(point, torch.tensor([0.5, 2.0]))
    assert out[0, 0, 7, 7] > out[1, 0, 7, 7]  # the wider sigma spreads more
    torch.testing.assert_close(out.sum(dim=(1, 2, 3)), torch.ones(2))
    ys = torch.arange(15.0).view(15, 1)
    variance = (out[1, 0] * (ys - 7) ** 2).sum()
    assert abs(variance.item() - 4.0) < 0.05  # sigma 2 -> variance 4 along each axis


def test_noise_has_the_requested_strength_per_image():
    g = torch.Generator().manual_seed(0)
    out = add_noise(torch.zeros(2, 3, 64, 64), torch.tensor([0.05, 0.2]), generator=g)
    assert abs(out[0].std().item() - 0.05) < 0.005 and abs(out[1].std().item() - 0.2) < 0.01


def test_checkerboard_alternates_and_clamps():
    out = add_checkerboard(torch.full((1, 3, 4, 4), 0.95), 0.1)
    assert out.max() == 1.0 and torch.allclose(out[0, 0, 0, 1], torch.tensor(0.85))


def test_colour_shift_components():
    x = torch.rand(2, 3, 8, 8) * 1.6 - 0.8
    assert torch.allclose(shift_colour(x), x, atol=1e-6)  # defaults are the identity
    grey = shift_colour(x, saturation=0.0)
    assert torch.allclose(grey[:, 0], grey[:, 1]) and torch.allclose(grey[:, 1], grey[:, 2])
    flat = shift_colour(x, contrast=0.0)
    assert torch.allclose(flat.std(dim=(1, 2, 3)), torch.zeros(2), atol=1e-6)
    red = shift_colour(x, gain=torch.tensor([0.5, 1.0, 1.0]))
    assert torch.allclose((red[:, 0] + 1) / 2, (x[:, 0] + 1) / 4)


def test_resample_softens_but_keeps_size(scenes):
    images, _ = scenes
    out = resample(images, 0.5)
    assert out.shape == images.shape
    detail = (images[..., 1:] - images[..., :-1]).abs().mean()
    assert (out[..., 1:] - out[..., :-1]).abs().mean() < 0.8 * detail


def test_affine_moves_labels_with_the_pixels(scenes):
    images, labels = scenes
    g = torch.Generator().manual_seed(1)
    _, moved = random_affine(images, labels, 8.0, 0.15, 3.0, generator=g)
    assert moved.dtype == labels.dtype and moved.shape == labels.shape
    assert not torch.equal(moved, labels)
    # Colour-coded labels: paint each object label its own grey, warp, and compare.
    codes = labels[:, :1].float().expand(-1, 3, -1, -1) / 8 * 2 - 1
    warped_codes, moved_again = random_affine(
        codes, labels, 8.0, 0.15, 3.0, generator=torch.Generator().manual_seed(1)
    )
    decoded = ((warped_codes[:, 0] + 1) / 2 * 8).round().long()
    agreement = (decoded == moved_again[:, 0]).float().mean()
    assert agreement > 0.9, agreement  # disagreement only on bilinear-mixed boundary pixels
    identity, same = random_affine(images, labels, 0.0, 0.0, 0.0)
    torch.testing.assert_close(identity, images, atol=1e-5, rtol=0)
    assert torch.equal(same, labels)


def test_mix_respects_probability_and_range(scenes):
    images, labels = scenes
    unchanged = GanLikeAugmentation(probability=0.0)(images, labels)
    assert torch.equal(unchanged[0], images) and torch.equal(unchanged[1], labels)
    g = torch.Generator().manual_seed(0)
    out, out_labels = GanLikeAugmentation(probability=1.0)(images, labels, generator=g)
    assert out.abs().max() <= 1 and (out - images).abs().mean() > 0.02
    assert (out_labels == labels).float().mean() > 0.8  # small geometric changes only
    with pytest.raises(ValueError, match="probability must be in"):
        GanLikeAugmentation(probability=1.5)
