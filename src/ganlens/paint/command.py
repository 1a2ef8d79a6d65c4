"""``dissect.py paint``: check the settings, load the model and serve the page with uvicorn."""

from __future__ import annotations

import ipaddress
import logging
import threading
import webbrowser
from pathlib import Path

from ganlens.paint.settings import LOOPBACK_HOSTS, PaintSettings

__all__ = ["check_settings", "is_loopback", "run_paint"]

_log = logging.getLogger(__name__)


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


def _check_device(device: str) -> None:
    import torch

    try:
        parsed = torch.device(device)
    except (RuntimeError, ValueError) as error:
        raise ValueError(
            f"device {device!r} is not a torch device ('cpu', 'cuda', 'cuda:1')"
        ) from error
    if parsed.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} needs CUDA, which is not available; use 'cpu'")


def check_settings(settings: PaintSettings) -> None:
    """Raise ValueError naming the first invalid setting, its value and what is allowed.

    Nothing is loaded or bound.

    Example:
        >>> check_settings(PaintSettings(port=0))
        Traceback (most recent call last):
        ...
        ValueError: port must lie in 1..65535; got 0
    """
    ranges = {
        "port": (1, 65535),
        "samples": (1, 64),
        "quick_samples": (8, 4096),
        "top_n": (1, 4096),
    }
    for name, (low, high) in ranges.items():
        value = getattr(settings, name)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ValueError(f"{name} must lie in {low}..{high}; got {value!r}")
    if not isinstance(settings.seed, int) or settings.seed < 0 or settings.seed + 64 > 2**31 - 1:
        raise ValueError(f"seed must lie in 0..{2**31 - 65}; got {settings.seed!r}")
    if not settings.host.strip():
        raise ValueError(f"host must be an address or host name; got {settings.host!r}")
    if settings.dissection is not None:
        path = Path(settings.dissection)
        folder_json = path / "dissect.json"
        if not (path.is_file() or folder_json.is_file()):
            raise ValueError(
                f"dissection {settings.dissection!r} is neither a dissect.json nor a folder with "
                "one (written by `dissect.py units`)"
            )
    if settings.layer is not None and not settings.layer.strip():
        raise ValueError("layer must be a layer name or left out; got an empty string")
    _check_device(settings.device)


def run_paint(settings: PaintSettings) -> int:
    """Serve the painting page until interrupted; returns the exit status (0).

    Args:
        settings: The options (:class:`~ganlens.paint.settings.PaintSettings`).

    Returns:
        0 once the server stops.

    Raises:
        ValueError: If a setting is invalid (before anything is loaded or bound), or the layer
            is not a paintable layer of the model.
        FileNotFoundError: If a model file does not exist.

    Example:
        >>> run_paint(PaintSettings(samples=0))
        Traceback (most recent call last):
        ...
        ValueError: samples must lie in 1..64; got 0
    """
    check_settings(settings)
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
        quick_samples=settings.quick_samples, seed=settings.seed,
    )  # fmt: skip
    layer = settings.layer or model.default_layer()
    app = create_app(model, layer=layer, seed=settings.seed, samples=settings.samples,
                     top_n=settings.top_n)  # fmt: skip
    model.rankings(layer)  # rank the first layer before the page asks for it
    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    url = f"http://{host}:{settings.port}/"
    print(f"ganlens paint: {model.source} at {url} (Ctrl+C stops)", flush=True)
    if settings.open_browser:
        threading.Timer(1.0, webbrowser.open, args=(url,)).start()
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning")
    return 0
