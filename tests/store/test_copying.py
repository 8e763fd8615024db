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
