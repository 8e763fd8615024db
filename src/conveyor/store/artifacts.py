"""Artifact stores: immutable blobs addressed by the BLAKE3 hash of their bytes.

Contract (``conveyor.testing.artifact_contract`` checks it on every implementation):

* ``put_bytes`` returns the hex digest; putting the same bytes twice stores them once.
* Writes are atomic: a blob is written to a temporary name and renamed, so a crash leaves either the
  whole blob or nothing under its digest.
* ``get_bytes`` verifies the digest and raises :class:`IntegrityError` on a mismatch, and
  :class:`NotFoundError` for an unknown digest.
"""

from __future__ import annotations

import abc
import os
import threading
from typing import Protocol

from conveyor.core.errors import BadInputError, IntegrityError, NotFoundError
from conveyor.store.copying import copy_in_hashing, publish_bytes, publish_copy
from conveyor.store.hashing import digest_bytes, digest_file

# The first bytes of an object sealed by encryption at rest (conveyor.store.encryption.MAGIC, not imported here so
# that a plain store never loads the cryptography package).
SEALED_MAGIC = b"CVE1"


class ArtifactStore(abc.ABC):
    url: str
    encrypting = False  # True for a store that decrypts what it reads (EncryptedArtifactStore)

    @abc.abstractmethod
    def _write(self, digest: str, data: bytes) -> None:
        """Store ``data`` under ``digest`` atomically."""

    @abc.abstractmethod
    def _read(self, digest: str) -> bytes:
        """The bytes under ``digest``; raise ``FileNotFoundError`` if absent."""

    @abc.abstractmethod
    def exists(self, digest: str) -> bool: ...

    @abc.abstractmethod
    def digests(self) -> list[str]:
        """Every digest stored (for integrity checks and garbage collection)."""

    def _remove(self, name: str) -> int:
        """Remove what is stored under ``name``; the bytes freed (0 when absent)."""
        raise NotImplementedError(f"{type(self).__name__} cannot delete")

    def _modified(self, name: str) -> float | None:
        """When ``name`` was written (epoch seconds), None when the backend cannot tell."""
        return None

    def delete(self, digest: str) -> int:
        """Remove an object (garbage collection, erasure); the bytes freed."""
        return self._remove(digest)

    def modified(self, digest: str) -> float | None:
        return self._modified(digest)

    def stored(self) -> ArtifactStore:
        """The store that holds the bytes as they are at rest (an encrypting wrapper answers its inner store):
        backups and archives copy these, so they stay encrypted."""
        return self

    def put_bytes(self, data: bytes) -> str:
        digest = digest_bytes(data)
        if not self.exists(digest):
            self._write(digest, data)
        return digest

    def get_bytes(self, digest: str) -> bytes:
        try:
            data = self._read(digest)
        except FileNotFoundError:
            raise NotFoundError(
                f"Artifact {digest[:12]} is not in the artifact store at {self.url}.",
                hint="The store may have been moved or pruned; check CONVEYOR_ARTIFACTS.",
            ) from None
        actual = digest_bytes(data)
        if actual != digest:
            if data[:4] == SEALED_MAGIC and not self.encrypting:
                raise BadInputError(
                    f"Artifact {digest[:12]} is encrypted at rest, and no encryption key is set.",
                    field="CONVEYOR_ENCRYPTION_KEY",
                    hint="Set CONVEYOR_ENCRYPTION_KEY (or security.encryption.key_file or .hook in conveyor.yaml) "
                         "to the key this project was encrypted with.",
                )
            if data[:4] == SEALED_MAGIC:
                raise IntegrityError(
                    f"Artifact {digest[:12]} is corrupt: it is encrypted, but its key record is missing.",
                    hint="Restore the object and its .key record from a backup.",
                )
            raise IntegrityError(
                f"Artifact {digest[:12]} is corrupt: its bytes hash to {actual[:12]}.",
                hint="Restore it from a backup or re-create the object that wrote it.",
            )
        return data

    def blob_writer(self) -> PiecewiseBlob:
        """A blob to write in pieces (see :class:`BlobWriter`); a local folder streams them to disk as they come."""
        return BlobWriter(self)

    def put_file(self, path: str | os.PathLike[str], digest: str | None = None) -> str:
        """Store a file's bytes (same contract as ``put_bytes``) without holding them in memory where the
        backend allows: a large dataset version is streamed to a temporary file and handed over here. A caller
        that hashed the bytes while writing them passes ``digest`` and saves reading the file again."""
        digest = digest or digest_file(path)
        if not self.exists(digest):
            self._write_file(digest, path)
        return digest

    def put_new_file(self, path: str | os.PathLike[str]) -> str:
        """``put_file`` for a file whose bytes are probably not stored yet: a local folder copies it while hashing
        it (no second pass over the bytes); an unchanged file costs that copy, so callers that expect the bytes to
        be stored already (the same size as before) call ``put_file``, which hashes first."""
        return self.put_file(path)

    def _write_file(self, digest: str, path: str | os.PathLike[str]) -> None:
        with open(path, "rb") as handle:
            self._write(digest, handle.read())


class PiecewiseBlob(Protocol):
    """What ``ArtifactStore.blob_writer`` hands out: :class:`BlobWriter` or a backend's streaming writer."""

    def write(self, parts: list[bytes]) -> None: ...

    def commit(self) -> str: ...

    def abort(self) -> None: ...


class BlobWriter:
    """A blob written in pieces: ``write`` lists of bytes any number of times, then ``commit`` stores their
    concatenation (the ``put_bytes`` contract) and returns its digest, or ``abort`` drops them. This default keeps the
    pieces in memory until ``commit``; :class:`~conveyor.store.copying.StreamedBlob` (a local folder) writes them
    to a temporary file as they come and renames it at the end."""

    def __init__(self, store: ArtifactStore) -> None:
        self.store = store
        self.parts: list[bytes] = []

    def write(self, parts: list[bytes]) -> None:
        self.parts.extend(parts)

    def commit(self) -> str:
        data, self.parts = b"".join(self.parts), []
        return self.store.put_bytes(data)

    def abort(self) -> None:
        self.parts = []


class InMemoryArtifactStore(ArtifactStore):
    def __init__(self) -> None:
        self.url = "memory://"
        self._blobs: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def _write(self, digest: str, data: bytes) -> None:
        with self._lock:
            self._blobs[digest] = bytes(data)

    def _read(self, digest: str) -> bytes:
        try:
            return self._blobs[digest]
        except KeyError:
            raise FileNotFoundError(digest) from None

    def exists(self, digest: str) -> bool:
        return digest in self._blobs

    def digests(self) -> list[str]:
        return sorted(self._blobs)

    def _remove(self, name: str) -> int:
        with self._lock:
            return len(self._blobs.pop(name, b""))


class FsspecArtifactStore(ArtifactStore):
    """Any fsspec URL: a local folder by default, ``s3://bucket/prefix`` with the ``s3`` extra.

    Blobs live at ``<root>/<d[:2]>/<d[2:]>``; temporary files start with ``.tmp-`` and are ignored.
    """

    def __init__(self, url: str) -> None:
        import fsspec  # here: `conveyor data add` on a local folder uses LocalArtifactStore and never imports it

        self.url = url
        self.fs, self.root = fsspec.core.url_to_fs(url)
        self._local = "file" in (self.fs.protocol if isinstance(self.fs.protocol, tuple) else (self.fs.protocol,))
        self.fs.makedirs(self.root, exist_ok=True)

    def _path(self, digest: str) -> str:
        return f"{self.root}/{digest[:2]}/{digest[2:]}"

    def _write(self, digest: str, data: bytes) -> None:
        final = self._path(digest)
        if self._local:
            publish_bytes(final, data)
            return
        self.fs.makedirs(final.rsplit("/", 1)[0], exist_ok=True)
        # Object stores publish a whole object at once on close; no rename needed.
        with self.fs.open(final, "wb") as handle:
            handle.write(data)

    def _read(self, digest: str) -> bytes:
        with self.fs.open(self._path(digest), "rb") as handle:
            data: bytes = handle.read()
        return data

    def exists(self, digest: str) -> bool:
        return bool(self.fs.exists(self._path(digest)))

    def digests(self) -> list[str]:
        found = []
        for path in self.fs.find(self.root):
            prefix, _, rest = path[len(self.root) :].strip("/").partition("/")
            if rest and not rest.startswith(".tmp-"):
                found.append(prefix + rest)
        return sorted(found)

    def _remove(self, name: str) -> int:
        path = self._path(name)
        try:
            size = int(self.fs.size(path) or 0)
            self.fs.rm_file(path)
        except FileNotFoundError:
            return 0
        return size

    def _modified(self, name: str) -> float | None:
        try:
            return float(self.fs.modified(self._path(name)).timestamp())
        except (FileNotFoundError, NotImplementedError, AttributeError):
            return None

    def put_new_file(self, path: str | os.PathLike[str]) -> str:
        if not self._local:
            return self.put_file(path)
        return copy_in_hashing(path, self.root, self._path, self.exists)

    def _write_file(self, digest: str, path: str | os.PathLike[str]) -> None:
        final = self._path(digest)
        if self._local:
            publish_copy(final, path)
            return
        self.fs.makedirs(final.rsplit("/", 1)[0], exist_ok=True)
        self.fs.put_file(os.fspath(path), final)
