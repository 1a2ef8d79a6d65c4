"""Read W&B offline run files (``run-<id>.wandb``) back into config, summary, history and tables.

W&B offline mode (``WANDB_MODE=offline``, wandb 0.31) writes no summary or history JSON, only a
transaction log, ``wandb/offline-run-<time>-<id>/run-<id>.wandb``, in the LevelDB log format:

* a 7-byte header: ``b":W&B"``, uint16 ``0xBEE1`` little-endian, uint8 version ``0``;
* 32 KiB blocks of chunks ``<crc32 uint32 LE><length uint16 LE><type uint8><data>``, where the
  checksum is the plain (unmasked) zlib CRC-32 of the type byte followed by the data, and the type
  is full (1), first (2), middle (3) or last (4); a block tail shorter than the 7-byte chunk header
  is zero padding; a chunk never crosses a block boundary;
* each reassembled payload is a ``wandb.proto.wandb_internal_pb2.Record``.

(Checked against files written by wandb 0.31's Go core; its Python package no longer holds a
writer.) W&B flattens logged dicts into items with a ``nested_key`` path: :func:`read_history`
joins the path with ``"/"`` and folds a media object (a group of items with a ``_type`` member)
back into its reference dict, e.g. ``{"_type": "table-file", "path": "media/table/...", ...}``.
Media files live under the run's ``files/`` folder, beside the ``.wandb`` file.

(Over 300 lines: a reader of one file format, from its block framing to its history rows.)
"""

from __future__ import annotations

import json
import struct
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wandb.proto import wandb_internal_pb2 as _generated

__all__ = [
    "LoggedTable",
    "WandbRun",
    "find_run_files",
    "read_history",
    "read_records",
    "read_run",
    "read_table",
    "wait_for_run",
]

MAGIC = b":W&B" + struct.pack("<HB", 0xBEE1, 0)
BLOCK_SIZE = 32 * 1024
CHUNK_HEADER = struct.Struct("<IHB")  # crc32, length, type
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4
Record = Any  # wandb_internal_pb2.Record (the generated protobuf module has no type stubs)
_pb: Any = _generated  # wandb.proto.wandb_internal_pb2, re-exported by version


def find_run_files(folder: str | Path) -> list[Path]:
    """Every ``*.wandb`` file under ``folder`` (e.g. a ``WandbLogger`` ``save_dir``), sorted.

    Args:
        folder: Directory searched recursively.

    Returns:
        Sorted paths; empty when there are none.

    Raises:
        ValueError: if ``folder`` is not a directory.

    Example:
        >>> import tempfile
        >>> folder = Path(tempfile.mkdtemp())
        >>> run = folder / "wandb" / "offline-run-1-abc" / "run-abc.wandb"
        >>> run.parent.mkdir(parents=True)
        >>> _ = run.write_bytes(MAGIC)
        >>> [path.name for path in find_run_files(folder)]
        ['run-abc.wandb']
    """
    root = Path(folder)
    if not root.is_dir():
        raise ValueError(f"folder must be an existing directory, got {str(folder)!r}")
    return sorted(root.rglob("*.wandb"))


def _payloads(data: bytes, name: str, partial: bool = False) -> Iterator[bytes]:
    """Reassembled record payloads of a log; stops at a truncated end, raises on corruption.

    With ``partial``, corruption also just ends the log (after the last complete record).
    """
    try:
        yield from _checked_payloads(data, name)
    except ValueError:
        if not partial:
            raise


def _checked_payloads(data: bytes, name: str) -> Iterator[bytes]:
    if len(data) < len(MAGIC):
        return  # the header is not even written yet
    if data[: len(MAGIC)] != MAGIC:
        raise ValueError(f"{name} is not a W&B run file: header {data[:7]!r}, expected {MAGIC!r}")
    offset, parts = len(MAGIC), list[bytes]()
    while offset < len(data):
        block_end = (offset // BLOCK_SIZE + 1) * BLOCK_SIZE
        if block_end - offset < CHUNK_HEADER.size:  # zero trailer of a block
            offset = block_end
            continue
        if offset + CHUNK_HEADER.size > len(data):
            return  # a chunk header still being written
        crc, length, kind = CHUNK_HEADER.unpack_from(data, offset)
        end = offset + CHUNK_HEADER.size + length
        if kind == 0 and not any(data[offset:]):
            return  # zero-filled (preallocated) tail
        if kind not in (FULL, FIRST, MIDDLE, LAST) or end > block_end:
            raise ValueError(
                f"corrupt W&B run file {name} at offset {offset}: chunk type {kind}, length "
                f"{length} (types 1-4 within a {BLOCK_SIZE}-byte block are allowed)"
            )
        if end > len(data):
            return  # the last chunk is still being written
        body = data[offset + CHUNK_HEADER.size : end]
        if zlib.crc32(body, zlib.crc32(bytes([kind]))) != crc:
            raise ValueError(f"corrupt W&B run file {name} at offset {offset}: CRC mismatch")
        if (kind in (FULL, FIRST)) == bool(parts):
            raise ValueError(
                f"corrupt W&B run file {name} at offset {offset}: chunk type {kind} out of order"
            )
        parts.append(body)
        if kind in (FULL, LAST):
            yield b"".join(parts)
            parts = []
        offset = end
    # an unfinished FIRST/MIDDLE sequence at the end is a record still being written: dropped


def read_records(path: str | Path, partial: bool = False) -> Iterator[Record]:
    """Iterate the ``wandb_internal_pb2.Record`` protos of a run file, in order.

    A truncated last record (a run still being written, or killed) ends the iteration silently.

    Args:
        path: A ``run-<id>.wandb`` file.
        partial: Also end the iteration silently at a corrupt chunk or record (read a damaged
            log up to its last complete record) instead of raising.

    Yields:
        Each decoded ``Record``; ``record.WhichOneof("record_type")`` names its kind
        (``"run"``, ``"history"``, ``"summary"``, ``"config"``, ``"artifact"``, ...).

    Raises:
        ValueError: on a wrong header, a CRC mismatch or an impossible chunk (naming the offset),
            or a payload that is not a ``Record``.

    Example:
        >>> import tempfile
        >>> run = _example_run(Path(tempfile.mkdtemp()))
        >>> [record.WhichOneof("record_type") for record in read_records(run)]
        ['run', 'history', 'history', 'summary']
    """
    name = str(path)
    for payload in _payloads(Path(path).read_bytes(), name, partial):
        record = _pb.Record()
        try:
            record.ParseFromString(payload)
        except Exception as error:  # protobuf's DecodeError
            if partial:
                return
            raise ValueError(f"corrupt W&B run file {name}: undecodable record: {error}") from error
        yield record


def _item_path(item: Any) -> tuple[str, ...]:
    return (item.key,) if item.key else tuple(item.nested_key)


def _fold(entries: dict[tuple[str, ...], Any]) -> dict[str, Any]:
    """Join key paths with "/", folding each media group (one with a ``_type``) into a dict."""
    media = {path[:-1] for path in entries if len(path) > 1 and path[-1] == "_type"}
    row: dict[str, Any] = {}
    for path, value in entries.items():
        owner = next((path[:n] for n in range(1, len(path)) if path[:n] in media), None)
        if owner is None:
            row["/".join(path)] = value
            continue
        target = row.setdefault("/".join(owner), {})
        for part in path[len(owner) : -1]:
            target = target.setdefault(part, {})
        target[path[-1]] = value
    return row


def read_history(path: str | Path) -> list[dict[str, Any]]:
    """One dict per history row (each ``run.log`` / ``logger.log_metrics`` call), in order.

    Keys are as logged (nested dict keys joined by ``"/"``), plus W&B's ``_step``, ``_runtime``
    and ``_timestamp``; values are decoded JSON (numbers stay numbers, but W&B writes a whole
    float without its fraction, so ``1.0`` reads back as ``1``). A media value becomes its
    reference dict (``{"_type": "image-file", "path": "media/images/...", ...}``,
    ``{"_type": "table-file", ...}``); ``wandb.plot`` charts appear as their ``<key>_table``.

    Args:
        path: A ``run-<id>.wandb`` file.

    Returns:
        The rows.

    Raises:
        ValueError: as :func:`read_records`.

    Example:
        >>> import tempfile
        >>> rows = read_history(_example_run(Path(tempfile.mkdtemp())))
        >>> [(row["_step"], row["quality/swd"]) for row in rows]
        [(0, 12.5), (1, 9.0)]
        >>> rows[1]["grid"]["_type"]
        'image-file'
    """
    return [
        _fold({_item_path(item): json.loads(item.value_json) for item in record.history.item})
        for record in read_records(path)
        if record.WhichOneof("record_type") == "history"
    ]


@dataclass(frozen=True)
class WandbRun:
    """What an offline run file holds.

    Attributes:
        path: The ``.wandb`` file.
        run_id: The run's id.
        project: The run's project.
        config: Final config as a nested dict (W&B's own ``_wandb`` entry included).
        summary: Final summary, keys as in :func:`read_history`.
        history: The history rows of :func:`read_history`.
        finished: Whether the log ends with the run's exit record (``run.finish()`` done and
            written; until then the file may still grow).

    Example:
        >>> run = WandbRun(Path("run-a.wandb"), "a", "t", {}, {"loss": 1.0}, [], finished=True)
        >>> run.summary["loss"]
        1.0
    """

    path: Path
    run_id: str
    project: str
    config: dict[str, Any]
    summary: dict[str, Any]
    history: list[dict[str, Any]]
    finished: bool = False

    @property
    def files(self) -> Path:
        """The run's ``files/`` folder, where media paths of references are relative to."""
        return self.path.parent / "files"


def _set_nested(target: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    for part in path[:-1]:
        target = target.setdefault(part, {})
    target[path[-1]] = value


def read_run(path: str | Path, partial: bool = False) -> WandbRun:
    """Config, summary and history of a run file in one pass.

    Args:
        path: A ``run-<id>.wandb`` file.
        partial: Read a damaged log up to its last complete record (see :func:`read_records`).

    Returns:
        A :class:`WandbRun`.

    Raises:
        ValueError: as :func:`read_records`.

    Example:
        >>> import tempfile
        >>> run = read_run(_example_run(Path(tempfile.mkdtemp())))
        >>> run.run_id, run.config["model"]["lr"], run.summary["quality/swd"], len(run.history)
        ('abc', 0.001, 9.0, 2)
    """
    run_id = project = ""
    config: dict[str, Any] = {}
    summary: dict[tuple[str, ...], Any] = {}
    history: list[dict[str, Any]] = []
    finished = False
    for record in read_records(path, partial):
        kind = record.WhichOneof("record_type")
        finished = kind == "exit"
        if kind == "run":
            run_id, project = record.run.run_id, record.run.project
        if kind in ("run", "config"):
            updates = record.run.config if kind == "run" else record.config
            for item in updates.update:
                _set_nested(config, _item_path(item), json.loads(item.value_json))
        elif kind == "summary":
            for item in record.summary.update:
                summary[_item_path(item)] = json.loads(item.value_json)
            for item in record.summary.remove:
                gone = _item_path(item)
                summary = {key: v for key, v in summary.items() if key[: len(gone)] != gone}
        elif kind == "history":
            entries = {
                _item_path(item): json.loads(item.value_json) for item in record.history.item
            }
            history.append(_fold(entries))
    return WandbRun(Path(path), run_id, project, config, _fold(summary), history, finished)


def wait_for_run(path: str | Path, timeout: float = 60.0) -> WandbRun:
    """:func:`read_run` once the run's exit record is written.

    wandb 0.31 writes the log from a separate service process: ``run.finish()`` (and the end of
    a training process) can return before the last blocks reach the file, so read a run that
    just ended through this function.

    Args:
        path: A ``run-<id>.wandb`` file.
        timeout: Seconds to wait.

    Returns:
        The finished :class:`WandbRun`.

    Raises:
        TimeoutError: if the exit record has not appeared after ``timeout`` seconds.
        ValueError: as :func:`read_records`.

    Example:
        >>> import tempfile
        >>> run = _example_run(Path(tempfile.mkdtemp()), finished=True)
        >>> wait_for_run(run, timeout=1.0).finished
        True
    """
    deadline = time.monotonic() + timeout
    while True:
        run = read_run(path)
        if run.finished:
            return run
        if time.monotonic() > deadline:
            raise TimeoutError(f"W&B run file {path} has no exit record after {timeout} s")
        time.sleep(0.1)


@dataclass(frozen=True)
class LoggedTable:
    """A logged ``wandb.Table``'s contents.

    Attributes:
        columns: Column names.
        rows: One list of cell values per row.

    Example:
        >>> table = LoggedTable(["unit", "iou"], [[3, 0.25]])
        >>> table.column("iou")
        [0.25]
    """

    columns: list[str]
    rows: list[list[Any]]

    def column(self, name: str) -> list[Any]:
        """The values of one column; raises ``ValueError`` listing the columns if absent."""
        if name not in self.columns:
            raise ValueError(f"name must be one of the columns {self.columns}, got {name!r}")
        index = self.columns.index(name)
        return [row[index] for row in self.rows]


def _staged_table(path: Path, reference: dict[str, Any]) -> Path | None:
    """The artifact copy of a table (media cells as reference dicts), if still staged locally."""
    client_id, _, name = str(reference.get("artifact_path", "")).partition("://")[2].partition("/")
    for record in read_records(path):
        if (
            record.WhichOneof("record_type") == "artifact"
            and record.artifact.client_id == client_id
        ):
            for entry in record.artifact.manifest.contents:
                if entry.path == name and entry.local_path and Path(entry.local_path).is_file():
                    return Path(entry.local_path)
    return None


def read_table(path: str | Path, reference: dict[str, Any]) -> LoggedTable:
    """Load a logged table from its history reference.

    W&B 0.31 writes two copies: ``files/<reference["path"]>`` in the run folder, where media cells
    are only placeholders (``"Image"``), and an artifact copy, staged under
    ``~/.local/share/wandb/artifacts/staging/`` until ``wandb sync``, where media cells are
    reference dicts (``{"_type": "image-file", "path": "media/images/...", ...}``, paths relative
    to the artifact). The artifact copy is read while it is staged, the run copy otherwise.

    Args:
        path: The run's ``.wandb`` file.
        reference: A ``{"_type": "table-file", "path": ...}`` value from :func:`read_history`.

    Returns:
        A :class:`LoggedTable`.

    Raises:
        ValueError: if ``reference`` is not a table reference or its file is missing.

    Example:
        >>> import tempfile
        >>> run = _example_run(Path(tempfile.mkdtemp()))
        >>> table = read_table(run, read_history(run)[0]["units"])
        >>> table.columns, table.rows
        (['unit', 'iou'], [[3, 0.25], [7, 0.5]])
    """
    if not isinstance(reference, dict) or reference.get("_type") != "table-file":
        raise ValueError(f"reference must be a 'table-file' reference dict, got {reference!r}")
    path = Path(path)
    source = _staged_table(path, reference) or path.parent / "files" / str(reference["path"])
    if not source.is_file():
        raise ValueError(f"table file {source} of reference {reference['path']!r} is missing")
    contents = json.loads(source.read_text(encoding="utf-8"))
    return LoggedTable(list(contents["columns"]), [list(row) for row in contents["data"]])


def _write_log(path: Path, records: list[Record]) -> None:
    """Write records in the run-file format (used by the examples and tests)."""
    out, offset = bytearray(MAGIC), len(MAGIC)
    for record in records:
        payload, first = record.SerializeToString(), True
        while True:
            room = BLOCK_SIZE - offset % BLOCK_SIZE
            if room < CHUNK_HEADER.size:
                out += bytes(room)
                offset += room
                continue
            piece, payload = (
                payload[: room - CHUNK_HEADER.size],
                payload[room - CHUNK_HEADER.size :],
            )
            kind = (FULL if first else LAST) if not payload else (FIRST if first else MIDDLE)
            crc = zlib.crc32(piece, zlib.crc32(bytes([kind])))
            out += CHUNK_HEADER.pack(crc, len(piece), kind) + piece
            offset += CHUNK_HEADER.size + len(piece)
            first = False
            if not payload:
                break
    path.write_bytes(bytes(out))


def _example_run(folder: Path, finished: bool = False) -> Path:
    """A small offline-style run folder for the examples: two history rows and a table."""
    run_dir = folder / "wandb" / "offline-run-20240101_000000-abc"
    table = run_dir / "files" / "media" / "table" / "units_0_1.table.json"
    table.parent.mkdir(parents=True)
    table.write_text(json.dumps({"columns": ["unit", "iou"], "data": [[3, 0.25], [7, 0.5]]}))
    pb = _pb
    run = pb.Record(run=pb.RunRecord(run_id="abc", project="t"))
    run.run.config.update.add(key="model", value_json=json.dumps({"lr": 0.001}))
    rows = [
        {("quality/swd",): 12.5, ("_step",): 0, ("units", "_type"): "table-file"},
        {("quality/swd",): 9.0, ("_step",): 1, ("grid", "_type"): "image-file"},
    ]
    rows[0][("units", "path")] = "media/table/units_0_1.table.json"
    records = [run]
    for row in rows:
        record = pb.Record()
        for key, value in row.items():
            record.history.item.add(nested_key=list(key), value_json=json.dumps(value))
        records.append(record)
    summary = pb.Record()
    summary.summary.update.add(key="quality/swd", value_json="9.0")
    exit_record = [pb.Record(exit=pb.RunExitRecord())] if finished else []
    _write_log(run_dir / "run-abc.wandb", [*records, summary, *exit_record])
    return run_dir / "run-abc.wandb"
