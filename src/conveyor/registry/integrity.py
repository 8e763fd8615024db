"""Is the registry what its audit trail says? The hash chain (keyed with ``security.audit.key_file``) proves no row
was edited or removed from the middle; the signed anchor (``security.audit.anchor``) that none was removed from the
end; comparing the registry with the trail catches changes made around conveyor: a version without its register
row, a version pointed at another artifact or flavor than it was registered with, an alias moved without a row."""

from __future__ import annotations

from conveyor.core.errors import IntegrityError
from conveyor.store import Stores
from conveyor.store.audit import RESTORE, AuditVerdict


def verify_trail(stores: Stores) -> AuditVerdict:
    """The verdict on the audit trail and the registry, or IntegrityError naming the first inconsistency."""
    entries = stores.registry.audit_log()  # read once: the chain and the cross-check use the same rows
    verdict = stores.registry.sealing.verify(entries)
    registered = {e.subject: e for e in entries if e.action == "register"}
    last_move: dict[str, int | None] = {}
    for entry in entries:
        if entry.action in ("promote", "rollback"):
            last_move[entry.subject] = entry.details.get("version")
    for version in stores.registry.versions():
        row = registered.get(version.ref)
        if row is None:
            raise IntegrityError(f"Model version {version.ref} has no 'register' row in the audit trail.",
                                 hint=RESTORE)
        for field, value in (("artifact", version.artifact), ("flavor", version.flavor)):
            if field in row.details and row.details[field] != value:
                raise IntegrityError(f"Model version {version.ref} has {field} {value!r}, but audit row {row.seq} "
                                     f"registered it with {row.details[field]!r}: it was swapped.", hint=RESTORE)
    for name in stores.registry.names():
        for alias, version in stores.registry.aliases(name).items():
            subject = f"{name}@{alias}"
            if subject not in last_move:
                raise IntegrityError(f"Alias {subject} points at version {version}, but the audit trail never "
                                     "recorded it being set.", hint=RESTORE)
            if last_move[subject] != version:
                raise IntegrityError(f"Alias {subject} points at version {version}, but the audit trail's last "
                                     f"move set it to {last_move[subject]}.", hint=RESTORE)
    return verdict


def verify_registry(stores: Stores) -> int:
    """Return the number of audit rows verified, or raise IntegrityError naming the first inconsistency."""
    return verify_trail(stores).rows
