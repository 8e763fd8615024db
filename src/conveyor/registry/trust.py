"""Untrusted model artifacts: a pickle that arrived through `conveyor models import` without ``--trust`` is stored as
it came (never unpickled) and marked ``untrusted`` in the version's meta; it loads only after
`conveyor models trust M:N` recorded, in the audit trail, who trusted exactly which bytes (their BLAKE3 digest). A
trust row for other bytes does not count, so swapping the artifact afterwards makes the version unloadable again."""

from __future__ import annotations

from typing import Any

from conveyor.core.entities import ModelVersion
from conveyor.core.errors import BadInputError, PermissionDeniedError
from conveyor.store import Stores
from conveyor.store.hashing import digest_bytes

__all__ = ["check_loadable", "is_trusted", "trust_model"]


def _trust_rows(stores: Stores, version: ModelVersion) -> list[dict[str, Any]]:
    return [e.details for e in stores.registry.audit_log() if e.action == "trust" and e.subject == version.ref]


def is_trusted(stores: Stores, version: ModelVersion) -> bool:
    """An untrusted version's bytes were trusted by someone (the audit trail has a trust row for this digest)."""
    return any(d.get("artifact") == version.artifact for d in _trust_rows(stores, version))


def check_loadable(stores: Stores, version: ModelVersion) -> None:
    """Refuse, before any byte is read, to load an untrusted pickle nobody trusted."""
    if version.meta.get("untrusted") and not is_trusted(stores, version):
        raise PermissionDeniedError(
            f"{version.ref} is a pickle imported without --trust; loading it could run any code it holds.",
            field="model", hint=f"Check where it came from, then run `conveyor models trust {version.ref}` (an "
                                "approver's decision, recorded in the audit trail).")


def trust_model(stores: Stores, version: ModelVersion, *, actor: str, reason: str = "") -> dict[str, Any]:
    """Record that ``actor`` trusts this version's exact bytes (digest recomputed from the bytes read now)."""
    if not version.meta.get("untrusted"):
        raise BadInputError(f"{version.ref} was not imported untrusted: it loads already.", field="model")
    data = stores.artifacts.get_bytes(version.artifact)  # checks the bytes against their digest
    details = {"artifact": version.artifact, "blake3": digest_bytes(data), "bytes": len(data),
               "source_blake3": version.meta.get("source_blake3"), "reason": reason}
    if not is_trusted(stores, version):
        stores.registry.append_audit(actor, "trust", version.ref, details)
    return details
