"""Settings of the painting server (``dissect.py paint``), standard library only.

This module is imported to build the command line's ``--help``, so it must stay cheap: no torch,
no FastAPI.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["LOOPBACK_HOSTS", "PaintSettings"]

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
"""Hosts that only this machine can reach (other loopback addresses are recognised too)."""


@dataclass
class PaintSettings:
    """Serve a page to paint with a generator's units (GANPaint, Bau et al., ICLR 2019, sec. 4).

    Painting a stroke with a concept sets the concept's top-ranked units inside the stroke
    ("draw": to each unit's 99th-percentile activation; "remove": to 0) and shows the image the
    generator renders from the edited featuremap.

    Args:
        generator: The generator: "scene" (the shipped 32 px scene model), a Lightning .ckpt, a
            gandissect/Karras ProgGAN .pth, or "package.module:factory". Default: the model the
            dissection records, else "scene".
        segmenter: The segmenter shown in the overlay and used for on-the-fly rankings: "scene",
            "segformer:PATH" or "package.module:factory". Default: the dissection's, else "scene".
        dissection: A folder written by `dissect.py units` (or its dissect.json) whose unit
            rankings (IoU and folded ACE) fill the concept palette. Default: rank the units with a
            quick dissection of quick_samples images on startup (kept in memory).
        layer: The layer selected when the page opens. Default: layer6 for the shipped model,
            else the dissection's first layer (the generator's middle layer without one).
        host: Address to bind. Anything but loopback exposes the server to the network (a
            warning is printed).
        port: TCP port to bind (1-65535).
        device: Torch device for the generator and segmenter ("cpu", "cuda", "cuda:1").
        seed: Seed of the first image shown; image i of the grid uses seed + i.
        samples: Images shown in the grid (1-64).
        quick_samples: Images used for the on-the-fly dissection and for each unit's
            99th-percentile activation level (8-4096).
        top_n: Units painted per stroke when the page opens (the page can change it).
        open_browser: Open the page in the default web browser once the server runs.
    """

    generator: str | None = None
    segmenter: str | None = None
    dissection: str | None = None
    layer: str | None = None
    host: str = "127.0.0.1"
    port: int = 8765
    device: str = "cpu"
    seed: int = 0
    samples: int = 8
    quick_samples: int = 64
    top_n: int = 10
    open_browser: bool = True
