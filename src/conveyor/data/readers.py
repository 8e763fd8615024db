"""Readers: file formats turned into DataFrames, with every way a file can be wrong made one clear BadInputError.

A :class:`Reader` is one format (CSV, Parquet, JSON lines, JSON, or a plug-in's). Its contract:

* ``name`` is what a user types to force it (``format="csv"``) and ``suffixes`` the extensions it claims
  (lower case, with the dot);
* ``read(path)`` returns the whole file as a DataFrame, values as the file holds them (``"007"`` stays text where
  the format can tell, integers stay integers); ``write(frame, path)`` writes a file ``read`` gives back equal;
* ``chunks(path, rows)`` yields the file in DataFrames of at most ``rows`` rows, in order, for batch scoring of
  files larger than memory (the default reads the whole file and slices it); ``text_columns`` must stay text;
* callers use the derived :meth:`Reader.load` and :meth:`Reader.load_chunks`: they refuse a missing, empty,
  folder or mislabelled file before the reader sees it, and turn what the format's parser raises (``errors``)
  into a BadInputError naming the file and the format. Readers keep no state between calls.

:class:`StreamingReader` adds ``open_batches``: the file as Arrow record batches, so ingest writes a version
without ever holding the file in memory (CSV does this; see ``csv_reader.py``).

The registry :data:`READERS` holds the built-ins; other packages add formats through the entry-point group
``conveyor.readers`` (a Reader subclass or instance)::

    [project.entry-points."conveyor.readers"]
    xlsx = "my_package.excel:ExcelReader"

``conveyor.testing.reader_check.check_reader`` proves a reader keeps this contract.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Iterator
from pathlib import Path
from typing import Any, ClassVar

import pandas as pd
import pyarrow as pa

from conveyor.core.errors import BadInputError, ConveyorError, NotFoundError, first_line
from conveyor.core.plugins import Registry

log = logging.getLogger("conveyor.data")

# Values as the file holds them: "007" stays text, integers stay integers (not dates), floats parse exactly.
JSON_AS_WRITTEN = {"dtype": False, "precise_float": True}

# What other formats look like from their first bytes, to say what a mislabelled file really is.
MAGIC = {b"PAR1": "Parquet", b"PK\x03\x04": "a ZIP archive (xlsx, docx, zip)", b"\x1f\x8b": "gzip-compressed",
         b"%PDF": "a PDF", b"\x89PNG": "a PNG image", b"SQLite format 3": "an SQLite database"}

PARSE_ERRORS: tuple[type[Exception], ...] = (ValueError, pd.errors.ParserError, pa.ArrowException,
                                             UnicodeDecodeError, OSError, KeyError, TypeError)
"""What a reader's library raises for a file it cannot parse; :meth:`Reader.load` turns them into BadInputError."""

Progress = Callable[[int], None]
"""Called with the number of bytes read so far."""


class TypeClash(Exception):
    """A later block of a streamed file does not fit the type guessed from the first: read again with ``column``
    as ``type`` (raised by :meth:`StreamingReader.open_batches` iterators)."""

    def __init__(self, column: str, type_: pa.DataType) -> None:
        super().__init__(f"column {column!r} needs {type_}")
        self.column, self.type = column, type_


class Reader(ABC):
    """One file format. Subclasses set ``name`` and ``suffixes`` and implement ``read`` and ``write``."""

    name: ClassVar[str]
    suffixes: ClassVar[tuple[str, ...]]
    binary: ClassVar[bool] = False
    """Binary formats skip the check that the file looks like text."""
    errors: ClassVar[tuple[type[Exception], ...]] = PARSE_ERRORS
    """What the format's library raises for a bad file; extend it for a library with its own exceptions."""

    @abstractmethod
    def read(self, path: Path) -> pd.DataFrame:
        """The whole file as a DataFrame."""

    @abstractmethod
    def write(self, frame: pd.DataFrame, path: Path) -> None:
        """Write ``frame`` (no index) so that ``read`` gives it back equal."""

    def chunks(self, path: Path, rows: int, *, text_columns: Collection[str] = ()) -> Iterator[pd.DataFrame]:
        """The file in DataFrames of at most ``rows`` rows; by default the whole file read once, then sliced."""
        frame = self.read(path)
        for start in range(0, max(len(frame), 1), rows):
            yield frame.iloc[start : start + rows]

    def count_rows(self, path: Path) -> int | None:
        """The number of rows when the format records it (cheaply), else None."""
        return None

    # derived once: the checks and the error translation every format shares
    def load(self, path: str | Path) -> pd.DataFrame:
        path = check_file(Path(path), self)
        try:
            return self.read(path)
        except ConveyorError:
            raise
        except self.errors as exc:
            raise self.cannot_read(path, exc) from None

    def load_chunks(self, path: str | Path, rows: int, *,
                    text_columns: Collection[str] = ()) -> Iterator[pd.DataFrame]:
        path = check_file(Path(path), self)
        iterator = self.chunks(path, rows, text_columns=text_columns)
        while True:
            try:
                chunk = next(iterator)
            except StopIteration:
                return
            except ConveyorError:
                raise
            except self.errors as exc:
                raise self.cannot_read(path, exc) from None
            yield chunk

    def cannot_read(self, path: Path, exc: BaseException) -> BadInputError:
        return BadInputError(f"Cannot read {path} as {self.name}: {first_line(exc)}", field="source",
                             hint=f"Check that the file really is {self.name} and is not truncated.")

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, suffixes={self.suffixes!r})"


class StreamingReader(Reader):
    """A reader that can also hand over the file as Arrow record batches (ingest then keeps memory flat)."""

    @abstractmethod
    def open_batches(self, path: Path, *, block_size: int, overrides: dict[str, pa.DataType] | None = None,
                     progress: Progress | None = None) -> Any:
        """A context manager with ``schema`` that iterates record batches; its iteration may raise
        :class:`TypeClash` to ask for a new pass with a column widened."""


class ParquetReader(Reader):
    name = "parquet"
    suffixes = (".parquet", ".pq")
    binary = True

    def read(self, path: Path) -> pd.DataFrame:
        return pd.read_parquet(path)

    def write(self, frame: pd.DataFrame, path: Path) -> None:
        frame.to_parquet(path, index=False)

    def chunks(self, path: Path, rows: int, *, text_columns: Collection[str] = ()) -> Iterator[pd.DataFrame]:
        import pyarrow.parquet as pq

        for batch in pq.ParquetFile(path).iter_batches(batch_size=rows):
            yield batch.to_pandas()

    def count_rows(self, path: Path) -> int | None:
        import pyarrow.parquet as pq

        return pq.ParquetFile(path).metadata.num_rows


class JsonLinesReader(Reader):
    name = "jsonl"
    suffixes = (".jsonl", ".ndjson")

    def read(self, path: Path) -> pd.DataFrame:
        return pd.read_json(path, lines=True, **JSON_AS_WRITTEN)

    def write(self, frame: pd.DataFrame, path: Path) -> None:
        frame.to_json(path, orient="records", lines=True)

    def chunks(self, path: Path, rows: int, *, text_columns: Collection[str] = ()) -> Iterator[pd.DataFrame]:
        with pd.read_json(path, lines=True, chunksize=rows, **JSON_AS_WRITTEN) as reader:
            yield from reader


class JsonReader(Reader):
    """One JSON document (records or columns); a file of JSON lines named .json is read as lines."""

    name = "json"
    suffixes = (".json",)

    def read(self, path: Path) -> pd.DataFrame:
        try:
            return pd.read_json(path, **JSON_AS_WRITTEN)
        except ValueError:
            return pd.read_json(path, lines=True, **JSON_AS_WRITTEN)

    def write(self, frame: pd.DataFrame, path: Path) -> None:
        frame.to_json(path, orient="records")


def _check_reader(name: str, value: object) -> None:
    target = value if isinstance(value, type) else type(value)
    if not (isinstance(target, type) and issubclass(target, Reader)):
        raise BadInputError(f"The reader {name!r} is {target.__name__}, not a conveyor.data.readers.Reader.",
                            field="format", hint="Make the entry point name a Reader subclass or instance.")


READERS: Registry[Reader | type[Reader]] = Registry("file format", "conveyor.readers", field="format",
                                                    check=_check_reader)
BUILT_INS = ("csv", "parquet", "jsonl", "json")
READERS.register_lazy("csv", "conveyor.data.csv_reader:CsvReader")  # imports pyarrow.csv on first use
READERS.register("parquet", ParquetReader())
READERS.register("jsonl", JsonLinesReader())
READERS.register("json", JsonReader())


def get_reader(name: str) -> Reader:
    """The reader registered as ``name`` (``format=``); NotFoundError with "did you mean" naming ``format``."""
    value = READERS.get(name)
    return value() if isinstance(value, type) else value


def reader_for(path: str | Path, format: str | None = None) -> Reader:
    """The reader of ``path``: the one named ``format``, else the one whose suffixes hold the file's extension."""
    if format is not None:
        return get_reader(format)
    path = Path(path)
    suffix = path.suffix.lower()
    known: list[str] = []
    for name in READERS.names():
        try:
            reader = get_reader(name)
        except (BadInputError, NotFoundError, ImportError) as exc:  # a broken plug-in must not block csv
            if name in BUILT_INS or name == suffix.lstrip("."):
                raise
            log.warning("file format %r could not be loaded: %s", name, exc)
            continue
        if suffix in reader.suffixes:
            return reader
        known.extend(reader.suffixes)
    if path.is_dir():
        raise BadInputError(f"{path} is a folder.", field="source",
                            hint="Give one file (.csv, .parquet, .jsonl), or version the folder with `data add`.")
    raise BadInputError(f"Cannot read {path.name}: unknown extension {path.suffix!r}.", field="source",
                        hint=f"Use one of {', '.join(sorted(known))}, or name the format (format=...).")


def check_file(path: Path, reader: Reader) -> Path:
    """``path``, after checking it exists, is a file, is not empty, and looks like what ``reader`` reads."""
    if not path.exists():
        raise BadInputError(f"File not found: {path}.", field="source", hint="Check the path.")
    if path.is_dir():
        raise BadInputError(f"{path} is a folder.", field="source",
                            hint="Give one file (.csv, .parquet, .jsonl), or version the folder with `data add`.")
    if path.stat().st_size == 0:
        raise BadInputError(f"{path} is empty.", field="source", hint="Give a file with a header and rows.")
    if not reader.binary:
        with path.open("rb") as handle:
            head = handle.read(8192)
        looks_like = next((what for magic, what in MAGIC.items() if head.startswith(magic)), None)
        if looks_like or b"\x00" in head:
            raise BadInputError(f"{path} is not a {reader.name} file: it looks like {looks_like or 'binary data'}.",
                                field="source", hint="Give the file its real extension, or export it as text.")
    return path


def checked_reader(path: str | Path, format: str | None = None) -> Reader:
    """The reader for ``path`` after the checks of :func:`check_file` (nothing is parsed yet)."""
    path = Path(path)
    if not path.exists():
        raise BadInputError(f"File not found: {path}.", field="source", hint="Check the path.")
    reader = reader_for(path, format)
    check_file(path, reader)
    return reader


def file_kind(path: Path, format: str | None = None) -> str:
    """The name of the reader for ``path``, after the checks of :func:`check_file`."""
    return checked_reader(path, format).name


def read_file(path: str | Path, format: str | None = None) -> pd.DataFrame:
    """The whole file as a DataFrame, read by its format's reader; any problem is one BadInputError."""
    return checked_reader(path, format).load(path)
