"""The hash chain that makes the audit trail tamper-evident: each row hashes its content and the previous hash."""

from __future__ import annotations

import json
from typing import Any

from conveyor.store.hashing import digest_bytes

GENESIS = "0" * 64


def chain_hash(prev_hash: str, seq: int, at: float, actor: str, action: str, subject: str,
               details: dict[str, Any]) -> str:
    body = json.dumps(
        [prev_hash, seq, round(at, 6), actor, action, subject, details],
        sort_keys=True, separators=(",", ":"), default=str,
    )
    return digest_bytes(body.encode())
