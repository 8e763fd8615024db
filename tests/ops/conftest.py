"""A project on each SQL backend: the embedded SQLite default and a real PostgreSQL (CONVEYOR_DB_URL)."""

from __future__ import annotations

import pytest


@pytest.fixture(params=["sqlite", "postgresql"])
def db_backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "postgresql":
        monkeypatch.setenv("CONVEYOR_DB_URL", str(request.getfixturevalue("postgres_db_url")))
    else:
        monkeypatch.delenv("CONVEYOR_DB_URL", raising=False)
    return str(request.param)
