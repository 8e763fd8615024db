"""The artifact store contract on every backend, plus crash safety of local writes."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from conveyor.core.errors import BadInputError, NotFoundError
from conveyor.store import open_artifact_store
from conveyor.store.artifacts import ArtifactStore, FsspecArtifactStore, InMemoryArtifactStore
from conveyor.store.hashing import digest_bytes
from conveyor.testing.artifact_contract import ArtifactStoreContract


class TestInMemoryArtifacts(ArtifactStoreContract):
    @pytest.fixture
    def artifact_store(self) -> InMemoryArtifactStore:
        return InMemoryArtifactStore()

    def corrupt(self, store: ArtifactStore, digest: str) -> None:
        assert isinstance(store, InMemoryArtifactStore)
        store._blobs[digest] = b"bit rot"


class TestLocalFsspecArtifacts(ArtifactStoreContract):
    @pytest.fixture
    def artifact_store(self, tmp_path: Path) -> FsspecArtifactStore:
        return FsspecArtifactStore(str(tmp_path / "artifacts"))

    def corrupt(self, store: ArtifactStore, digest: str) -> None:
        assert isinstance(store, FsspecArtifactStore)
        Path(store._path(digest)).write_bytes(b"bit rot")


class TestMemoryFsspecArtifacts(ArtifactStoreContract):
    """fsspec's in-memory filesystem: the object-store code path (no rename) without a network."""

    @pytest.fixture
    def artifact_store(self) -> Iterator[FsspecArtifactStore]:
        store = FsspecArtifactStore(f"memory://conveyor-test-{uuid.uuid4().hex}")
        yield store
        store.fs.rm(store.root, recursive=True)

    def corrupt(self, store: ArtifactStore, digest: str) -> None:
        assert isinstance(store, FsspecArtifactStore)
        store.fs.pipe_file(store._path(digest), b"bit rot")


def test_open_artifact_store_by_url(tmp_path: Path) -> None:
    assert isinstance(open_artifact_store("memory://"), InMemoryArtifactStore)
    assert isinstance(open_artifact_store(str(tmp_path)), FsspecArtifactStore)
    assert isinstance(open_artifact_store(f"file://{tmp_path}"), FsspecArtifactStore)


def test_temporary_files_are_not_listed(tmp_path: Path) -> None:
    store = FsspecArtifactStore(str(tmp_path))
    digest = store.put_bytes(b"kept")
    (tmp_path / digest[:2] / f".tmp-{uuid.uuid4().hex}").write_bytes(b"half a blo")
    (tmp_path / "ab").mkdir(exist_ok=True)
    (tmp_path / "ab" / f".tmp-{uuid.uuid4().hex}").write_bytes(b"")
    assert store.digests() == [digest]


def test_crash_mid_write_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = FsspecArtifactStore(str(tmp_path))
    kept = store.put_bytes(b"written before the crash")
    data = b"never published"

    def crash(_src: object, _dst: object) -> None:
        raise OSError("simulated crash before rename")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="simulated crash"):
        store.put_bytes(data)
    monkeypatch.undo()

    digest = digest_bytes(data)
    assert not store.exists(digest)
    assert not Path(store._path(digest)).exists()
    assert store.digests() == [kept]
    assert not list(tmp_path.rglob(".tmp-*"))  # the failed write cleaned up after itself
    with pytest.raises(NotFoundError):
        store.get_bytes(digest)
    assert store.put_bytes(data) == digest  # and a retry succeeds
    assert store.get_bytes(digest) == data


def test_an_unknown_artifact_url_scheme_is_bad_input() -> None:
    with pytest.raises(BadInputError, match="Unsupported artifact store URL 'bogus://b/x'"):
        open_artifact_store("bogus://b/x")
