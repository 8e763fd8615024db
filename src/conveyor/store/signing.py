"""Optional signing of model artifacts with an Ed25519 key pair (works offline).

With ``security.models.signing_key_file`` every registered version carries, in its meta, a signature over its
artifact digest and flavor (``meta["artifact_signature"]``: the signature and the key's fingerprint). With
``security.models.public_key_file`` (or the signing key, whose public half is used) a version is verified before its
bytes are loaded (load, serve) and before it is promoted: a missing signature, one by another key, or one over other
bytes is refused. The key lives outside the store, so one who can write to the database cannot sign.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from conveyor.core.errors import BadInputError, IntegrityError

__all__ = ["ModelSigning"]

META_KEY = "artifact_signature"


def _message(artifact: str, flavor: str) -> bytes:
    return f"conveyor-model-artifact-v1\n{artifact}\n{flavor}".encode()


def _fingerprint(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def _read_key(path: str | Path, setting: str) -> Any:
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise BadInputError(f"Cannot read {path} ({setting}): {exc.strerror}.", field=setting,
                            hint="Make a key with `conveyor audit keygen --signing-key-file PATH`.") from None
    for load in (lambda: serialization.load_pem_private_key(raw, password=None),
                 lambda: serialization.load_pem_public_key(raw)):
        try:
            key = load()
        except (ValueError, TypeError):
            continue
        if isinstance(key, Ed25519PrivateKey | Ed25519PublicKey):
            return key
    raise BadInputError(f"{path} is not an Ed25519 key in PEM.", field=setting,
                        hint="Make one with `conveyor audit keygen --signing-key-file PATH`.")


@dataclass(frozen=True)
class ModelSigning:
    """The model signing key and/or the key that verifies; the default signs and checks nothing."""

    private: Ed25519PrivateKey | None = None
    public: Ed25519PublicKey | None = None

    @classmethod
    def from_files(cls, signing_key_file: str | Path | None = None,
                   public_key_file: str | Path | None = None) -> ModelSigning:
        private = None
        if signing_key_file:
            private = _read_key(signing_key_file, "security.models.signing_key_file")
            if not isinstance(private, Ed25519PrivateKey):
                raise BadInputError(f"{signing_key_file} holds a public key; signing needs the private key.",
                                    field="security.models.signing_key_file")
        public = None
        if public_key_file:
            key = _read_key(public_key_file, "security.models.public_key_file")
            public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
        elif private is not None:
            public = private.public_key()
        return cls(private, public)

    def sign(self, artifact: str, flavor: str) -> dict[str, str] | None:
        """The signature to keep in a new version's meta (None without a signing key)."""
        if self.private is None:
            return None
        return {"signature": self.private.sign(_message(artifact, flavor)).hex(),
                "key": _fingerprint(self.private.public_key())}

    def verify(self, ref: str, artifact: str, flavor: str, meta: dict[str, Any]) -> None:
        """Raise IntegrityError unless the version is signed by the verifying key over this artifact and flavor."""
        if self.public is None:
            return
        signed = meta.get(META_KEY)
        if not isinstance(signed, dict) or "signature" not in signed:
            raise IntegrityError(f"{ref} carries no artifact signature, and security.models requires one.",
                                 field="model", hint="Register it again where the signing key is configured.")
        try:
            self.public.verify(bytes.fromhex(str(signed["signature"])), _message(artifact, flavor))
        except (InvalidSignature, ValueError):
            raise IntegrityError(f"{ref}'s artifact signature does not verify with the configured key (key "
                                 f"{_fingerprint(self.public)}): its bytes or flavor changed, or another key "
                                 "signed it.", field="model",
                                 hint="Do not load it; restore the artifact or register the model again.") from None
