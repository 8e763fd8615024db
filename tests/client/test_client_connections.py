"""Stored connections against a real `conveyor server`: the CLI stores one on the server (the answer masked), the
server runs the query through it, and no response or error body carries the password."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import sqlalchemy as sa

PASSWORD = "Rz4-another-s3cret-pw"
KEY = "a2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2s="  # base64 of 32 bytes


def test_connections_through_the_server(tmp_path: Path, launch, seeded_project, user_env, monkeypatch) -> None:
    source = tmp_path / "source.db"
    engine = sa.create_engine(f"sqlite:///{source}")
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE orders (id int, total float)"))
        conn.execute(sa.text("INSERT INTO orders VALUES (1, 2.5), (2, 4.0), (3, 1.5)"))
    engine.dispose()
    monkeypatch.setenv("CONVEYOR_ENCRYPTION_KEY", KEY)  # the server process inherits it
    url, _pid = launch(seeded_project(tmp_path / "served"))
    remote = {**user_env, "CONVEYOR_SERVER": url}

    def conveyor(*args: str, stdin: str | None = None, code: int = 0) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([sys.executable, "-m", "conveyor", *args], env=remote, cwd=tmp_path, input=stdin,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == code, done.stderr
        assert PASSWORD not in done.stdout + done.stderr
        return done

    # a SQLite URL has no password; a query parameter named password is masked all the same
    secret_url = f"sqlite:///{source}?password={PASSWORD}"
    added = json.loads(conveyor("connections", "add", "shop", "--json", stdin=secret_url).stdout)
    assert added["url"].endswith("password=***")
    ingested = json.loads(conveyor("data", "ingest", "--connection", "shop", "--query",
                                   "SELECT id, total FROM orders", "--name", "orders", "--json").stdout)
    assert (ingested["rows"], ingested["source"]) == (3, "connection:shop: SELECT id, total FROM orders")
    assert json.loads(conveyor("connections", "list", "--json").stdout)[0]["name"] == "shop"

    missing = httpx.post(f"{url}/api/v1/connections/shp/ingest", json={"query": "SELECT 1", "name": "x"}, timeout=30)
    assert missing.status_code == 404 and "shop" in missing.json()["message"] + missing.json().get("hint", "")
    bad = httpx.post(f"{url}/api/v1/connections", json={"name": "x", "url": 5}, timeout=30)
    assert bad.status_code == 422 and bad.json()["field"] == "url"
    for answer in (missing, bad, httpx.get(f"{url}/api/v1/connections", timeout=30)):
        assert PASSWORD not in answer.text
    assert httpx.delete(f"{url}/api/v1/connections/shop", timeout=30).status_code == 204
    assert httpx.get(f"{url}/api/v1/connections", timeout=30).json() == []
