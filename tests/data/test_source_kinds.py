"""Ingest sources resolve through the source registry: each built-in kind is claimed and stored, policies apply to
every table source (SQL included), a plug-in kind is asked before the file fallback, and names say "did you mean"."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from conveyor.core.errors import BadInputError, NotFoundError
from conveyor.data.contracts import ValidationFailed, infer_contract
from conveyor.data.datasets import load_frame
from conveyor.data.sources import SOURCES, IngestOptions, Source, ingest_source, source_for


@pytest.fixture
def sqlite_url(tmp_path):
    url = f"sqlite:///{tmp_path / 'source.db'}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        pd.DataFrame({"id": range(60), "score": np.linspace(0, 1, 60),
                      "email": [f"user{i}@example.com" for i in range(60)]}).to_sql("people", conn, index=False)
    engine.dispose()
    return url


def test_each_built_in_kind_claims_its_sources(tmp_path, monkeypatch, sqlite_url):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "docs").mkdir()
    (tmp_path / "t.csv").write_text("a\n1\n")
    kinds = {
        "sql": (sqlite_url, IngestOptions(query="SELECT 1")),
        "dataframe": (pd.DataFrame({"a": [1]}), IngestOptions()),
        "function": ("makers:table", IngestOptions()),
        "folder": ("docs", IngestOptions()),
        "file": ("t.csv", IngestOptions()),
    }
    assert SOURCES.names()[:5] == list(kinds)
    assert {kind: source_for(source, options).name for kind, (source, options) in kinds.items()} == \
        {kind: kind for kind in kinds}


def test_every_kind_is_ingested_through_one_entry_point(stores, tmp_path, monkeypatch, sqlite_url):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.txt").write_text("hello")
    (tmp_path / "t.csv").write_text("a,b\n1,x\n2,y\n")
    (tmp_path / "kinds_maker.py").write_text("import pandas as pd\ndef table():\n    return pd.DataFrame({'a': [7]})\n")
    sql, _ = ingest_source(stores, sqlite_url, "sql", IngestOptions(query="SELECT id, score FROM people"))
    frame, _ = ingest_source(stores, pd.DataFrame({"a": [1, 2]}), "frame")
    function, _ = ingest_source(stores, "kinds_maker:table", "fn", IngestOptions(search_path=tmp_path))
    folder, _ = ingest_source(stores, "docs", "folder")
    file, _ = ingest_source(stores, "t.csv", "file")
    assert (sql.rows, frame.rows, function.rows, file.rows) == (60, 2, 1, 2)
    assert sql.source.startswith("sql:sqlite:///") and function.source == "python:kinds_maker:table"
    assert folder.meta["kind"] == "files" and file.source == str((tmp_path / "t.csv").resolve())


def test_policies_apply_to_a_sql_result(stores, sqlite_url):
    """A contract or --pii used to be refused for SQL sources ("not yet"): the result is now checked as a batch."""
    hashed, _ = ingest_source(stores, sqlite_url, "people", IngestOptions(query="SELECT * FROM people", pii="hash"))
    assert hashed.meta["pii"]["columns"][0]["column"] == "email"
    assert not load_frame(stores, hashed)["email"].str.contains("@").any()
    contract = infer_contract(hashed)
    with pytest.raises(ValidationFailed):
        ingest_source(stores, sqlite_url, "people", IngestOptions(
            query="SELECT id, score * 100 AS score, email FROM people", contract=contract, pii="hash"))


def test_a_mistyped_kind_or_policy_names_the_field(stores):
    with pytest.raises(NotFoundError, match="Did you mean 'sql'") as caught:
        ingest_source(stores, "x", "d", kind="sqll")
    assert caught.value.field == "source"
    with pytest.raises(BadInputError, match="Unknown --on-error 'skip'"):
        ingest_source(stores, pd.DataFrame({"a": [1]}), "d", IngestOptions(on_error="skip"))


class Memory(Source):
    """A plug-in kind: ``mem://NAME`` reads a table kept in this process."""

    name = "memory"
    tables = {"sales": pd.DataFrame({"sku": ["a", "b", "c"], "units": [3, 1, 2]})}

    def claims(self, source, options):
        return isinstance(source, str) and source.startswith("mem://")

    def read(self, source, options):
        try:
            return self.tables[source.removeprefix("mem://")]
        except KeyError:
            raise BadInputError(f"No table {source!r} in memory.", field="source") from None


@pytest.fixture
def memory():
    SOURCES.register("memory", Memory)
    yield
    SOURCES.unregister("memory")


def test_a_plug_in_kind_is_asked_before_the_file_fallback_and_gets_the_policies(stores, memory):
    version, created = ingest_source(stores, "mem://sales", "sales")
    assert created and version.source == "memory:mem://sales" and version.rows == 3
    contract = infer_contract(version)
    Memory.tables["late"] = pd.DataFrame({"sku": ["a", "z"], "units": [3, -50]})
    with pytest.raises(ValidationFailed):
        ingest_source(stores, "mem://late", "sales", IngestOptions(contract=contract))
    with pytest.raises(BadInputError, match="No table 'mem://nope'"):
        ingest_source(stores, "mem://nope", "sales")


def test_a_broken_plug_in_kind_blocks_no_other_source(stores, tmp_path):
    SOURCES.register_lazy("broken", "no_such_module_anywhere:Source")
    try:
        (tmp_path / "t.csv").write_text("a\n1\n")
        assert ingest_source(stores, tmp_path / "t.csv", "t")[0].rows == 1
    finally:
        SOURCES.unregister("broken")
