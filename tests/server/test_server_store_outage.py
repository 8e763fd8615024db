"""The store briefly unavailable: requests get 503 with Retry-After and the error tree's body (no password, no
traceback), and the server answers again once the database is back, without a restart. Real PostgreSQL."""

from __future__ import annotations

import httpx
import pytest
import sqlalchemy as sa

from conveyor.project import Project
from conveyor.serve import running_server
from conveyor.server import create_app


def _connections(admin: sa.Engine, database: str, allowed: bool) -> None:
    with admin.connect() as conn:
        conn.execute(sa.text(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS {str(allowed).lower()}'))
        if not allowed:
            conn.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :d "
                                 "AND pid <> pg_backend_pid()"), {"d": database})


def test_an_unreachable_store_is_503_and_the_server_recovers(postgres_url: str, postgres_db_url: str, tmp_path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONVEYOR_DB_URL", postgres_db_url)
    database = sa.engine.make_url(postgres_db_url).database
    password = sa.engine.make_url(postgres_db_url).password
    admin = sa.create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with Project.init(tmp_path / "p") as project, running_server(create_app(project)) as url, \
            httpx.Client(base_url=url + "/api/v1", timeout=30) as http:
        assert http.get("/runs").status_code == 200
        _connections(admin, database, allowed=False)
        try:
            down = http.get("/runs")
            assert down.status_code == 503, down.text
            assert down.headers["retry-after"] == "2"
            assert down.json()["error"] == "store_unavailable"
            assert set(down.json()) == {"error", "message", "field", "hint"}
            assert "Traceback" not in down.text and (not password or password not in down.text)
            assert http.get("/health").status_code == 503
        finally:
            _connections(admin, database, allowed=True)
        assert http.get("/runs").status_code == 200
        assert http.get("/health").json()["status"] == "ok"
    admin.dispose()
