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
