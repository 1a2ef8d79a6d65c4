import io

import numpy as np
import pytest
import torch
from PIL import Image

from ganlens.data.scene_world import render_scene
from ganlens.segment.jpeg import jpeg_compress


def _pil_jpeg(image: torch.Tensor, quality: int) -> torch.Tensor:
    """Round trip through Pillow's JPEG (libjpeg defaults, 4:2:0), as [-1, 1] floats."""
    buffer = io.BytesIO()
    Image.fromarray(image.permute(1, 2, 0).numpy()).save(buffer, "JPEG", quality=quality)
    decoded = np.array(Image.open(buffer))
    return torch.from_numpy(decoded).permute(2, 0, 1).float() / 127.5 - 1


@pytest.mark.parametrize("quality", [20, 50, 90])
def test_is_real_jpeg(quality):
    image = render_scene(12345, 3, 64).image
    x = image.float()[None] / 127.5 - 1
    torch.testing.assert_close(jpeg_compress(x, quality)[0], _pil_jpeg(image, quality))


def test_flat_blocks_survive_and_quality_orders_damage():
    flat = torch.full((1, 3, 16, 16), 0.25)
    torch.testing.assert_close(jpeg_compress(flat, 10), flat, atol=0.02, rtol=0)
    x = torch.rand(3, 3, 20, 12) * 2 - 1  # not a multiple of 8
    out = jpeg_compress(x, torch.tensor([10.0, 50.0, 95.0]))
    assert out.shape == x.shape and out.abs().max() <= 1
    errors = (out - x).abs().mean(dim=(1, 2, 3))
    assert errors[0] > errors[1] > errors[2]


def test_bad_quality_is_an_error_naming_it():
    with pytest.raises(ValueError, match="quality must lie in"):
        jpeg_compress(torch.zeros(1, 3, 8, 8), 0)
