"""The fsspec-free local artifact store (the `data add` fast path): the artifact contract, and the very layout of
FsspecArtifactStore on the same folder, so either reads, lists and deletes what the other wrote."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from conveyor.store.artifacts import ArtifactStore, FsspecArtifactStore
from conveyor.store.local_artifacts import LocalArtifactStore, local_folder
from conveyor.testing.artifact_contract import ArtifactStoreContract


class TestLocalArtifacts(ArtifactStoreContract):
    @pytest.fixture
    def artifact_store(self, tmp_path: Path) -> LocalArtifactStore:
        return LocalArtifactStore(str(tmp_path / "artifacts"))

    def corrupt(self, store: ArtifactStore, digest: str) -> None:
        assert isinstance(store, LocalArtifactStore)
        Path(store._path(digest)).write_bytes(b"bit rot")


@pytest.mark.parametrize("as_url", [False, True])
def test_the_same_folder_through_fsspec_and_os(tmp_path: Path, as_url: bool, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    url = f"file://{tmp_path / 'blobs'}" if as_url else "blobs"  # a relative path resolves alike
    local, fsspec_store = LocalArtifactStore(url), FsspecArtifactStore(url)
    assert local.root == fsspec_store.root
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(300_000))
    mine = [local.put_bytes(b"from os"), local.put_file(big)]
    theirs = [fsspec_store.put_bytes(b"from fsspec")]
    assert local.digests() == fsspec_store.digests() == sorted(mine + theirs)
    assert fsspec_store.get_bytes(mine[1]) == big.read_bytes()
    assert local.get_bytes(theirs[0]) == b"from fsspec"
    assert local.delete(theirs[0]) == len(b"from fsspec") and not fsspec_store.exists(theirs[0])


def test_only_local_folders() -> None:
    for url in ("s3://bucket/x", "memory://x", "~/blobs", "", "simplecache::s3://b/x"):
        assert local_folder(url) is None
    assert local_folder("file:///srv/blobs") == "/srv/blobs"


def test_a_blob_in_pieces_is_streamed_to_disk_and_leaves_no_temporary_file(tmp_path: Path, monkeypatch) -> None:
    store = LocalArtifactStore(str(tmp_path / "blobs"))
    writer = store.blob_writer()
    writer.write([b"a" * 10, b"b" * 20])
    assert os.path.getsize(writer.tmp) == 30  # on disk before the commit, not held in memory
    digest = writer.commit()
    assert store.get_bytes(digest) == b"a" * 10 + b"b" * 20
    aborted = store.blob_writer()
    aborted.write([b"x"])
    aborted.abort()
    failing = store.blob_writer()
    failing.write([b"y"])
    monkeypatch.setattr(os, "fsync", lambda fd: (_ for _ in ()).throw(OSError(5, "I/O error")))
    with pytest.raises(OSError, match="I/O error"):
        failing.commit()
    assert [p.name for p in (tmp_path / "blobs").rglob("*") if p.is_file()] == [digest[2:]]
