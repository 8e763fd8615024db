"""`conveyor data ...` as users call it: every bad input of the data issue exits 2 with one line naming the file or
column and the fix, and leaves the store as it was; the happy paths print tables and --json."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from conveyor.project import Project


def conveyor(*args: str, cwd: Path, code: int = 0) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "conveyor", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300, env={**os.environ, "CONVEYOR_USER": "tester"})
    assert done.returncode == code, f"exit {done.returncode}\nstdout: {done.stdout}\nstderr: {done.stderr}"
    return done


def state(root: Path):
    with Project.open(root) as project:
        return ([(v.name, v.version) for v in project.stores.datasets.versions()],
                project.stores.artifacts.digests())


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    root = tmp_path_factory.mktemp("dataproj")
    conveyor("init", str(root), cwd=root)
    rng = np.random.default_rng(0)
    n = 500
    frame = pd.DataFrame({"id": np.arange(n), "age": rng.integers(18, 90, n), "plan": rng.choice(["basic", "pro"], n),
                          "email": [f"u{i}@example.com" for i in range(n)]})
    frame.to_csv(root / "ref.csv", index=False)
    conveyor("data", "ingest", "ref.csv", "--name", "people", cwd=root)
    conveyor("data", "contract", "people", cwd=root)
    bad = frame.copy()
    bad.loc[[2, 3], "age"] = 300
    bad.to_csv(root / "bad.csv", index=False)
    frame.drop(columns=["plan"]).to_csv(root / "missing.csv", index=False)
    frame.assign(age=frame["age"].astype(str).where(frame.index != 7, "old")).to_csv(root / "types.csv", index=False)
    (root / "nulls.csv").write_text("a,b\n1,\n2,\n")
    (root / "empty.csv").write_bytes(b"")
    (root / "header.csv").write_text("a,b\n")
    (root / "dups.csv").write_text("a,b,a\n1,2,3\n")
    (root / "latin.csv").write_bytes(b"name,city\nx,K\xc3\xb6ln\ny,K\xf6ln\n")
    frame.to_parquet(root / "really_parquet.csv")
    engine = sa.create_engine(f"sqlite:///{root / 'shop.db'}")
    with engine.begin() as conn:
        frame.to_sql("customers", conn, index=False)
    engine.dispose()
    return root


@pytest.mark.parametrize(("args", "names"), [
    (["data", "validate", "missing.csv", "--against", "people"], ["missing.csv", "'plan'"]),
    (["data", "ingest", "missing.csv", "--name", "people"], ["missing.csv", "'plan'"]),
    (["data", "ingest", "types.csv", "--name", "people"], ["types.csv", "'age'", "expects numeric"]),
    (["data", "ingest", "nulls.csv", "--name", "n"], ["nulls.csv", "'b'", "Drop the column"]),
    (["data", "ingest", "empty.csv", "--name", "e"], ["empty.csv", "is empty"]),
    (["data", "ingest", "header.csv", "--name", "h"], ["header.csv", "no rows"]),
    (["data", "ingest", "dups.csv", "--name", "d"], ["dups.csv", "duplicate column", "Rename"]),
    (["data", "ingest", "latin.csv", "--name", "l"], ["latin.csv", "'city'", "UTF-8"]),
    (["data", "ingest", "really_parquet.csv", "--name", "p"], ["really_parquet.csv", "looks like Parquet"]),
    (["data", "ingest", "sqlite:///shop.db", "--query", "SELECT * FROM nowhere", "--name", "s"],
     ["no such table: nowhere", "Fix the query"]),
    (["data", "ingest", "ref.csv", "--name", "x", "--on-error", "maybe"], ["--on-error", "reject"]),
    (["data", "ingest", "ref.csv", "--name", "x", "--pii", "blur"], ["--pii", "drop or hash"]),
    (["data", "validate", "ref.csv"], ["No contract", "--name"]),
])
def test_bad_input_exits_2_with_one_line_and_stores_nothing(root, args, names):
    before = state(root)
    done = conveyor(*args, cwd=root, code=2)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    for name in names:
        assert name in lines[0], lines[0]
    assert state(root) == before


def test_json_errors_name_the_field(root):
    done = conveyor("data", "ingest", "nulls.csv", "--name", "n", "--json", cwd=root, code=2)
    assert json.loads(done.stdout)["field"] == "b"


def test_validate_and_quarantine_through_the_cli(root):
    failed = conveyor("data", "validate", "bad.csv", "--name", "people", "--json", cwd=root, code=1)
    report = json.loads(failed.stdout)
    assert report["passed"] is False and report["failures"][0]["column"] == "age"
    assert report["failures"][0]["count"] == 2 and report["failures"][0]["examples"][0]["age"] == 300
    table = conveyor("data", "validate", "bad.csv", "--name", "people", cwd=root, code=1)
    assert "age" in table.stdout and "failing" in table.stdout
    before = state(root)
    conveyor("data", "ingest", "bad.csv", "--name", "people", cwd=root, code=1)  # contracts/people.yaml: reject
    assert state(root) == before
    done = json.loads(conveyor("data", "ingest", "bad.csv", "--name", "people", "--on-error", "quarantine",
                               "--json", cwd=root).stdout)
    assert done["rows"] == 498 and done["quarantine"].startswith("people.quarantine@")
    assert conveyor("data", "validate", "people", cwd=root).stdout.startswith("passed")


def test_log_diff_show_scan_through_the_cli(root, tmp_path):
    shifted = pd.read_csv(root / "ref.csv").assign(age=lambda f: f["age"] + 30).drop(columns=["email"])
    shifted.to_csv(root / "older.csv", index=False)
    conveyor("data", "ingest", "older.csv", "--name", "people", "--contract", "/dev/null", cwd=root, code=2)
    conveyor("data", "ingest", "older.csv", "--name", "aged", cwd=root)
    log = json.loads(conveyor("data", "log", "people", "--json", cwd=root).stdout)
    assert log[0]["changes"] == {"first": True} and all("rows" in e and "bytes" in e for e in log)
    assert "first version" in conveyor("data", "log", "people", cwd=root).stdout
    page = tmp_path / "diff.html"
    diff = json.loads(conveyor("data", "diff", "people", "aged", "--html", str(page), "--json", cwd=root).stdout)
    assert diff["shifted"] == ["age"] and diff["schema"]["removed"] == ["email"]
    assert 'class="cv-chart"' in page.read_text()
    scan = json.loads(conveyor("data", "scan", "people", "--json", cwd=root).stdout)
    assert {"column": "email", "kind": "email", "share": 1.0, "reason": "values"} in scan
    conveyor("data", "split", "people", "--test", "0.2", cwd=root)
    shown = json.loads(conveyor("data", "show", "people", "--json", cwd=root).stdout)
    assert sorted(c.split("@")[0] for c in shown["children"]) == ["people.test", "people.train"]
    assert "Lineage" in conveyor("data", "show", "people", cwd=root).stdout
    hashed = json.loads(conveyor("data", "ingest", "ref.csv", "--name", "anon", "--pii", "hash", "--json",
                                 cwd=root).stdout)
    assert hashed["pii"]["columns"][0]["column"] == "email"


def test_files_sql_and_functions_through_the_cli(root, tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    for i in range(20):
        (folder / f"{i}.txt").write_text(f"document {i}")
    first = json.loads(conveyor("data", "add", str(folder), "--name", "docs", "--json", cwd=root).stdout)
    (folder / "3.txt").write_text("changed")
    second = json.loads(conveyor("data", "add", str(folder), "--name", "docs", "--json", cwd=root).stdout)
    assert first["rows"] == second["rows"] == 20 and second["changes"]["modified"] == ["3.txt"]
    again = json.loads(conveyor("data", "add", str(folder), "--name", "docs", "--json", cwd=root).stdout)
    assert again["created"] is False
    out = tmp_path / "out"
    conveyor("data", "checkout", f"docs@{first['version']}", str(out), cwd=root)
    assert (out / "3.txt").read_text() == "document 3"
    assert "~1 files" in conveyor("data", "log", "docs", cwd=root).stdout
    sql = json.loads(conveyor("data", "ingest", "sqlite:///shop.db", "--query", "SELECT id, age FROM customers",
                              "--name", "fromsql", "--json", cwd=root).stdout)
    assert sql["rows"] == 500 and [c["name"] for c in sql["columns"]] == ["id", "age"]
    (root / "loaders.py").write_text("import pandas as pd\n\ndef load():\n    return pd.DataFrame({'a': [1, 2]})\n")
    made = json.loads(conveyor("data", "ingest", "loaders:load", "--name", "made", "--json", cwd=root).stdout)
    assert made["rows"] == 2 and made["source"] == "python:loaders:load"


IMPORTS_AFTER_ADD = """
import sys
from conveyor.cli.main import main
try:
    main(sys.argv[1:])
except SystemExit as exc:
    assert not exc.code, exc.code
print(" ".join(sorted(sys.modules)))
"""


def without_coverage(env):
    """The environment minus pytest-cov's subprocess hooks: coverage itself imports tempfile and random, which the
    test below checks `data add` leaves out."""
    return {k: v for k, v in env.items() if not k.startswith(("COV_CORE_", "COVERAGE_PROCESS_"))}


def test_data_add_imports_only_what_it_needs(root, tmp_path):
    """`data add` is called by scripts like `dvc add`: start-up is most of its cost on a folder of small files.
    It never imports the table stack, the other verbs, the CLI framework, SQLAlchemy or Alembic (the store here
    is already at the newest schema)."""
    folder = tmp_path / "few"
    folder.mkdir()
    (folder / "a.txt").write_text("a")
    done = subprocess.run([sys.executable, "-c", IMPORTS_AFTER_ADD, "data", "add", str(folder), "--name", "few"],
                          cwd=root, capture_output=True, text=True, timeout=300, env=without_coverage(os.environ))
    assert done.returncode == 0, done.stderr
    loaded = set(done.stdout.split())
    assert "conveyor.data.files" in loaded  # the verb did run here
    heavy = {"pandas", "pyarrow", "numpy", "sklearn", "alembic", "conveyor.cli.app", "conveyor.cli.runs",
             "conveyor.project", "conveyor.data.datasets",
             # the fast path (conveyor.cli.fast_add): sqlite3 and os calls, not the CLI framework or SQLAlchemy
             "sqlalchemy", "typer", "click", "rich", "pydantic", "fsspec", "yaml", "tempfile", "random"}
    assert not heavy & loaded


def test_data_add_keeps_the_stat_cache_in_the_project(root, tmp_path):
    folder = tmp_path / "cached"
    folder.mkdir()
    (folder / "a.txt").write_text("a")
    (folder / "b.txt").write_text("b")
    conveyor("data", "add", str(folder), "--name", "cached", cwd=root)
    cached = json.loads((root / ".conveyor" / "hashes.json").read_text())["files"]
    assert {str((folder / n).resolve()) for n in ("a.txt", "b.txt")} <= set(cached)


def test_the_fast_data_group_has_every_verb_of_the_full_tree():
    """`conveyor data ...` builds the data group alone (start-up); it must offer what the full tree does."""
    import typer

    from conveyor.cli.app import app
    from conveyor.cli.main import _app_for

    def data_verbs(tree: typer.Typer) -> set[str]:
        group = typer.main.get_command(tree).commands["data"]
        return set(group.commands)

    assert data_verbs(_app_for(["data", "add"])) == data_verbs(app)
    assert {"forget", "refresh", "add", "ingest"} <= data_verbs(app)
