"""Encryption at rest: envelope encryption with AES-256-GCM (the ``cryptography`` package).

Each object gets a random 32-byte data key. The object's bytes are cut into chunks of :data:`CHUNK` bytes, each
sealed with that key under the associated data ``object id | chunk index | last-chunk flag``, so a chunk moved to
another place, another object, a dropped tail or an edited byte fails authentication. The data key itself is
wrapped (AES-GCM again) by a key-encryption key (KEK) and stored beside the object as a small key record; key
rotation re-wraps those records under the new KEK and never rewrites the data.

Where the KEK comes from (:func:`load_keyring`): ``CONVEYOR_ENCRYPTION_KEY`` (base64 of 32 bytes; several, comma
separated, the current one first), else ``security.encryption.key_file`` (one base64 key a line, current first), else
``security.encryption.hook`` (``module:function`` returning a key or a list of keys, current first: a KMS or vault
client). None of them: no encryption, as before.

Sealed object layout::

    b"CVE1" | chunk size (4 bytes, big-endian) | chunk 0 | chunk 1 | ...   each chunk: ciphertext + 16-byte tag

Key record (JSON): ``{"v": 1, "kid": <key id>, "wrapped": <base64 of nonce + sealed data key>}``; the data key is
wrapped under the associated data ``conveyor-dek | object id``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import importlib
import json
import os
import struct
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from conveyor.core.errors import BadInputError, IntegrityError

__all__ = ["CHUNK", "MAGIC", "Keyring", "decrypt_object", "encrypt_chunks", "load_keyring", "new_key"]

MAGIC = b"CVE1"
CHUNK = 1024 * 1024
TAG = 16
ENV_KEY = "CONVEYOR_ENCRYPTION_KEY"
_HEADER = struct.Struct(">4sI")
_AAD = struct.Struct(">QB")


def new_key() -> str:
    """A fresh key-encryption key, as the base64 text ``CONVEYOR_ENCRYPTION_KEY`` and key files hold."""
    return base64.b64encode(os.urandom(32)).decode()


def _key_id(key: bytes) -> str:
    return hashlib.sha256(b"conveyor-kek|" + key).hexdigest()[:16]


def _decode_key(text: str | bytes, field: str) -> bytes:
    if isinstance(text, bytes) and len(text) == 32:
        return text
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 32:
        raise BadInputError(f"An encryption key in {field} is not base64 of 32 bytes.", field=field,
                            hint="Make one with: python -c \"import base64, os; "
                                 "print(base64.b64encode(os.urandom(32)).decode())\"")
    return raw


@dataclass(frozen=True)
class Keyring:
    """The current KEK (wraps new data keys) and older ones (still unwrap), by key id."""

    current: bytes
    older: tuple[bytes, ...] = ()
    source: str = ENV_KEY

    @classmethod
    def of(cls, keys: Iterable[str | bytes], source: str) -> Keyring:
        decoded = [_decode_key(k, source) for k in keys]
        if not decoded:
            raise BadInputError(f"No encryption key in {source}.", field=source,
                                hint="Put one base64 key of 32 bytes in it (the current key first).")
        return cls(decoded[0], tuple(decoded[1:]), source)

    @property
    def current_id(self) -> str:
        return _key_id(self.current)

    def _by_id(self) -> dict[str, bytes]:
        return {_key_id(k): k for k in (self.current, *self.older)}

    def wrap(self, data_key: bytes, object_id: str) -> bytes:
        nonce = os.urandom(12)
        sealed = AESGCM(self.current).encrypt(nonce, data_key, b"conveyor-dek|" + object_id.encode())
        record = {"v": 1, "kid": self.current_id, "wrapped": base64.b64encode(nonce + sealed).decode()}
        return json.dumps(record, sort_keys=True).encode()

    def unwrap(self, record: bytes, object_id: str) -> bytes:
        try:
            parsed = json.loads(record)
            kid, blob = parsed["kid"], base64.b64decode(parsed["wrapped"], validate=True)
        except (ValueError, KeyError, TypeError, binascii.Error):
            raise _corrupt(object_id, "its key record is unreadable") from None
        key = self._by_id().get(kid)
        if key is None:
            raise IntegrityError(f"Artifact {object_id[:12]} is encrypted under key {kid}, which is not among the "
                                 f"keys of {self.source}.", field=self.source,
                                 hint="Add the old key after the current one (a second line of the key file, or "
                                      "comma separated) until `conveyor encryption rotate` has re-wrapped everything.")
        try:
            return AESGCM(key).decrypt(blob[:12], blob[12:], b"conveyor-dek|" + object_id.encode())
        except InvalidTag:
            raise _corrupt(object_id, "its data key fails authentication") from None

    def needs_rewrap(self, record: bytes) -> bool:
        try:
            return bool(json.loads(record).get("kid") != self.current_id)
        except ValueError:
            return True


def _corrupt(object_id: str, why: str) -> IntegrityError:
    return IntegrityError(f"Artifact {object_id[:12]} is corrupt: {why}.",
                          hint="Restore it from a backup or re-create the object that wrote it.")


def _aad(object_id: str, index: int, last: bool) -> bytes:
    return object_id.encode() + b"|" + _AAD.pack(index, 1 if last else 0)


def _nonce(index: int) -> bytes:
    # The data key is fresh per object, so the chunk index alone keeps every (key, nonce) pair unique.
    return index.to_bytes(12, "big")


def encrypt_chunks(data_key: bytes, object_id: str, source: BinaryIO | bytes,
                   chunk: int = CHUNK) -> Iterator[bytes]:
    """The sealed object, piece by piece (header first), reading ``source`` a chunk at a time."""
    cipher = AESGCM(data_key)
    yield _HEADER.pack(MAGIC, chunk)
    if isinstance(source, bytes | bytearray | memoryview):
        view = memoryview(source)
        pieces: Iterator[bytes] = (bytes(view[i:i + chunk]) for i in range(0, max(len(view), 1), chunk))
    else:
        pieces = iter(lambda: source.read(chunk), b"")
    index, pending = 0, next(pieces, b"")
    while True:
        following = next(pieces, None)
        yield cipher.encrypt(_nonce(index), pending, _aad(object_id, index, following is None))
        if following is None:
            return
        index, pending = index + 1, following


def is_sealed(data: bytes) -> bool:
    return data[:4] == MAGIC


def decrypt_object(data_key: bytes, object_id: str, sealed: bytes) -> bytes:
    """The plaintext of a sealed object; :class:`IntegrityError` for any swapped, dropped or edited chunk."""
    if len(sealed) < _HEADER.size + TAG:
        raise _corrupt(object_id, "it is truncated")
    magic, chunk = _HEADER.unpack_from(sealed)
    if magic != MAGIC or chunk <= 0:
        raise _corrupt(object_id, "its header is not an encrypted object's")
    cipher, step = AESGCM(data_key), chunk + TAG
    body = memoryview(sealed)[_HEADER.size:]
    parts, index, offset = [], 0, 0
    while offset < len(body):
        piece = bytes(body[offset:offset + step])
        offset += len(piece)
        last = offset >= len(body)
        try:
            parts.append(cipher.decrypt(_nonce(index), piece, _aad(object_id, index, last)))
        except InvalidTag:
            raise _corrupt(object_id, f"its encrypted chunk {index} fails authentication "
                                      "(edited, moved, or the object was truncated)") from None
        index += 1
    if index == 0:
        raise _corrupt(object_id, "it is truncated")
    return b"".join(parts)


def _hook_keys(spec: str) -> list[str | bytes]:
    module, _, name = spec.partition(":")
    try:
        function = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        raise BadInputError(f"The encryption hook {spec!r} cannot be loaded: {exc}.",
                            field="security.encryption.hook",
                            hint="Name an importable function as module:function.") from None
    found = function()
    return list(found) if isinstance(found, list | tuple) else [found]


def load_keyring(root: Path, encryption: Any = None, environ: Mapping[str, str] | None = None) -> Keyring | None:
    """The project's keyring, or None when encryption at rest is off. ``encryption`` is the
    ``security.encryption`` section (``key_file``, ``hook``); ``CONVEYOR_ENCRYPTION_KEY`` wins over it."""
    environ = os.environ if environ is None else environ
    if environ.get(ENV_KEY, "").strip():
        return Keyring.of([k for k in environ[ENV_KEY].split(",") if k.strip()], ENV_KEY)
    key_file = getattr(encryption, "key_file", None)
    if key_file:
        path = Path(key_file).expanduser()
        path = path if path.is_absolute() else Path(root) / path
        field = "security.encryption.key_file"
        try:
            lines = path.read_text().split()
        except OSError as exc:
            raise BadInputError(f"Cannot read the encryption key file {path}: {exc.strerror or exc}.", field=field,
                                hint="Point security.encryption.key_file at a readable file.") from None
        return Keyring.of(lines, field)
    hook = getattr(encryption, "hook", None)
    if hook:
        return Keyring.of(_hook_keys(hook), "security.encryption.hook")
    return None
