"""An artifact store that encrypts every object at rest, over any other artifact store.

Objects keep their content address (the BLAKE3 digest of the plaintext), so dataset versions, model versions and
lineage are the same with encryption on or off, and the same bytes are stored once. The inner store holds the sealed
object under the digest and its wrapped data key under ``<digest>.key`` (see :mod:`conveyor.store.encryption`).

Objects written before encryption was turned on have no key record: they are read as they are (their digest is
still checked) until ``conveyor encryption rotate`` encrypts them.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from dataclasses import dataclass

from conveyor.core.errors import NotFoundError
from conveyor.store.artifacts import ArtifactStore
from conveyor.store.encryption import CHUNK, Keyring, decrypt_object, encrypt_chunks, is_sealed

__all__ = ["EncryptedArtifactStore", "RotationReport"]

_DIGEST = re.compile(r"[0-9a-f]{64}")
KEY_SUFFIX = ".key"


@dataclass(frozen=True)
class RotationReport:
    rewrapped: int
    encrypted: int
    current_key: str

    def as_dict(self) -> dict[str, object]:
        return {"rewrapped": self.rewrapped, "encrypted": self.encrypted, "current_key": self.current_key}


class EncryptedArtifactStore(ArtifactStore):
    """Wraps ``inner``: what it stores is ciphertext; what callers get back is the plaintext, checked twice (the
    AES-GCM tags and the content digest)."""

    encrypting = True

    def __init__(self, inner: ArtifactStore, keyring: Keyring, *, chunk: int = CHUNK) -> None:
        self.inner, self.keyring, self.chunk = inner, keyring, chunk
        self.url = inner.url

    def _seal(self, digest: str, source: bytes) -> tuple[bytes, list[bytes]]:
        data_key = os.urandom(32)
        return self.keyring.wrap(data_key, digest), list(encrypt_chunks(data_key, digest, source, self.chunk))

    def _write(self, digest: str, data: bytes) -> None:
        record, pieces = self._seal(digest, data)
        self.inner._write(digest + KEY_SUFFIX, record)  # the key first: a sealed object never lacks its key
        self.inner._write(digest, b"".join(pieces))

    def _write_file(self, digest: str, path: str | os.PathLike[str]) -> None:
        data_key = os.urandom(32)
        record = self.keyring.wrap(data_key, digest)
        handle, sealed = tempfile.mkstemp(prefix="conveyor-sealed-")  # ciphertext only: any temporary folder will do
        try:
            with os.fdopen(handle, "wb") as out, open(path, "rb") as source:
                for piece in encrypt_chunks(data_key, digest, source, self.chunk):
                    out.write(piece)
            self.inner._write(digest + KEY_SUFFIX, record)
            self.inner._write_file(digest, sealed)
        finally:
            with contextlib.suppress(OSError):
                os.remove(sealed)

    def _read(self, digest: str) -> bytes:
        stored = self.inner._read(digest)
        try:
            record = self.inner._read(digest + KEY_SUFFIX)
        except FileNotFoundError:
            return stored  # written before encryption was on: the digest check in get_bytes still guards it
        return decrypt_object(self.keyring.unwrap(record, digest), digest, stored)

    def exists(self, digest: str) -> bool:
        return self.inner.exists(digest)

    def digests(self) -> list[str]:
        return [d for d in self.inner.digests() if _DIGEST.fullmatch(d)]

    def _remove(self, name: str) -> int:
        # the data key first: without it the sealed bytes are unreadable even if deleting them fails
        return self.inner._remove(name + KEY_SUFFIX) + self.inner._remove(name)

    def _modified(self, name: str) -> float | None:
        return self.inner._modified(name)

    def stored(self) -> ArtifactStore:
        return self.inner

    def destroy_key(self, digest: str) -> int:
        """Delete an object's data key only (crypto-shredding): its sealed bytes can never be read again."""
        return self.inner._remove(digest + KEY_SUFFIX)

    def sealed_bytes(self, digest: str) -> bytes:
        """What the inner store holds for ``digest`` (for tests and audits)."""
        try:
            return self.inner._read(digest)
        except FileNotFoundError:
            raise NotFoundError(f"Artifact {digest[:12]} is not in the artifact store at {self.url}.") from None

    def rotate(self) -> RotationReport:
        """Re-wrap every data key under the current key (the data is not rewritten) and encrypt any object stored
        before encryption was on. The keyring must still hold the keys the records were wrapped with."""
        rewrapped = encrypted = 0
        for digest in self.digests():
            try:
                record = self.inner._read(digest + KEY_SUFFIX)
            except FileNotFoundError:
                stored = self.inner._read(digest)
                if not is_sealed(stored):
                    self.get_bytes(digest)  # the digest check before the plaintext is sealed for good
                    self._write(digest, stored)
                    encrypted += 1
                continue
            if self.keyring.needs_rewrap(record):
                data_key = self.keyring.unwrap(record, digest)
                self.inner._write(digest + KEY_SUFFIX, self.keyring.wrap(data_key, digest))
                rewrapped += 1
        return RotationReport(rewrapped, encrypted, self.keyring.current_id)
