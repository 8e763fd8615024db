"""Sources: streamed CSV (chunk-independent ids, type widening, progress, flat memory), SQL on SQLite and
PostgreSQL, a Python function; re-ingesting the same file costs one hash."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from conveyor.core.errors import BadInputError
from conveyor.data.csv_reader import CsvReader
from conveyor.data.datasets import ingest_file, ingest_frame, load_frame
from conveyor.data.readers import read_file
from conveyor.data.sources import ingest_function
from conveyor.data.sql import ingest_sql
from conveyor.project import Project


@pytest.fixture
def csv_file(tmp_path):
    rng = np.random.default_rng(0)
    n = 20_000
    frame = pd.DataFrame({"id": np.arange(n), "x": rng.normal(size=n).round(6),
                          "city": rng.choice(["berlin", "paris", None], n), "n": rng.integers(0, 9, n)})
    path = tmp_path / "big.csv"
    frame.to_csv(path, index=False)
    return path


def test_csv_version_id_does_not_depend_on_block_size(stores, csv_file):
    small, created = ingest_file(stores, csv_file, "a", block_size=4096)  # ~150 blocks
    assert created and small.rows == 20_000
    large, _ = ingest_file(stores, csv_file, "b", block_size=64 * 1024 * 1024)
    assert small.version == large.version
    as_frame, _ = ingest_frame(stores, read_file(csv_file), "c")
    assert as_frame.version == small.version  # the same rows as one DataFrame: the same id
    loaded = load_frame(stores, small)
    assert loaded["id"].tolist() == list(range(20_000))
    assert small.profile["columns"]["city"]["nulls"] == int(loaded["city"].isna().sum()) > 0


def test_a_later_block_widens_a_column_type(stores, tmp_path):
    path = tmp_path / "late.csv"
    path.write_text("a,b\n" + "".join(f"{i},{i}\n" for i in range(5000)) + "2.5,text\n")
    version, _ = ingest_file(stores, path, "late", block_size=1024)
    frame = load_frame(stores, version)
    assert frame["a"].dtype == "float64" and frame["a"].iloc[-1] == 2.5
    assert frame["b"].iloc[-1] == "text" and frame["b"].iloc[0] == "0"
    assert {c["name"]: c["kind"] for c in version.columns} == {"a": "numeric", "b": "categorical"}


def test_progress_reports_bytes_up_to_the_file_size(stores, csv_file):
    seen = []
    ingest_file(stores, csv_file, "p", block_size=8192, progress=lambda done, total: seen.append((done, total)))
    assert len(seen) > 10
    assert seen == sorted(seen) and seen[0][0] == 0 and seen[-1] == (csv_file.stat().st_size,) * 2


def test_unchanged_file_costs_one_hash_and_writes_nothing(stores, csv_file, monkeypatch):
    first, _ = ingest_file(stores, csv_file, "d")
    blobs = stores.artifacts.digests()

    def no_parsing(*_args, **_kwargs):
        raise AssertionError("the file was parsed again")

    monkeypatch.setattr(CsvReader, "open_batches", no_parsing)
    monkeypatch.setattr(CsvReader, "read", no_parsing)
    again, created = ingest_file(stores, csv_file, "d")
    assert not created and again.version == first.version
    assert stores.artifacts.digests() == blobs
    assert again.meta["file_digest"] == first.meta["file_digest"]


PEAK_RSS = textwrap.dedent(
    """
    import json, resource, sys
    from conveyor.data.datasets import ingest_file
    from conveyor.store import Stores
    stores = Stores.open(sys.argv[2], sys.argv[3])
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    version, _ = ingest_file(stores, sys.argv[1], "big", block_size=1 << 20)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"before_kb": before, "after_kb": after, "rows": version.rows}))
    """
)


def test_streaming_keeps_memory_below_the_file_size(tmp_path):
    """A 1 GB CSV is measured in bench/data; here a ~60 MB one must not grow the process by its size."""
    rng = np.random.default_rng(1)
    path = tmp_path / "wide.csv"
    n = 600_000
    pd.DataFrame({f"c{i}": rng.normal(size=n).round(4) for i in range(8)}).to_csv(path, index=False)
    size_kb = path.stat().st_size / 1024
    done = subprocess.run([sys.executable, "-c", PEAK_RSS, str(path), f"sqlite:///{tmp_path / 'm.db'}",
                           str(tmp_path / "art")], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    measured = json.loads(done.stdout)
    assert measured["rows"] == n
    assert measured["after_kb"] - measured["before_kb"] < 0.6 * size_kb, (measured, size_kb)


def _fill(url: str) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        pd.DataFrame({"id": range(300), "score": np.linspace(0, 1, 300), "label": ["a", "b", "c"] * 100}).to_sql(
            "events", conn, index=False)
    engine.dispose()


def test_sql_query_on_sqlite(stores, tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'source.db'}"
    _fill(url)
    monkeypatch.setattr("conveyor.data.sql.SQL_CHUNK_ROWS", 70)  # several chunks
    seen = []
    version, created = ingest_sql(stores, url, "SELECT * FROM events WHERE id < 250", "events", progress=seen.append)
    assert created and version.rows == 250 and version.source.startswith("sql:")
    assert seen == [140, 210, 250]  # the chunks after the first, 70 rows each
    again, created = ingest_sql(stores, url, "SELECT * FROM events WHERE id < 250", "events")
    assert not created and again.version == version.version
    assert load_frame(stores, version)["label"].tolist()[:3] == ["a", "b", "c"]


def test_sql_query_on_postgresql(stores, postgres_db_url):
    _fill(postgres_db_url)
    version, _ = ingest_sql(stores, postgres_db_url, "SELECT id, score FROM events ORDER BY id", "pg")
    assert version.rows == 300 and version.column_names == ["id", "score"]
    assert "password" not in version.source.lower() or "***" in version.source
    with pytest.raises(BadInputError, match=r"SQL query failed.*nope") as failed:
        ingest_sql(stores, postgres_db_url, "SELECT * FROM nope", "pg")
    assert failed.value.field == "query"
    assert [v.version for v in stores.datasets.versions("pg")] == [version.version]


@pytest.mark.parametrize(("url", "query", "message"), [
    ("sqlite:///{tmp}/source.db", "SELEC 1", "syntax error"),
    ("sqlite:///{tmp}/source.db", "SELECT * FROM events WHERE id < 0", "returned no rows"),
    ("not a url", "SELECT 1", "Not a database URL"),
    ("sqlite:///{tmp}/source.db", "  ", "query is empty"),
])
def test_bad_sql_is_bad_input_and_stores_nothing(stores, tmp_path, url, query, message):
    _fill(f"sqlite:///{tmp_path / 'source.db'}")
    with pytest.raises(BadInputError, match=message):
        ingest_sql(stores, url.format(tmp=tmp_path), query, "events")
    assert stores.datasets.versions() == []


def test_python_function_source(stores, tmp_path):
    (tmp_path / "makers.py").write_text(textwrap.dedent("""
        import pandas as pd
        def table():
            return pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "z"]})
        def broken():
            raise RuntimeError("no data today")
        def not_a_frame():
            return [1, 2]
    """))
    version, _ = ingest_function(stores, "makers:table", "made", search_path=tmp_path)
    assert version.rows == 3 and version.source == "python:makers:table"
    for ref, message in [("makers:broken", "RuntimeError: no data today"), ("makers:not_a_frame", "not a pandas"),
                         ("makers:missing", "no function"), ("nomodule_here:f", "Cannot import")]:
        with pytest.raises(BadInputError, match=message):
            ingest_function(stores, ref, "made", search_path=tmp_path)


def test_project_routes_every_source_kind(tmp_path, csv_file):
    project = Project.init(tmp_path / "proj")
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.txt").write_text("hello")
    (tmp_path / "proj" / "maker.py").write_text("import pandas as pd\ndef f():\n    return pd.DataFrame({'a': [1]})\n")
    with project:
        assert project.data.ingest(csv_file, "csv")[0].rows == 20_000
        assert project.data.ingest(folder, "folder")[0].meta["kind"] == "files"
        assert project.data.ingest("maker:f", "fn")[0].source == "python:maker:f"
        assert project.data.ingest(pd.DataFrame({"a": [1, 2]}), "frame")[0].rows == 2
