"""The one [-1, 1] <-> uint8 convention and the one concept palette (ganlens.images)."""

import colorsys

import pytest
import torch

from ganlens.images import concept_colors, from_uint8, to_uint8


def awkward_images() -> torch.Tensor:
    """[4, 3, 16, 16] floats: every pixel value, every half-way tie, and values beyond [-1, 1]."""
    images = torch.rand(4, 3, 16, 16, generator=torch.Generator().manual_seed(0)) * 2.4 - 1.2
    images[0, 0] = (torch.arange(256.0) / 127.5 - 1.0).view(16, 16)  # exact pixel values
    ties = (torch.arange(511.0) / 2 + 0.25) / 127.5 - 1.0  # between and at the half-ways
    images[1, 0], images[2, 0] = ties[:256].view(16, 16), ties[255:].view(16, 16)
    images[3, 0, 0, :4] = torch.tensor([-1.0 - 1e-7, 1.0 + 1e-7, -1e9, 1e9])
    return images


# The hand-written conversions the package had before ganlens.images (paint, applications, plot,
# the quality monitor: clamp first; JPEG, planted keys: clamp last; SWD: float values).
OLD_TO_UINT8 = {
    "clamp first": lambda x: ((x.clamp(-1.0, 1.0) + 1.0) * 127.5).round().to(torch.uint8),
    "clamp last": lambda x: ((x.float() + 1) * 127.5).round().clamp(0, 255).to(torch.uint8),
    "swd values": lambda x: (x.float() + 1.0).mul_(127.5).round_().clamp_(0.0, 255.0),
}


@pytest.mark.parametrize("name", sorted(OLD_TO_UINT8))
def test_to_uint8_gives_the_pixels_of_every_former_conversion(name):
    images = awkward_images()
    old = OLD_TO_UINT8[name](images.clone())
    new = to_uint8(images)
    assert new.dtype == torch.uint8 and new.shape == images.shape
    assert torch.equal(new.to(old.dtype), old)  # equal values (SWD's had -0.0 for 0 below -1)


def test_to_uint8_leaves_its_input_alone_and_passes_uint8_through():
    images = awkward_images()
    before = images.clone()
    to_uint8(images)
    assert torch.equal(images, before)
    pixels = torch.arange(256, dtype=torch.uint8)
    assert to_uint8(pixels) is pixels


def test_from_uint8_is_the_former_division_and_inverts_to_uint8():
    pixels = torch.arange(256, dtype=torch.uint8).view(1, 1, 16, 16).expand(2, 3, 16, 16)
    images = from_uint8(pixels)
    assert images.dtype == torch.float32
    assert torch.equal(images, pixels.float() / 127.5 - 1.0)
    assert float(images.min()) == -1.0 and float(images.max()) == 1.0
    assert torch.equal(to_uint8(images), pixels)


def test_from_uint8_refuses_floats():
    with pytest.raises(ValueError, match=r"pixels must be uint8; got torch\.float32"):
        from_uint8(torch.zeros(3))


def test_concept_colors_is_the_scene_grid_palette():
    # The scene grid's palette, which lineage heatmaps and context pictures used too; the paint
    # page had its own (black background, other saturation) and now uses this one.
    expected = [(128, 128, 128)]
    for i in range(1, 40):
        rgb = colorsys.hsv_to_rgb((i * 0.618033988749895) % 1.0, 0.75, 0.95 if i % 2 else 0.75)
        expected.append(tuple(round(c * 255) for c in rgb))
    assert concept_colors(40) == expected
    assert len(set(concept_colors(40))) == 40
    assert concept_colors(5) == expected[:5] and concept_colors(0) == []
