"""`conveyor data add` on its fast path (conveyor.cli.fast_add): the plain arguments only, the usual project only,
and the full command (SQLAlchemy, typer) for everything else, with the same result."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conveyor.cli.fast_add import open_file_stores, parse
from conveyor.store import Stores
from conveyor.store.sqlite_datasets import SqliteDatasetStore


def conveyor(*args: str, cwd: Path, env: dict[str, str] | None = None, code: int = 0) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "conveyor", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300, env={**os.environ, "CONVEYOR_USER": "tester", **(env or {})})
    assert done.returncode == code, f"exit {done.returncode}\nstdout: {done.stdout}\nstderr: {done.stderr}"
    return done


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("fastproj")
    conveyor("init", str(root), cwd=root)
    return root


@pytest.mark.parametrize(("args", "expected"), [
    (["f.txt", "--name", "n"], ("f.txt", "n", None, False)),
    (["--name=n", "--json", "--project", "p", "f.txt"], ("f.txt", "n", Path("p"), True)),
    (["--project=p", "f.txt", "--name", "n"], ("f.txt", "n", Path("p"), False)),
])
def test_the_plain_arguments_parse(args, expected):
    assert parse(args) == expected


@pytest.mark.parametrize("args", [
    [], ["f.txt"], ["--name", "n"], ["f.txt", "--name"], ["f.txt", "--name", "n", "--help"],
    ["f.txt", "--name", "a", "--name", "b"], ["f.txt", "g.txt", "--name", "n"], ["f.txt", "-n", "x"],
    ["f.txt", "--name", "n", "--json", "--json"], ["f.txt", "--name", "n", "--verbose"],
])
def test_anything_else_is_left_to_the_full_command(args):
    assert parse(args) is None


def test_the_usual_project_opens_without_sqlalchemy_and_others_do_not(project, tmp_path, monkeypatch):
    for key in ("CONVEYOR_SERVER", "CONVEYOR_DB_URL", "CONVEYOR_ARTIFACTS", "CONVEYOR_ENCRYPTION_KEY"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))  # no `conveyor login` default server
    opened = open_file_stores(project)
    assert opened is not None and isinstance(opened.datasets, SqliteDatasetStore)
    opened.close()
    assert open_file_stores(tmp_path / "nowhere") is None  # the full command says there is no such folder
    assert open_file_stores(tmp_path) is None  # no store there yet: the full command creates it
    monkeypatch.setenv("CONVEYOR_ENCRYPTION_KEY", "k" * 44)
    assert open_file_stores(project) is None
    monkeypatch.delenv("CONVEYOR_ENCRYPTION_KEY")
    monkeypatch.setenv("CONVEYOR_ARTIFACTS", "memory://blobs")
    assert open_file_stores(project) is None
    monkeypatch.delenv("CONVEYOR_ARTIFACTS")
    monkeypatch.setenv("CONVEYOR_SERVER", "http://127.0.0.1:9")
    assert open_file_stores(project) is None


def test_fast_and_full_adds_agree_through_the_cli(project, tmp_path):
    """A new project's first `data add` runs the full command (it creates the store); the next ones run the fast
    path. Both print the same JSON keys, and a folder changed in between is one new version with its changes."""
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.txt").write_text("a")
    first = json.loads(conveyor("data", "add", str(folder), "--name", "docs", "--json", "--project", str(fresh),
                                cwd=tmp_path).stdout)
    assert first["created"] and (fresh / ".conveyor" / "conveyor.db").is_file()
    assert open_file_stores(fresh) is not None  # now at the newest schema: the next add is the fast one
    (folder / "b.txt").write_text("b")
    second = json.loads(conveyor("data", "add", str(folder), "--name", "docs", "--json", "--project", str(fresh),
                                 cwd=tmp_path).stdout)
    assert second.keys() == first.keys()
    assert second["created"] and second["changes"] == {"added": ["b.txt"], "removed": [], "modified": []}
    again = conveyor("data", "add", str(folder), "--name", "docs", "--project", str(fresh), cwd=tmp_path).stdout
    assert again.strip() == f"docs@{second['version'][:12]}  2 files  2 bytes  unchanged (already stored)"
    stores = Stores.open(f"sqlite:///{fresh / '.conveyor' / 'conveyor.db'}", str(fresh / ".conveyor" / "artifacts"))
    try:
        assert [v.version for v in stores.datasets.versions("docs")] == [first["version"], second["version"]]
    finally:
        stores.close()


def test_bad_input_on_the_fast_path_is_one_line_and_exit_2(project, tmp_path):
    done = conveyor("data", "add", str(tmp_path / "missing"), "--name", "x", "--project", str(project),
                    cwd=tmp_path, code=2)
    assert done.stderr.startswith("error: Not found:") and "Traceback" not in done.stderr
    done = conveyor("data", "add", str(project), "--name", "bad name!", "--json", "--project", str(project),
                    cwd=tmp_path, code=2)
    assert json.loads(done.stdout)["exit_code"] == 2
    usage = conveyor("data", "add", str(project), "--project", str(project), cwd=tmp_path, code=2)
    assert "Missing option '--name'" in usage.stderr  # typer's usage error, from the full command
