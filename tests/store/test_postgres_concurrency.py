"""The metadata store on a real PostgreSQL under a mixed concurrent load from eight OS processes at once: four
logging runs (and racing on shared dataset versions and model version numbers), two agents taking the same leased
jobs, one promoting, one logging predictions. A fixed number of operations per process under a time cap; the
invariants are checked after (see conveyor.testing.concurrency)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import conveyor
from conveyor.store import open_metadata_roles
from conveyor.testing.concurrency import check_invariants, run_mixed_load


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
