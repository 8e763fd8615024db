"""The contract every :class:`~conveyor.store.artifacts.ArtifactStore` keeps, as a pytest suite.

Subclass it in a test module, provide an ``artifact_store`` fixture that yields a fresh, empty store per
test, and implement :meth:`ArtifactStoreContract.corrupt` (how to change a stored blob's bytes behind the
store's back is the one thing only the backend knows)::

    class TestMyArtifacts(ArtifactStoreContract):
        def corrupt(self, store, digest):
            store.client.put_object(key_for(digest), b"garbage")
"""

from __future__ import annotations

import os
import re

import pytest

from conveyor.core.errors import IntegrityError, NotFoundError
from conveyor.store.artifacts import ArtifactStore
from conveyor.store.hashing import digest_bytes

__all__ = ["ArtifactStoreContract"]

_DIGEST = re.compile(r"[0-9a-f]{64}")


class ArtifactStoreContract:
    """Subclass with an ``artifact_store`` fixture and a :meth:`corrupt` hook."""

    def corrupt(self, store: ArtifactStore, digest: str) -> None:
        """Replace the bytes stored under ``digest`` with different bytes, bypassing the store."""
        raise NotImplementedError(f"{type(self).__name__} must implement corrupt(store, digest)")

    def test_put_get_round_trip(self, artifact_store: ArtifactStore) -> None:
        data = b"some model bytes \x00\xff"
        digest = artifact_store.put_bytes(data)
        assert digest == digest_bytes(data)
        assert artifact_store.exists(digest)
        assert artifact_store.get_bytes(digest) == data

    def test_same_bytes_stored_once(self, artifact_store: ArtifactStore) -> None:
        first = artifact_store.put_bytes(b"twice")
        second = artifact_store.put_bytes(b"twice")
        other = artifact_store.put_bytes(b"once")
        assert first == second
        assert artifact_store.digests() == sorted([first, other])

    def test_empty_bytes(self, artifact_store: ArtifactStore) -> None:
        digest = artifact_store.put_bytes(b"")
        assert artifact_store.get_bytes(digest) == b""
        assert artifact_store.digests() == [digest]

    def test_large_blob(self, artifact_store: ArtifactStore) -> None:
        data = os.urandom(5 * 1024 * 1024)
        digest = artifact_store.put_bytes(data)
        assert artifact_store.get_bytes(digest) == data

    def test_unknown_digest(self, artifact_store: ArtifactStore) -> None:
        assert artifact_store.digests() == []
        missing = digest_bytes(b"never stored")
        assert not artifact_store.exists(missing)
        with pytest.raises(NotFoundError, match=missing[:12]):
            artifact_store.get_bytes(missing)

    def test_corrupt_blob(self, artifact_store: ArtifactStore) -> None:
        digest = artifact_store.put_bytes(b"precious weights")
        self.corrupt(artifact_store, digest)
        with pytest.raises(IntegrityError, match=f"{digest[:12]} is corrupt"):
            artifact_store.get_bytes(digest)

    def test_digests_lists_only_whole_blobs(self, artifact_store: ArtifactStore) -> None:
        stored = {artifact_store.put_bytes(f"blob {i}".encode()) for i in range(20)}
        listed = artifact_store.digests()
        assert listed == sorted(stored)
        assert all(_DIGEST.fullmatch(d) for d in listed)  # no temporary files, no partial names

    def test_put_file_streams_a_file_in(self, artifact_store: ArtifactStore, tmp_path) -> None:
        data = os.urandom(3 * 1024 * 1024)
        path = tmp_path / "blob.bin"
        path.write_bytes(data)
        digest = artifact_store.put_file(path)
        assert digest == digest_bytes(data) and artifact_store.get_bytes(digest) == data
        assert artifact_store.put_file(path, digest) == digest  # a known digest: stored once
        assert artifact_store.digests() == [digest]
        empty = tmp_path / "empty.bin"
        empty.write_bytes(b"")
        assert artifact_store.get_bytes(artifact_store.put_file(empty)) == b""

    def test_put_new_file_hashes_while_it_stores(self, artifact_store: ArtifactStore, tmp_path) -> None:
        """``put_new_file`` (a file probably not stored yet): the same digest and blob as ``put_file``; a file
        stored already keeps one blob, and nothing temporary is left behind."""
        data = os.urandom(3 * 1024 * 1024 + 17)
        path = tmp_path / "new.bin"
        path.write_bytes(data)
        digest = artifact_store.put_new_file(path)
        assert digest == digest_bytes(data) and artifact_store.get_bytes(digest) == data
        assert artifact_store.put_new_file(path) == digest
        empty = tmp_path / "empty.bin"
        empty.write_bytes(b"")
        nothing = artifact_store.put_new_file(empty)
        assert artifact_store.get_bytes(nothing) == b""
        assert artifact_store.digests() == sorted([digest, nothing])

    def test_a_blob_written_in_pieces(self, artifact_store: ArtifactStore) -> None:
        """``blob_writer``: the pieces joined are the blob (the digest ``put_bytes`` gives), bytes stored already
        keep one blob, an aborted writer stores nothing, and nothing temporary is left behind."""
        pieces = [os.urandom(n) for n in (1, 0, 5000, 70_000)] * 300  # 1,200 pieces, some empty
        writer = artifact_store.blob_writer()
        writer.write(pieces[:7])
        writer.write(pieces[7:])
        digest = writer.commit()
        assert digest == digest_bytes(b"".join(pieces)) and artifact_store.get_bytes(digest) == b"".join(pieces)
        again = artifact_store.blob_writer()
        again.write([b"".join(pieces)])
        assert again.commit() == digest
        dropped = artifact_store.blob_writer()
        dropped.write([b"never stored"])
        dropped.abort()
        assert not artifact_store.exists(digest_bytes(b"never stored"))
        assert artifact_store.digests() == [digest]
