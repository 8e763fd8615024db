"""Copying into the artifact store: a reflink or the kernel's copy_file_range where the file system has them,
a plain read/write loop where it does not, the same bytes either way."""

from __future__ import annotations

import errno
import os
import sys

import pytest

from conveyor.store import copying
from conveyor.store.artifacts import FsspecArtifactStore


@pytest.fixture
def source(tmp_path):
    path = tmp_path / "source.bin"
    path.write_bytes(os.urandom(3 * 1024 * 1024 + 17))
    return path


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="copy_file_range and FICLONE are Linux calls")
def test_the_kernel_copies_on_linux(source, tmp_path):
    how = copying.copy_file(source, tmp_path / "copy.bin")
    assert how in ("reflink", "copy_file_range")  # which one depends on the file system; never through Python
    assert (tmp_path / "copy.bin").read_bytes() == source.read_bytes()


def test_no_reflink_and_no_copy_file_range_falls_back_to_read_write(source, tmp_path, monkeypatch):
    def refused(*_args, **_kwargs):
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(copying, "_reflink", lambda _src, _dst: False)
    monkeypatch.setattr(os, "copy_file_range", refused, raising=False)
    assert copying.copy_file(source, tmp_path / "copy.bin") == "read/write"
    assert (tmp_path / "copy.bin").read_bytes() == source.read_bytes()


def test_put_file_stores_the_bytes_under_their_digest(source, tmp_path):
    store = FsspecArtifactStore(str(tmp_path / "artifacts"))
    digest = store.put_file(source)
    assert store.get_bytes(digest) == source.read_bytes()
    assert not [p for p in (tmp_path / "artifacts").rglob(".tmp-*")]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="O_DIRECT and /proc/self/mountinfo are Linux's")
@pytest.mark.parametrize("size", [8192, 3 * 1024 * 1024 + 17])  # whole blocks, and a partial last block
def test_a_large_file_on_a_local_disk_is_written_uncached(tmp_path, monkeypatch, size):
    monkeypatch.setattr(copying, "DIRECT_MIN", 1)  # what is large here: any file
    source = tmp_path / "source.bin"
    source.write_bytes(os.urandom(size))
    with open(tmp_path / "probe", "wb") as probe:
        kind = copying.file_system(probe.fileno())
    how = copying.copy_file(source, tmp_path / "copy.bin")
    assert (tmp_path / "copy.bin").read_bytes() == source.read_bytes()
    if how != "reflink":  # a reflink comes first where there is one
        assert how == ("direct" if kind in copying.DIRECT_FILE_SYSTEMS else "copy_file_range")


def test_a_file_system_refusing_direct_writes_gets_the_kernel_copy(source, tmp_path, monkeypatch):
    monkeypatch.setattr(copying, "DIRECT_MIN", 1)
    monkeypatch.setattr(copying, "_reflink", lambda _src, _dst: False)
    monkeypatch.setattr(copying, "file_system", lambda _fd: "ext4")

    def refused(*_args, **_kwargs):
        raise OSError(errno.EINVAL, "Invalid argument")

    monkeypatch.setattr(os, "pwrite", refused)
    assert copying.copy_file(source, tmp_path / "copy.bin") in ("copy_file_range", "read/write")
    assert (tmp_path / "copy.bin").read_bytes() == source.read_bytes()
