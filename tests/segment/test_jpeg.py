import io

import numpy as np
import pytest
import torch
from PIL import Image

from ganlens.data.scene_world import render_scene
from ganlens.segment.jpeg import jpeg_like


def _pil_jpeg(image: torch.Tensor, quality: int) -> torch.Tensor:
    """Round trip through Pillow's JPEG without chroma subsampling, as [-1, 1] floats."""
    buffer = io.BytesIO()
    Image.fromarray(image.permute(1, 2, 0).numpy()).save(
        buffer, "JPEG", quality=quality, subsampling=0
    )
    decoded = np.array(Image.open(buffer))
    return torch.from_numpy(decoded).permute(2, 0, 1).float() / 127.5 - 1


@pytest.mark.parametrize("quality", [20, 50, 90])
def test_matches_real_jpeg(quality):
    image = render_scene(12345, 3, 64).image
    x = image.float()[None] / 127.5 - 1
    ours, real = jpeg_like(x, quality)[0], _pil_jpeg(image, quality)
    error_ours, error_real = (ours - x[0]).abs().mean(), (real - x[0]).abs().mean()
    assert abs(error_ours - error_real) < 0.1 * error_real  # same amount of damage
    # and nearly the same pixels: much closer to Pillow's result than to the original (at high
    # quality Pillow's integer transforms and uint8 rounding are a visible part of the gap)
    assert (ours - real).abs().mean() < 0.4 * error_real


def test_flat_blocks_survive_and_quality_orders_damage():
    flat = torch.full((1, 3, 16, 16), 0.25)
    torch.testing.assert_close(jpeg_like(flat, 10), flat, atol=0.02, rtol=0)
    x = torch.rand(3, 3, 20, 12) * 2 - 1  # not a multiple of 8: padded and cropped back
    out = jpeg_like(x, torch.tensor([10.0, 50.0, 95.0]))
    assert out.shape == x.shape and out.abs().max() <= 1
    errors = (out - x).abs().mean(dim=(1, 2, 3))
    assert errors[0] > errors[1] > errors[2]
