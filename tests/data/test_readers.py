"""File formats resolve through the reader registry: every built-in passes check_reader, a format can be named
when the extension does not say, a plug-in format is ingested like a built-in, and a broken one blocks nothing."""

from __future__ import annotations

import pandas as pd
import pytest

from conveyor.core.errors import BadInputError, NotFoundError
from conveyor.data.datasets import ingest_file, load_frame
from conveyor.data.readers import READERS, Reader, get_reader, read_file
from conveyor.testing.reader_check import check_reader


@pytest.mark.parametrize("name", ["csv", "parquet", "jsonl", "json"])
def test_every_built_in_reader_keeps_the_contract(name):
    assert name in READERS.names()
    result = check_reader(get_reader(name))
    assert [len(c) for c in result["chunks"]] == [2, 2, 1]


class Tsv(Reader):
    """A plug-in format: tab-separated text, read whole (not a streaming reader)."""

    name = "tsv"
    suffixes = (".tsv", ".tab")

    def read(self, path):
        return pd.read_csv(path, sep="\t")

    def write(self, frame, path):
        frame.to_csv(path, sep="\t", index=False)


@pytest.fixture
def tsv():
    READERS.register("tsv", Tsv)
    yield
    READERS.unregister("tsv")


def test_a_registered_format_passes_the_check_and_is_ingested_by_extension(stores, tmp_path, tsv):
    check_reader(get_reader("tsv"))
    path = tmp_path / "cities.tab"
    path.write_text("city\tpeople\nberlin\t3.7\nparis\t2.1\n")
    version, created = ingest_file(stores, path, "cities")
    assert created and load_frame(stores, version)["city"].tolist() == ["berlin", "paris"]


def test_a_file_can_name_its_format_when_the_extension_does_not(stores, tmp_path):
    path = tmp_path / "export.txt"
    path.write_text("a,b\n1,x\n2,y\n")
    with pytest.raises(BadInputError, match=r"unknown extension '\.txt'.*\.csv.*format="):
        read_file(path)
    assert read_file(path, format="csv")["b"].tolist() == ["x", "y"]
    version, _ = ingest_file(stores, path, "export", format="csv")
    assert version.rows == 2 and version.meta["options"] == {"format": "csv"}


def test_a_mistyped_format_says_did_you_mean(tmp_path):
    path = tmp_path / "export.txt"
    path.write_text("a\n1\n")
    with pytest.raises(NotFoundError, match="Did you mean 'csv'") as caught:
        read_file(path, format="cvs")
    assert caught.value.field == "format"


def test_a_broken_plug_in_format_blocks_no_other_file(tmp_path):
    READERS.register_lazy("broken", "no_such_module_anywhere:Reader")
    try:
        path = tmp_path / "fine.csv"
        path.write_text("a\n1\n")
        assert read_file(path)["a"].tolist() == [1]
        (tmp_path / "x.broken").write_text("a\n1\n")
        with pytest.raises(BadInputError, match="could not be imported"):
            read_file(tmp_path / "x.broken")
    finally:
        READERS.unregister("broken")


class Lossy(Tsv):
    """Breaks the contract: write drops a column."""

    def write(self, frame, path):
        super().write(frame.drop(columns=["flag"]), path)


class ParseFailure(Exception):
    """What a format's own library might raise."""


class Crashing(Tsv):
    """Breaks the contract: its parser's own exception escapes instead of a BadInputError."""

    binary = True

    def read(self, path):
        if b"\x00" in path.read_bytes():
            raise ParseFailure("unexpected byte")
        return super().read(path)


class Declared(Crashing):
    """Keeps it: the parser's exception is declared, so load() turns it into a BadInputError."""

    errors = (*Crashing.errors, ParseFailure)


def test_a_reader_declaring_its_parsers_exceptions_passes():
    check_reader(Declared())


@pytest.mark.parametrize(("reader", "broken"), [
    (Lossy(), "differs from the one write\\(\\) wrote"),
    (Crashing(), "load\\(\\) of bytes of another format raised ParseFailure"),
])
def test_check_reader_catches_each_broken_rule(reader, broken):
    with pytest.raises(AssertionError, match=broken):
        check_reader(reader)
