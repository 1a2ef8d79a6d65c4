"""``ganlens paint``: serve a page to paint with a generator's units (GANPaint).

GAN Dissection (Bau et al., ICLR 2019, arXiv:1811.10597, section 4): painting a stroke with a
concept sets the concept's top-ranked units inside the stroke and shows the image the generator
renders from the edited featuremap. The settings are checked before anything is loaded or bound;
the server (:func:`ganlens.paint.app.create_app`) runs under uvicorn until interrupted.
"""

from __future__ import annotations

import ipaddress
import logging
from dataclasses import dataclass, field

from ganlens.options import (
    DeviceOptions,
    GeneratorOptions,
    SegmenterOptions,
    check_dissection,
)

__all__ = ["LOOPBACK_HOSTS", "PaintSettings", "is_loopback", "run_paint"]

_log = logging.getLogger(__name__)

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
"""Hosts that only this machine can reach (other loopback addresses are recognised too)."""


def is_loopback(host: str) -> bool:
    """Whether ``host`` is reachable only from this machine.

    Example:
        >>> is_loopback("127.0.0.2"), is_loopback("0.0.0.0"), is_loopback("localhost")
        (True, False, True)
    """
    if host in LOOPBACK_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True, kw_only=True)
class PaintSettings(GeneratorOptions, SegmenterOptions, DeviceOptions):
    """Serve a page to paint with a generator's units (GANPaint, Bau et al., ICLR 2019, sec. 4).

    Painting a stroke with a concept sets the concept's top-ranked units inside the stroke
    ("draw": to each unit's 99th-percentile activation; "remove": to 0) and shows the image the
    generator renders from the edited featuremap.

    Args:
        generator: The generator: 'scene' (the shipped scene model), a Lightning .ckpt, a
            gandissect/Karras ProgGAN .pth, or 'package.module:factory'. Default: the model the
            dissection records, else 'scene'.
        segmenter: The segmenter shown in the overlay and used for on-the-fly rankings: 'scene',
            'segformer:PATH' or 'package.module:factory'. Default: the dissection's, else 'scene'.
        dissection: A folder written by `ganlens units` (or its dissect.json) whose unit
            rankings (IoU and folded ACE) fill the concept palette. Default: rank the units with a
            quick dissection of quick_samples images on startup (kept in memory).
        layer: The layer selected when the page opens. Default: layer6 for the shipped model,
            else the dissection's first layer (the generator's middle layer without one).
        host: Address to bind. Anything but loopback exposes the server to the network (a
            warning is printed).
        port: TCP port to bind (1-65535).
        seed: Seed of the first image shown; image i of the grid uses seed + i.
        images: Images shown in the grid (1-64; formerly --samples).
        quick_samples: Images used for the on-the-fly dissection and for each unit's
            99th-percentile activation level (8-4096).
        top_n: Units painted per stroke when the page opens (the page can change it).
        open_browser: Open the page in the default web browser once the server runs.
    """

    generator: str | None = None  # type: ignore[assignment]
    segmenter: str | None = None  # type: ignore[assignment]
    dissection: str | None = None
    layer: str | None = None
    host: str = "127.0.0.1"
    port: int = 8765
    seed: int = 0
    images: int = field(default=8, metadata={"aliases": ("--samples",)})
    quick_samples: int = 64
    top_n: int = 10
    open_browser: bool = True

    def check(self) -> None:
        """Ranges, host, layer and dissection, before anything is loaded or bound."""
        ranges = {"port": (1, 65535), "images": (1, 64), "quick_samples": (8, 4096),
                  "top_n": (1, 4096), "seed": (0, 2**31 - 65)}  # fmt: skip
        for name, (low, high) in ranges.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise ValueError(f"--{name.replace('_', '-')} must lie in {low}..{high}; "
                                 f"got {value!r}")  # fmt: skip
        if not self.host.strip():
            raise ValueError(f"--host must be an address or host name; got {self.host!r}")
        if self.dissection is not None:
            check_dissection(self.dissection)
        if self.layer is not None and not self.layer.strip():
            raise ValueError("--layer must be a layer name or left out; got an empty string")


def run_paint(settings: PaintSettings) -> int:
    """Serve the painting page until interrupted; returns the exit status (0).

    Args:
        settings: The options, checked when they were built.

    Returns:
        0 once the server stops.

    Raises:
        ValueError: If the layer is not a paintable layer of the model.
        FileNotFoundError: If a model file does not exist.

    Example:
        >>> PaintSettings(images=0)
        Traceback (most recent call last):
        ...
        ValueError: --images must lie in 1..64; got 0
    """
    import threading
    import webbrowser

    if not is_loopback(settings.host):
        _log.warning(
            "host %r is not loopback: anyone who can reach this machine can use the server",
            settings.host,
        )
    import uvicorn

    from ganlens.paint.app import create_app
    from ganlens.paint.loading import open_dissection
    from ganlens.paint.model import load_paint_model

    document = open_dissection(settings.dissection) if settings.dissection else None
    model = load_paint_model(
        settings.generator, settings.segmenter, document, device=settings.device,
        quick_samples=settings.quick_samples, seed=settings.seed, truncation=settings.truncation,
    )  # fmt: skip
    layer = settings.layer or model.default_layer()
    app = create_app(model, layer=layer, seed=settings.seed, samples=settings.images,
                     top_n=settings.top_n)  # fmt: skip
    model.rankings(layer)  # rank the first layer before the page asks for it
    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    url = f"http://{host}:{settings.port}/"
    print(f"ganlens paint: {model.source} at {url} (Ctrl+C stops)", flush=True)
    if settings.open_browser:
        threading.Timer(1.0, webbrowser.open, args=(url,)).start()
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning")
    return 0
