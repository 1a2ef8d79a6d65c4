import base64
import io

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from ganlens.paint.app import create_app
from ganlens.paint.model import load_paint_model


@pytest.fixture(scope="session")
def shipped():
    """The shipped scene model with rankings from a quick dissection of 64 samples."""
    return load_paint_model(None, None, None, quick_samples=64)


@pytest.fixture(scope="session")
def client(shipped):
    return TestClient(create_app(shipped))


def bits_mask(mask: np.ndarray) -> dict:
    """A bit-raster mask payload of a bool [H, W] array."""
    height, width = mask.shape
    packed = np.packbits(mask.astype(np.uint8).flatten())
    return {"bits": base64.b64encode(packed.tobytes()).decode(), "width": width, "height": height}


def png_mask(mask: np.ndarray, mode: str = "L") -> dict:
    """A PNG mask payload of a float [H, W] array in [0, 1] (grey, or alpha for mode RGBA)."""
    grey = (mask * 255).round().astype(np.uint8)
    if mode == "RGBA":
        rgba = np.zeros((*mask.shape, 4), dtype=np.uint8)
        rgba[..., 3] = grey
        image = Image.fromarray(rgba, "RGBA")
    else:
        image = Image.fromarray(grey, "L")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return {"png": "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()}


def decode_image(url: str) -> np.ndarray:
    """uint8 [H, W, C] pixels of a PNG data URL."""
    raw = base64.b64decode(url.split(",", 1)[1])
    return np.asarray(Image.open(io.BytesIO(raw)))
