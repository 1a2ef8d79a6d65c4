"""ganlens.io: atomic writes leave no partial file and respect the umask like any new file."""

import os
import stat

import pytest
import torch

from ganlens.io import (
    atomic_write_bytes,
    atomic_write_text,
    cache_key,
    fingerprint,
    make_staging_directory,
    replace_directory,
)


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_written_files_and_folders_get_the_umask_permissions(tmp_path, umask_022):
    assert mode(atomic_write_text(tmp_path / "dissect.json", "{}")) == 0o644
    assert mode(atomic_write_bytes(tmp_path / "a" / "b.bin", b"x")) == 0o644
    staging = make_staging_directory(tmp_path, ".images.")
    (staging / "unit.png").write_bytes(b"png")
    assert mode(replace_directory(staging, tmp_path / "images")) == 0o755


def test_a_stricter_umask_is_respected_too(tmp_path):
    old = os.umask(0o077)
    try:
        assert mode(atomic_write_text(tmp_path / "private.json", "{}")) == 0o600
    finally:
        os.umask(old)


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path, monkeypatch):
    path = atomic_write_text(tmp_path / "x.txt", "old")

    def broken(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", broken)
    with pytest.raises(KeyboardInterrupt):
        atomic_write_text(path, "new")
    assert path.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["x.txt"]


def test_keys_and_fingerprints_depend_on_every_part():
    assert cache_key(a=1, b=[2]) == cache_key(b=[2], a=1) != cache_key(a=1, b=[3])
    x = torch.arange(4.0)
    assert fingerprint([x, None]) != fingerprint([None, x])
    assert fingerprint({"w": x}) != fingerprint({"v": x}) != fingerprint([x])
    assert fingerprint([x.to(torch.float64)]) != fingerprint([x])
