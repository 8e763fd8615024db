"""The hash chain that makes the audit trail tamper-evident: each row hashes its content and the previous hash."""

from __future__ import annotations

import json
from typing import Any

from conveyor.core.entities import AuditEntry, now
from conveyor.core.errors import IntegrityError
from conveyor.store.hashing import digest_bytes

GENESIS = "0" * 64


def chain_hash(prev_hash: str, seq: int, at: float, actor: str, action: str, subject: str,
               details: dict[str, Any]) -> str:
    body = json.dumps(
        [prev_hash, seq, round(at, 6), actor, action, subject, details],
        sort_keys=True, separators=(",", ":"), default=str,
    )
    return digest_bytes(body.encode())


def chained_entry(prev_hash: str, seq: int, actor: str, action: str, subject: str, details: dict[str, Any],
                  at: float | None = None) -> AuditEntry:
    """The audit row that follows the row hashed ``prev_hash`` (GENESIS for the first) as number ``seq``."""
    at = round(now() if at is None else at, 6)
    return AuditEntry(seq, at, actor, action, subject, details, prev_hash,
                      chain_hash(prev_hash, seq, at, actor, action, subject, details))


def verify_chain(entries: list[AuditEntry]) -> int:
    """Recompute the chain over ``entries`` (in sequence order); return their number, or raise IntegrityError at
    the first row that was altered or follows a deleted one."""
    prev, expected_seq = GENESIS, 1
    for entry in entries:
        if entry.seq != expected_seq:
            raise IntegrityError(f"Audit trail is missing row {expected_seq} (next row is {entry.seq}).",
                                 hint="Rows were deleted; restore the store from a backup.")
        if entry.prev_hash != prev or entry.hash != chain_hash(
            prev, entry.seq, entry.at, entry.actor, entry.action, entry.subject, entry.details
        ):
            raise IntegrityError(f"Audit row {entry.seq} ({entry.action} {entry.subject}) was altered.",
                                 hint="Its hash no longer matches its content; restore from a backup.")
        prev, expected_seq = entry.hash, expected_seq + 1
    return expected_seq - 1
