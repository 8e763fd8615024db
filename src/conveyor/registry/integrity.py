"""Is the registry what its audit trail says? The hash chain proves no row was edited or removed from the middle;
comparing the registry with the trail also catches a removed newest row and changes made around conveyor."""

from __future__ import annotations

from conveyor.core.errors import IntegrityError
from conveyor.store import Stores
from conveyor.store.audit import verify_chain

RESTORE = "Restore the store from a backup, and find out who wrote to the database directly."


def verify_registry(stores: Stores) -> int:
    """Return the number of audit rows verified, or raise IntegrityError naming the first inconsistency."""
    entries = stores.registry.audit_log()  # read once: the chain and the cross-check use the same rows
    count = verify_chain(entries)
    registered = {e.subject for e in entries if e.action == "register"}
    last_move: dict[str, int | None] = {}
    for entry in entries:
        if entry.action in ("promote", "rollback"):
            last_move[entry.subject] = entry.details.get("version")
    for version in stores.registry.versions():
        if version.ref not in registered:
            raise IntegrityError(f"Model version {version.ref} has no 'register' row in the audit trail.",
                                 hint=RESTORE)
    for name in stores.registry.names():
        for alias, version in stores.registry.aliases(name).items():
            subject = f"{name}@{alias}"
            if subject not in last_move:
                raise IntegrityError(f"Alias {subject} points at version {version}, but the audit trail never "
                                     "recorded it being set.", hint=RESTORE)
            if last_move[subject] != version:
                raise IntegrityError(f"Alias {subject} points at version {version}, but the audit trail's last "
                                     f"move set it to {last_move[subject]}.", hint=RESTORE)
    return count
