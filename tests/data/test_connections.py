"""Stored connections: a source's URL sealed in the store under the encryption key, used by name by `data ingest
--connection` and `data refresh`, with its password nowhere on disk, in a dataset's source, in output or errors.
The source is a real PostgreSQL; the project is the embedded SQLite default."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from conveyor.core.errors import IntegrityError, PermissionDeniedError
from conveyor.project import Project
from conveyor.security import add_identity

PASSWORD = "Xq7-uniquely-s3cret-pw"
KEY = base64.b64encode(b"k" * 32).decode()


@pytest.fixture
def source_url(postgres_db_url: str) -> str:
    """The test database with a ``sales`` table, as a URL carrying a password (the server trusts 127.0.0.1, so
    any password connects: what matters here is where the password goes)."""
    engine = sa.create_engine(postgres_db_url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE sales (id int, amount float)"))
        conn.execute(sa.text("INSERT INTO sales VALUES (1, 9.5), (2, 3.25)"))
    engine.dispose()
    return sa.engine.make_url(postgres_db_url).set(password=PASSWORD).render_as_string(hide_password=False)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if k not in ("CONVEYOR_SERVER", "CONVEYOR_TOKEN")}
    return {**clean, "CONVEYOR_ENCRYPTION_KEY": KEY, "HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "c")}


def conveyor(*args: str, env: dict[str, str], cwd: Path, code: int = 0, stdin: str | None = None
             ) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([sys.executable, "-m", "conveyor", *args], env=env, cwd=cwd, capture_output=True,
                          text=True, input=stdin, timeout=120)
    assert done.returncode == code, done.stderr
    assert PASSWORD not in done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    return done


def no_password_under(folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            assert PASSWORD.encode() not in path.read_bytes(), path


def test_a_stored_connection_is_used_by_name_and_its_password_is_nowhere(tmp_path: Path, source_url: str,
                                                                       env: dict[str, str], monkeypatch) -> None:
    monkeypatch.setenv("CONVEYOR_ENCRYPTION_KEY", KEY)  # this process reads the encrypted dataset too
    Project.init(tmp_path / "p").close()
    p = ("--project", str(tmp_path / "p"))
    added = json.loads(conveyor("connections", "add", "warehouse", *p, "--json", env=env, cwd=tmp_path,
                                stdin=source_url + "\n").stdout)
    assert added["name"] == "warehouse" and ":***@" in added["url"]
    listed = json.loads(conveyor("connections", "list", *p, "--json", env=env, cwd=tmp_path).stdout)
    assert [c["name"] for c in listed] == ["warehouse"]
    assert "ok" in conveyor("connections", "test", "warehouse", *p, env=env, cwd=tmp_path).stdout

    ingested = json.loads(conveyor("data", "ingest", "--connection", "warehouse", "--query",
                                   "SELECT id, amount FROM sales ORDER BY id", "--name", "sales", *p, "--json",
                                   env=env, cwd=tmp_path).stdout)
    assert ingested["rows"] == 2
    assert ingested["source"] == "connection:warehouse: SELECT id, amount FROM sales ORDER BY id"
    with Project.open(tmp_path / "p") as project:
        assert project.data.load_frame("sales@latest")["amount"].tolist() == [9.5, 3.25]

    unchanged = json.loads(conveyor("data", "refresh", "sales", *p, "--json", env=env, cwd=tmp_path).stdout)
    assert unchanged["created"] is False
    engine = sa.create_engine(source_url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO sales VALUES (3, 1.0)"))
    engine.dispose()
    refreshed = json.loads(conveyor("data", "refresh", "sales", *p, "--json", env=env, cwd=tmp_path).stdout)
    assert (refreshed["created"], refreshed["rows"]) == (True, 3)

    failed = conveyor("data", "ingest", "--connection", "warehouse", "--query", "SELECT nope FROM sales",
                      "--name", "bad", *p, env=env, cwd=tmp_path, code=2)
    assert "The SQL query failed" in failed.stderr
    no_password_under(tmp_path / "p")
    with Project.open(tmp_path / "p") as project:
        assert [e.action for e in project.models.audit()] == ["connection.add"]
        assert PASSWORD not in json.dumps(project.models.audit()[0].details)


def test_connections_need_encryption_at_rest(tmp_path: Path, env: dict[str, str]) -> None:
    Project.init(tmp_path / "p").close()
    plain = {k: v for k, v in env.items() if k != "CONVEYOR_ENCRYPTION_KEY"}
    refused = conveyor("connections", "add", "warehouse", "--project", str(tmp_path / "p"), env=plain,
                       cwd=tmp_path, stdin=f"postgresql://u:{PASSWORD}@db/x", code=2)
    assert "need encryption at rest" in refused.stderr and "CONVEYOR_ENCRYPTION_KEY" in refused.stderr
    with Project.open(tmp_path / "p") as project:
        assert project.stores.connections.list() == []


@pytest.mark.parametrize(("args", "stdin", "expected"), [
    (("connections", "add", "warehouse"), "not a url at all", "not a database URL"),
    (("connections", "add", "warehouse"), "", "No URL given"),
    (("connections", "add", "bad name!"), "sqlite:///x.db", "Invalid connection name"),
    (("connections", "test", "wharehouse"), None, "Unknown connection"),
    (("data", "ingest", "--connection", "warehouse", "--name", "s"), None, "--connection needs --query"),
    (("data", "ingest", "x.csv", "--connection", "warehouse", "--query", "SELECT 1", "--name", "s"), None,
     "not both"),
    (("data", "refresh", "sales"), None, "sales"),
])
def test_bad_connection_input_exits_2(tmp_path: Path, env: dict[str, str], args: tuple[str, ...],
                                      stdin: str | None, expected: str, monkeypatch) -> None:
    monkeypatch.setenv("CONVEYOR_ENCRYPTION_KEY", KEY)
    with Project.init(tmp_path / "p") as project:
        project.connections.add("warehouse", "sqlite:///" + str(tmp_path / "src.db"))
    done = conveyor(*args, "--project", str(tmp_path / "p"), env=env, cwd=tmp_path, stdin=stdin, code=2)
    assert expected in done.stderr


def test_a_sealed_url_does_not_open_under_another_name(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("CONVEYOR_ENCRYPTION_KEY", KEY)
    with Project.init(tmp_path / "p") as project:
        project.connections.add("a", f"postgresql://u:{PASSWORD}@db/x")
        project.connections.add("b", "sqlite:///other.db")
        sealed = project.stores.connections.get("a")
        project.stores.connections.put(type(sealed)("b", sealed.sealed, sealed.display, sealed.created_at,
                                                    sealed.updated_at, sealed.actor))
        with pytest.raises(IntegrityError):
            project.connections.test("b")


def test_only_an_admin_stores_a_connection_once_authentication_is_on(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("CONVEYOR_ENCRYPTION_KEY", KEY)
    with Project.init(tmp_path / "p") as project:
        scientist = add_identity(project.stores, "sam", "scientist", actor="test").secret
        admin = add_identity(project.stores, "ada", "admin", actor="test").secret
        monkeypatch.setenv("CONVEYOR_TOKEN", scientist)
        with pytest.raises(PermissionDeniedError, match=r"settings\.write"):
            project.connections.add("warehouse", "sqlite:///x.db")
        monkeypatch.setenv("CONVEYOR_TOKEN", admin)
        assert project.connections.add("warehouse", "sqlite:///x.db")["actor"] == "ada"
