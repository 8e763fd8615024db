"""The hash chain that makes the audit trail tamper-evident, its key and its signed anchor.

Each row hashes its content and the previous row's hash. Without a key that is a plain BLAKE3, which anyone who can
write to the database can recompute after editing a row; with ``security.audit.key_file`` each row's hash is an
HMAC-SHA256 under that key (kept outside the database), and the row says so (``keyed``). Once a keyed row exists an
unkeyed row after it is refused: the trail cannot be rewritten without the key.

Deleting the newest rows leaves a valid shorter chain; the anchor finds that. With ``security.audit.signing_key_file``
and ``security.audit.anchor`` the chain's head (sequence number and hash) is signed with Ed25519 and written to the
anchor file on every write (and by `conveyor audit anchor`); verification checks the signature with the public half
of the signing key and that the trail still holds that row with that hash.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from conveyor.core.entities import AuditEntry, now
from conveyor.core.errors import BadInputError, IntegrityError
from conveyor.store.hashing import digest_bytes

__all__ = ["GENESIS", "MIN_KEY_BYTES", "AuditSealing", "AuditVerdict", "chain_hash", "chained_entry", "verify_chain",
           "write_keys"]

GENESIS = "0" * 64
MIN_KEY_BYTES = 32
RESTORE = "Restore the store from a backup, and find out who wrote to the database directly."


def chain_hash(prev_hash: str, seq: int, at: float, actor: str, action: str, subject: str,
               details: dict[str, Any], key: bytes | None = None) -> str:
    body = json.dumps(
        [prev_hash, seq, round(at, 6), actor, action, subject, details],
        sort_keys=True, separators=(",", ":"), default=str,
    ).encode()
    return hmac.new(key, body, hashlib.sha256).hexdigest() if key else digest_bytes(body)


def chained_entry(prev_hash: str, seq: int, actor: str, action: str, subject: str, details: dict[str, Any],
                  at: float | None = None, key: bytes | None = None) -> AuditEntry:
    """The audit row that follows the row hashed ``prev_hash`` (GENESIS for the first) as number ``seq``; with
    ``key``, its hash is an HMAC under it."""
    at = round(now() if at is None else at, 6)
    return AuditEntry(seq, at, actor, action, subject, details, prev_hash,
                      chain_hash(prev_hash, seq, at, actor, action, subject, details, key), keyed=key is not None)


@dataclass(frozen=True)
class AuditVerdict:
    """What a verification found: ``rows`` checked, of which ``keyed`` carry an HMAC, and the ``anchored`` row."""

    rows: int
    keyed: int = 0
    anchored: int | None = None


def _row(entry: AuditEntry) -> str:
    return f"Audit row {entry.seq} ({entry.action} {entry.subject})"


def verify_chain(entries: list[AuditEntry], key: bytes | None = None) -> int:
    """Recompute the chain over ``entries`` (in sequence order); return their number, or raise IntegrityError at
    the first row that was altered, follows a deleted one, or drops the key."""
    return verify_entries(entries, key).rows


def verify_entries(entries: list[AuditEntry], key: bytes | None = None) -> AuditVerdict:
    prev, expected_seq, keyed = GENESIS, 1, 0
    for entry in entries:
        if entry.seq != expected_seq:
            raise IntegrityError(f"Audit trail is missing row {expected_seq} (next row is {entry.seq}).",
                                 hint="Rows were deleted; restore the store from a backup.")
        if entry.keyed and key is None:
            raise IntegrityError(f"{_row(entry)} is keyed, but no key is configured to check it.",
                                 field="security.audit.key_file", hint="Set security.audit.key_file in conveyor.yaml.")
        if not entry.keyed and keyed:
            raise IntegrityError(f"{_row(entry)} has no keyed hash, but follows keyed rows: the trail was rewritten "
                                 "without the key.", hint=RESTORE)
        try:
            expected = chain_hash(prev, entry.seq, entry.at, entry.actor, entry.action, entry.subject, entry.details,
                                  key if entry.keyed else None)
        except (TypeError, ValueError) as exc:
            raise IntegrityError(f"Audit row {entry.seq} cannot be read: {exc}.", hint=RESTORE) from None
        if entry.prev_hash != prev or not hmac.compare_digest(entry.hash, expected):
            raise IntegrityError(f"{_row(entry)} was altered.",
                                 hint="Its hash no longer matches its content; restore from a backup.")
        prev, expected_seq, keyed = entry.hash, expected_seq + 1, keyed + entry.keyed
    return AuditVerdict(expected_seq - 1, keyed)


def _anchor_body(seq: int, head: str, at: float) -> bytes:
    return json.dumps({"seq": seq, "hash": head, "at": at}, sort_keys=True, separators=(",", ":")).encode()


@dataclass(frozen=True)
class AuditSealing:
    """The audit trail's key and anchor (from ``security.audit``); the default seals nothing."""

    key: bytes | None = None
    signing_key: Ed25519PrivateKey | None = None
    anchor: Path | None = None

    @classmethod
    def from_files(cls, key_file: str | Path | None = None, signing_key_file: str | Path | None = None,
                   anchor: str | Path | None = None) -> AuditSealing:
        """Read the keys; a missing or weak key is BadInputError naming its setting."""
        key = signing = None
        if key_file:
            key = _read(key_file, "security.audit.key_file")
            if len(key.strip()) < MIN_KEY_BYTES:
                raise BadInputError(f"The audit key in {key_file} is shorter than {MIN_KEY_BYTES} bytes.",
                                    field="security.audit.key_file", hint="Make one with `conveyor audit keygen`.")
            key = key.strip()
        if signing_key_file:
            raw = _read(signing_key_file, "security.audit.signing_key_file")
            try:
                loaded = serialization.load_pem_private_key(raw, password=None)
            except (ValueError, TypeError):
                loaded = None
            if not isinstance(loaded, Ed25519PrivateKey):
                raise BadInputError(f"{signing_key_file} is not an Ed25519 private key in PEM.",
                                    field="security.audit.signing_key_file",
                                    hint="Make one with `conveyor audit keygen`.")
            signing = loaded
        if anchor and signing is None:
            raise BadInputError("security.audit.anchor needs security.audit.signing_key_file: an unsigned anchor "
                                "could be rewritten with the trail.", field="security.audit.anchor",
                                hint="Set signing_key_file (make one with `conveyor audit keygen`).")
        return cls(key, signing, Path(anchor) if anchor else None)

    @property
    def public_key(self) -> Ed25519PublicKey | None:
        return None if self.signing_key is None else self.signing_key.public_key()

    def seal(self, entry: AuditEntry) -> None:
        """Sign ``entry`` as the chain's head and write it to the anchor file (unless it holds a newer head)."""
        if self.signing_key is None or self.anchor is None:
            return
        current = self.read_anchor(check=False)
        if current is not None and current.get("seq", 0) >= entry.seq:
            return
        body = _anchor_body(entry.seq, entry.hash, entry.at)
        doc = {"seq": entry.seq, "hash": entry.hash, "at": entry.at,
               "signature": self.signing_key.sign(body).hex(),
               "public_key": self.signing_key.public_key().public_bytes(
                   serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()}
        self.anchor.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.anchor.with_name(f".{self.anchor.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(doc, indent=2) + "\n")
        tmp.replace(self.anchor)

    def read_anchor(self, *, check: bool = True) -> dict[str, Any] | None:
        """The anchor file's content (None when there is none); with ``check``, its signature verified."""
        if self.anchor is None or not self.anchor.exists():
            return None
        try:
            doc = json.loads(self.anchor.read_text())
            body = _anchor_body(int(doc["seq"]), str(doc["hash"]), float(doc["at"]))
            signature = bytes.fromhex(doc["signature"])
        except (ValueError, KeyError, TypeError, OSError) as exc:
            if not check:
                return None
            raise IntegrityError(f"The audit anchor {self.anchor} cannot be read: {exc}.", hint=RESTORE) from None
        if check:
            public = self.public_key
            assert public is not None
            try:
                public.verify(signature, body)
            except InvalidSignature:
                raise IntegrityError(f"The audit anchor {self.anchor} is not signed by the configured signing key.",
                                     hint="It was forged or replaced; restore it and the store from a backup.") \
                    from None
        return dict(doc)

    def verify(self, entries: list[AuditEntry]) -> AuditVerdict:
        """The chain (with the key) and, with an anchor, that the trail still holds the signed head."""
        verdict = verify_entries(entries, self.key)
        if self.anchor is None:
            return verdict
        doc = self.read_anchor()
        if doc is None:
            if not entries:
                return verdict
            raise IntegrityError(f"The audit anchor {self.anchor} is missing.", field="security.audit.anchor",
                                 hint="Restore it from where it is kept; if the anchor was only just configured, "
                                      "write the first one with `conveyor audit anchor`.")
        seq = int(doc["seq"])
        if seq > len(entries):
            raise IntegrityError(f"The audit trail ends at row {len(entries)}, but the signed anchor records row "
                                 f"{seq}: the newest rows were removed.", hint=RESTORE)
        if not hmac.compare_digest(entries[seq - 1].hash, str(doc["hash"])):
            raise IntegrityError(f"{_row(entries[seq - 1])} does not match the signed anchor: the trail was "
                                 "rewritten.", hint=RESTORE)
        return AuditVerdict(verdict.rows, verdict.keyed, seq)


def _read(path: str | Path, setting: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise BadInputError(f"Cannot read {path} ({setting}): {exc.strerror}.", field=setting,
                            hint="Check the path, or make the keys with `conveyor audit keygen`.") from None


def _new_hmac_key() -> bytes:
    return os.urandom(MIN_KEY_BYTES).hex().encode()


def _new_signing_key() -> bytes:
    return Ed25519PrivateKey.generate().private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                      serialization.NoEncryption())


def write_keys(key_file: str | Path | None, signing_key_file: str | Path | None) -> list[Path]:
    """Write a new HMAC key and/or Ed25519 signing key (mode 0600); an existing file is never overwritten."""
    written: list[Path] = []
    makers: tuple[tuple[str | Path | None, Callable[[], bytes]], ...] = (
        (key_file, _new_hmac_key), (signing_key_file, _new_signing_key))
    for path, make in makers:
        if not path:
            continue
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            raise BadInputError(f"{target} exists; a key is never overwritten (rows signed with it would no longer "
                                "verify).", field="file", hint="Pick another path or remove it yourself.") from None
        with os.fdopen(fd, "wb") as out:
            out.write(make())
        written.append(target)
    return written
