"""Upgrades: `conveyor db upgrade` migrates; a server, agent or serving replica refuses a schema older or newer
than it knows, naming the command to run; /api/v1/server-info reports the version and the client warns on one it
does not support."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
import yaml
from fastapi import FastAPI

import conveyor as cv
from conveyor._version import __version__
from conveyor.client.project import connect
from conveyor.client.version import ServerVersionWarning
from conveyor.core.settings import Settings
from conveyor.serve import running_server
from conveyor.server import create_app
from conveyor.store.migrate import HEAD, _config
from conveyor.store.sql.database import create_engine

OLD = "0010"


def _project_at(root: Path, revision: str) -> dict[str, str]:
    """A project folder whose store is migrated only up to ``revision``; the environment to run conveyor in."""
    from alembic import command

    root.mkdir()
    (root / ".conveyor").mkdir()
    (root / "conveyor.yaml").write_text(yaml.safe_dump({"name": "old"}))
    engine = create_engine(Settings.for_project(root).db_url)
    config = _config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
    engine.dispose()
    return {k: v for k, v in os.environ.items() if k not in ("CONVEYOR_SERVER", "CONVEYOR_TOKEN")}


def _run(root: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "conveyor", *args, "--project", str(root)], env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.slow
def test_platform_processes_refuse_an_old_schema_until_db_upgrade(tmp_path, db_backend):
    root = tmp_path / "proj"
    env = _project_at(root, OLD)
    for verb in (["server", "--port", "0"], ["agent", "churn", "--once"], ["serve", "churn@champion"]):
        done = _run(root, env, *verb)
        assert done.returncode != 0 and "conveyor db upgrade" in done.stderr, (verb, done.stderr)
        assert "Traceback" not in done.stderr
    status = json.loads(_run(root, env, "db", "status", "--json").stdout)["stores"][0]
    assert (status["revision"], status["head"], status["current"]) == (OLD, HEAD, False)
    upgraded = _run(root, env, "db", "upgrade", "--json")
    assert upgraded.returncode == 0, upgraded.stderr
    row = json.loads(upgraded.stdout)["stores"][0]
    assert (row["before"], row["revision"]) == (OLD, HEAD)
    assert json.loads(_run(root, env, "db", "status", "--json").stdout)["stores"][0]["current"] is True
    done = _run(root, env, "agent", "churn", "--once")
    assert "conveyor db upgrade" not in done.stderr  # past the schema check (it may still lack a model)


def test_platform_processes_refuse_a_newer_schema(tmp_path, monkeypatch):
    monkeypatch.delenv("CONVEYOR_DB_URL", raising=False)
    root = tmp_path / "proj"
    env = _project_at(root, HEAD)
    engine = create_engine(Settings.for_project(root).db_url)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    done = _run(root, env, "server", "--port", "0")
    assert done.returncode != 0 and "pip install -U conveyor-mlops" in done.stderr and "9999" in done.stderr


def _fake(version: str | None) -> FastAPI:
    app = FastAPI()
    if version is not None:
        @app.get("/api/v1/server-info")
        def info() -> dict[str, str]:
            return {"version": version, "api": "v1"}
    return app


def test_server_info_and_the_client_version_check(tmp_path, monkeypatch):
    monkeypatch.delenv("CONVEYOR_DB_URL", raising=False)
    monkeypatch.delenv("CONVEYOR_TOKEN", raising=False)
    with cv.Project.init(tmp_path / "p") as project, running_server(create_app(project)) as url:
        info = httpx.get(url + "/api/v1/server-info").json()
        assert (info["version"], info["api"], info["schema"]) == (__version__, "v1", HEAD)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            connect(url).close()
        assert not [w for w in caught if issubclass(w.category, ServerVersionWarning)]
    for version, words in (("9.4.0", "runs conveyor 9.4.0"), (None, "no /api/v1/server-info")):
        with running_server(_fake(version)) as url, pytest.warns(ServerVersionWarning, match=words):
            connect(url).close()
