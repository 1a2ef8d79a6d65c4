import pytest
import torch

from ganlens.segment.protocol import (
    RANGE_MARGIN,
    check_images,
    check_resolution,
    output_size,
    resize_maps,
)


def test_valid_images_pass_through_unchanged():
    images = torch.rand(2, 3, 5, 7) * 2 - 1
    assert check_images(images) is images
    check_images(torch.full((1, 3, 2, 2), 1.0 + RANGE_MARGIN / 2))  # small GAN overshoot


@pytest.mark.parametrize(
    ("images", "message"),
    [
        (torch.full((1, 3, 4, 4), 255.0), r"\[-1, 1\]; got min 255, max 255"),
        (torch.zeros(1, 3, 4, 4, dtype=torch.uint8), "floating tensor.*torch.uint8"),
        (torch.zeros(3, 4, 4), r"\[N, 3, H, W\]; got \(3, 4, 4\)"),
        (torch.zeros(1, 1, 4, 4), r"\[N, 3, H, W\]; got \(1, 1, 4, 4\)"),
        (torch.zeros(0, 3, 4, 4), r"\[N, 3, H, W\]; got \(0, 3, 4, 4\)"),
        (torch.full((1, 3, 2, 2), float("nan")), "finite"),
        (torch.full((1, 3, 2, 2), -1.0 - 2 * RANGE_MARGIN), r"got min -1.5"),
        ([[0.0]], "torch.Tensor"),
    ],
)
def test_bad_images_raise_with_expected_and_actual(images, message):
    with pytest.raises(ValueError, match=message):
        check_images(images)


@pytest.mark.parametrize("bad", [0, -3, 2.0, True, "64"])
def test_bad_resolution_raises(bad):
    with pytest.raises(ValueError, match=f"positive int or None; got {bad!r}"):
        check_resolution(bad)


def test_output_size_keeps_image_size_by_default():
    images = torch.zeros(1, 3, 6, 10)
    assert output_size(images, None) == (6, 10)
    assert output_size(images, 4) == (4, 4)


def test_resize_keeps_pixel_centres_aligned():
    # A ramp equal to each pixel centre's position in image units: any resize that keeps centres
    # aligned returns the target's own centre positions exactly (bilinear reproduces linear maps).
    for source, target in [(8, 4), (4, 8), (64, 128), (128, 64), (6, 9)]:
        centres = (torch.arange(source) + 0.5) / source
        maps = centres.view(1, 1, 1, source).expand(1, 1, 3, source)
        resized = resize_maps(maps, (3, target))[0, 0, 0]
        expected = ((torch.arange(target) + 0.5) / target).clamp(centres[0], centres[-1])
        torch.testing.assert_close(resized, expected)


def test_resize_is_identity_at_same_size_and_differentiable():
    maps = torch.rand(2, 4, 8, 8, requires_grad=True)
    assert resize_maps(maps, (8, 8)) is maps
    resize_maps(maps, (3, 3)).sum().backward()
    assert maps.grad is not None and maps.grad.abs().sum() > 0
