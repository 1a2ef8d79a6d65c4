"""The one route to Weights & Biases: the mode a run takes, starting runs, logging results.

Every ganlens run (``ganlens fit``'s ``WandbLogger``, ``units``/``report --wandb``, ``ace``,
``artifacts``, ``context`` and ``compare`` with ``--wandb``) takes its mode from
:func:`wandb_mode`: ``WANDB_MODE`` when set (``online``, ``offline``/``dryrun``, ``disabled``),
else online when the user is logged in (``WANDB_API_KEY``, or an ``api.wandb.ai`` entry in
``~/.netrc`` as ``wandb login`` writes), else offline, so nothing needs a network by default.
``wandb`` itself is imported only inside the functions that start runs.
"""

from __future__ import annotations

import os
import socket
import threading
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

__all__ = ["RunMode", "log_results", "start_run", "wandb_logged_in", "wandb_logger", "wandb_mode"]

RunMode = Literal["online", "offline", "disabled"]
CONNECT_TIMEOUT = 3.0
"""Seconds an online run waits for the W&B server before it logs offline instead."""
_MODES: dict[str, RunMode] = {
    "online": "online", "run": "online", "offline": "offline", "dryrun": "offline",
    "disabled": "disabled",
}  # fmt: skip


def wandb_logged_in() -> bool:
    """Whether the user has W&B credentials: an API key in the environment or in netrc.

    Example:
        >>> import os
        >>> os.environ["WANDB_API_KEY"] = "x" * 40
        >>> wandb_logged_in()
        True
        >>> del os.environ["WANDB_API_KEY"]
    """
    if os.environ.get("WANDB_API_KEY"):
        return True
    netrc = Path(os.environ.get("NETRC", Path.home() / ".netrc"))
    try:
        return "api.wandb.ai" in netrc.read_text()
    except OSError:
        return False


def _reachable(url: str, timeout: float) -> bool:
    """Whether a TCP connection to ``url``'s host opens within ``timeout`` seconds (DNS too)."""
    parts = urlsplit(url)
    host = parts.hostname or "api.wandb.ai"
    port = parts.port or (443 if parts.scheme != "http" else 80)
    result: list[bool] = []

    def connect() -> None:
        try:
            socket.create_connection((host, port), timeout=timeout).close()
            result.append(True)
        except OSError:
            result.append(False)

    worker = threading.Thread(target=connect, daemon=True)  # getaddrinfo has no timeout
    worker.start()
    worker.join(timeout)
    return bool(result and result[0])


def wandb_mode() -> RunMode:
    """The mode of every ganlens W&B run: ``WANDB_MODE`` wins, else online only when logged in.

    Online needs a key and the W&B server: without a key, or when the server
    (``WANDB_BASE_URL``, default ``https://api.wandb.ai``) does not answer within
    :data:`CONNECT_TIMEOUT` seconds, the run is offline instead, with one warning that says how to
    upload it later; so W&B never stops or stalls a training run.

    Raises:
        ValueError: If ``WANDB_MODE`` is set to something W&B does not know.

    Example:
        >>> import os
        >>> os.environ["WANDB_MODE"] = "disabled"
        >>> wandb_mode()
        'disabled'
        >>> os.environ["WANDB_MODE"] = "offline"
    """
    given = os.environ.get("WANDB_MODE", "").strip().lower()
    if given and given not in _MODES:
        raise ValueError(f"WANDB_MODE={given!r} is not a W&B mode; use online, offline or disabled")
    mode = _MODES[given] if given else ("online" if wandb_logged_in() else "offline")
    if mode != "online":
        return mode
    later = "logging offline; upload the run later with `wandb sync <its folder>`"
    if not wandb_logged_in():
        warnings.warn(f"W&B: no W&B API key (wandb login, or WANDB_API_KEY); {later}",
                      stacklevel=2)  # fmt: skip
        return "offline"
    url = os.environ.get("WANDB_BASE_URL", "https://api.wandb.ai")
    if not _reachable(url, CONNECT_TIMEOUT):
        where = urlsplit(url).netloc or url
        warnings.warn(f"W&B: cannot reach {where} within {CONNECT_TIMEOUT:g} s; {later}",
                      stacklevel=2)  # fmt: skip
        return "offline"
    return "online"


def wandb_logger(project: str = "ganlens", **init_args: Any) -> dict[str, Any]:
    """Lightning's ``WandbLogger`` as a LightningCLI ``class_path`` record, in :func:`wandb_mode`.

    Args:
        project: W&B project.
        init_args: More ``WandbLogger`` arguments (``save_dir``, ``name``, ...).

    Example:
        >>> import os
        >>> os.environ["WANDB_MODE"] = "offline"
        >>> record = wandb_logger(save_dir="out")
        >>> record["class_path"], record["init_args"]["mode"], record["init_args"]["save_dir"]
        ('pytorch_lightning.loggers.WandbLogger', 'offline', 'out')
    """
    # mode goes to wandb.init; WandbLogger's own offline=True would set WANDB_MODE process-wide
    arguments = {"project": project, "mode": wandb_mode(), **init_args}
    return {"class_path": "pytorch_lightning.loggers.WandbLogger", "init_args": arguments}


def start_run(
    project: str,
    directory: str | Path,
    *,
    name: str | None = None,
    config: Mapping[str, Any] | None = None,
    job_type: str | None = None,
) -> Any:
    """Start a W&B run in :func:`wandb_mode` with its files under ``directory/wandb``.

    Args:
        project: W&B project.
        directory: Folder the run's files go under (created).
        name: Run name (default: W&B picks one).
        config: The settings, stored as the run's config.
        job_type: W&B job type, e.g. ``"dissect"``.

    Returns:
        The ``wandb`` run; finish it with ``run.finish()``.

    Example:
        >>> import os, tempfile
        >>> os.environ["WANDB_MODE"] = "offline"
        >>> run = start_run("ganlens", tempfile.mkdtemp(), name="example")
        >>> run.settings.mode
        'offline'
        >>> run.finish()
    """
    import wandb

    folder = Path(directory)
    (folder / "wandb").mkdir(parents=True, exist_ok=True)
    return wandb.init(
        project=project, name=name, dir=str(folder), mode=wandb_mode(),
        config=dict(config or {}), job_type=job_type, reinit="finish_previous",
    )  # fmt: skip


def run_folder(run: Any, directory: str | Path) -> Path:
    """The local folder of a started run (``directory/wandb`` for a disabled one).

    Example:
        >>> import os, tempfile
        >>> os.environ["WANDB_MODE"] = "disabled"
        >>> folder = tempfile.mkdtemp()
        >>> run = start_run("ganlens", folder)
        >>> run_folder(run, folder) == Path(folder) / "wandb"
        True
        >>> run.finish(); os.environ["WANDB_MODE"] = "offline"
    """
    if getattr(getattr(run, "settings", None), "mode", None) == "disabled":
        return Path(directory) / "wandb"
    return Path(run.dir).parent


def log_results(
    project: str,
    name: str,
    directory: str | Path,
    *,
    scalars: Mapping[str, float],
    tables: Mapping[str, tuple[Sequence[str], Sequence[Sequence[Any]]]],
    images: Mapping[str, str | Path],
    config: Mapping[str, Any],
) -> Path:
    """Log a command's results to a new run in one history row, then finish it.

    Args:
        project: W&B project.
        name: Run name.
        directory: Folder the run's files go under.
        scalars: Key to number (also in the run's summary).
        tables: Key to ``(columns, rows)``.
        images: Key to a picture file (PNG, or an SVG chart, logged as ``wandb.Html``).
        config: The settings, stored as the run's config.

    Returns:
        The run's local folder.

    Example:
        >>> import os, tempfile
        >>> os.environ["WANDB_MODE"] = "offline"
        >>> folder = log_results("ganlens", "example", tempfile.mkdtemp(), scalars={"x": 1.0},
        ...                      tables={"t": (["a"], [[1]])}, images={}, config={"seed": 0})
        >>> folder.name.startswith("offline-run-")
        True
    """
    import wandb

    run = start_run(project, directory, name=name, config=config)
    try:
        payload: dict[str, Any] = dict(scalars)
        for key, (columns, rows) in tables.items():
            payload[key] = wandb.Table(columns=list(columns), data=[list(r) for r in rows])
        for key, path in images.items():  # SVG charts as HTML panels, rasters as images
            svg = Path(path).suffix == ".svg"
            payload[key] = wandb.Html(Path(path).read_text()) if svg else wandb.Image(str(path))
        run.log(payload)
        return run_folder(run, directory)
    finally:
        run.finish()
