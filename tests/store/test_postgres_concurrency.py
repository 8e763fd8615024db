"""The metadata store on a real PostgreSQL under a mixed concurrent load from eight OS processes at once: four
logging runs (and racing on shared dataset versions and model version numbers), two agents taking the same leased
jobs, one promoting, one logging predictions. A fixed number of operations per process under a time cap; the
invariants are checked after (see conveyor.testing.concurrency)."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest

import conveyor
from conveyor.core.entities import AuditNote
from conveyor.store import open_metadata_roles
from conveyor.store.sql.database import SqlDatabase
from conveyor.testing.concurrency import check_invariants, run_mixed_load
from conveyor.testing.store_records import hammer, model


@pytest.mark.slow
def test_postgres_keeps_every_invariant_under_a_mixed_concurrent_load(postgres_db_url: str) -> None:
    open_metadata_roles(postgres_db_url).close()  # the schema, before the processes race to use it
    load = run_mixed_load(postgres_db_url, loggers=4, agents=2, ops=30, time_cap=180)
    roles = open_metadata_roles(postgres_db_url)
    try:
        check_invariants(roles, load)
    finally:
        roles.close()
    assert len(load.runs) == 120 and len(load.predictions) == 30 * 32 and load.promotions == 30


def test_no_store_trusts_rowcount() -> None:
    """psycopg reports a row skipped by ON CONFLICT DO NOTHING as one row affected: whether a write happened is read
    from RETURNING, never from ``rowcount`` (the races above catch a store that gets this wrong on PostgreSQL)."""
    source = Path(conveyor.__file__).parent
    offenders = [f"{path.relative_to(source)}:{n}" for path in sorted(source.rglob("*.py"))
                 for n, line in enumerate(path.read_text().splitlines(), 1)
                 if re.search(r"\.rowcount\b", line.split("#", 1)[0])]
    assert offenders == []


def test_audit_writers_queue_on_postgres_instead_of_racing(postgres_db_url: str,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Appends to the audit chain are serialised by a transaction-scoped advisory lock taken before anything is
    written: with no retry left, six threads registering versions and appending rows all succeed, and the chain
    (and the version numbers) come out whole."""
    monkeypatch.setattr(SqlDatabase, "RETRIES", 1)
    roles = open_metadata_roles(postgres_db_url)
    counter = itertools.count()

    def write() -> int:
        if next(counter) % 2:
            return roles.registry.append_audit("tester", "test.note", "x", {}).seq
        return roles.registry.create_version(model("audited"), audit=AuditNote("tester", "model.register")).version

    try:
        hammer(10, 6, write)
        assert roles.registry.verify_audit() == 60
        assert [mv.version for mv in roles.registry.versions("audited")] == list(range(1, 31))
    finally:
        roles.close()
