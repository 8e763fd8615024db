"""Read user files into Arrow/pandas, turning every way a file can be wrong into one clear BadInputError.

CSV is read by Arrow's streaming reader, block by block, so a file larger than memory never has to fit at once.
Arrow guesses each column's type from the first block; when a later block disagrees (a decimal point in a column
that looked like integers, text in a numeric column) the read starts again with that column widened, so the
result does not depend on where the blocks happen to fall.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pyarrow as pa

from conveyor.core.errors import BadInputError, first_line

READERS = {
    ".csv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
}

# Values as the file holds them: "007" stays text, integers stay integers (not dates), floats parse exactly.
JSON_AS_WRITTEN = {"dtype": False, "precise_float": True}

CSV_BLOCK_SIZE = 16 * 1024 * 1024
"""Bytes per CSV block: large enough for a stable type guess, small enough that memory stays flat."""

# What other formats look like from their first bytes, to say what a mislabelled file really is.
MAGIC = {b"PAR1": "Parquet", b"PK\x03\x04": "a ZIP archive (xlsx, docx, zip)", b"\x1f\x8b": "gzip-compressed",
         b"%PDF": "a PDF", b"\x89PNG": "a PNG image", b"SQLite format 3": "an SQLite database"}

Progress = Callable[[int], None]
"""Called with the number of bytes read so far."""


def file_kind(path: Path) -> str:
    """The reader for ``path``, after checking it exists, is not empty, and is what its extension says."""
    if not path.exists():
        raise BadInputError(f"File not found: {path}.", field="source", hint="Check the path.")
    if path.is_dir():
        raise BadInputError(f"{path} is a folder.", field="source",
                            hint="Give one file (.csv, .parquet, .jsonl), or version the folder with `data add`.")
    kind = READERS.get(path.suffix.lower())
    if kind is None:
        raise BadInputError(f"Cannot read {path.name}: unknown extension {path.suffix!r}.", field="source",
                            hint=f"Use one of {', '.join(sorted(READERS))}.")
    if path.stat().st_size == 0:
        raise BadInputError(f"{path} is empty.", field="source", hint="Give a file with a header and rows.")
    with path.open("rb") as handle:
        head = handle.read(8192)
    looks_like = next((what for magic, what in MAGIC.items() if head.startswith(magic)), None)
    if kind != "parquet" and (looks_like or b"\x00" in head):
        raise BadInputError(f"{path} is not a {kind} file: it looks like {looks_like or 'binary data'}.",
                            field="source", hint="Give the file its real extension, or export it as text.")
    return kind


def read_file(path: str | Path) -> pd.DataFrame:
    path = Path(path)
    kind = file_kind(path)
    if kind == "csv":
        return read_csv_table(path).to_pandas()
    try:
        if kind == "parquet":
            frame = pd.read_parquet(path)
        elif kind == "jsonl":
            frame = pd.read_json(path, lines=True, **JSON_AS_WRITTEN)
        else:
            try:
                frame = pd.read_json(path, **JSON_AS_WRITTEN)
            except ValueError:
                frame = pd.read_json(path, lines=True, **JSON_AS_WRITTEN)
    except (ValueError, pd.errors.ParserError, pa.ArrowException, UnicodeDecodeError, OSError) as exc:
        raise BadInputError(f"Cannot read {path} as {kind}: {first_line(exc)}", field="source",
                            hint=f"Check that the file really is {kind} and is not truncated.") from None
    return frame


def read_csv_table(path: Path, block_size: int = CSV_BLOCK_SIZE) -> pa.Table:
    overrides: dict[str, pa.DataType] = {}
    while True:
        try:
            with open_csv(path, block_size, overrides) as reader:
                return pa.Table.from_batches(list(reader), schema=reader.schema)
        except TypeClash as clash:
            overrides[clash.column] = clash.type


class TypeClash(Exception):
    """A later CSV block does not fit the type guessed from the first: read again with ``column`` as ``type``."""

    def __init__(self, column: str, type_: pa.DataType) -> None:
        super().__init__(f"column {column!r} needs {type_}")
        self.column, self.type = column, type_


_CONVERSION = re.compile(r"In CSV column #(\d+): .*?CSV conversion error to (\w+).*?: invalid value '(.*)'", re.S)


class open_csv:
    """A streaming CSV reader: iterate for record batches; raises :class:`TypeClash` when a column must widen,
    :class:`BadInputError` for a file that cannot be read. ``progress`` gets the bytes read so far."""

    def __init__(self, path: Path, block_size: int = CSV_BLOCK_SIZE,
                 overrides: dict[str, pa.DataType] | None = None, progress: Progress | None = None) -> None:
        from pyarrow import csv as pacsv

        self.path, self.progress = path, progress
        self.header = _check_csv_header(path)
        # Arrow's own file, not a Python one: Arrow's read-ahead thread then never needs the GIL, which aborts the
        # process when it still runs at interpreter exit (apache/arrow#33975, #34314)
        self.handle = pa.OSFile(str(path), "rb")
        try:
            self.reader = pacsv.open_csv(
                self.handle, read_options=pacsv.ReadOptions(block_size=block_size),
                convert_options=pacsv.ConvertOptions(column_types=overrides or {}, strings_can_be_null=True))
        except pa.ArrowInvalid as exc:
            self.handle.close()
            raise _explain(path, self.header, exc) from None
        self.schema = self.reader.schema
        binary = [f.name for f in self.schema if pa.types.is_binary(f.type) or pa.types.is_large_binary(f.type)]
        if binary:  # Arrow falls back to raw bytes when a text column is not valid UTF-8
            self.handle.close()
            raise BadInputError(f"{path}: column {binary[0]!r} holds text that is not valid UTF-8 (mixed encodings?).",
                                field=binary[0], hint="Re-save the file as UTF-8.")

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        while True:
            try:
                batch = self.reader.read_next_batch()
            except StopIteration:
                return
            except pa.ArrowInvalid as exc:
                clash = _widening(self.schema, exc)
                if clash is None:
                    raise _explain(self.path, self.header, exc) from None
                raise clash from None
            if self.progress is not None:
                self.progress(self.handle.tell())
            yield batch

    def close(self) -> None:
        self.handle.close()

    def __enter__(self) -> open_csv:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def _widening(schema: pa.Schema, exc: Exception) -> TypeClash | None:
    match = _CONVERSION.search(str(exc))
    if not match or "UTF8" in str(exc):
        return None
    column, value = schema.names[int(match.group(1))], match.group(3)
    try:
        float(value)
    except ValueError:
        return TypeClash(column, pa.string())
    return TypeClash(column, pa.float64())


def _explain(path: Path, header: list[str], exc: Exception) -> BadInputError:
    text = str(exc)
    match = re.search(r"column #(\d+)", text)
    column = header[int(match.group(1))] if match and int(match.group(1)) < len(header) else None
    if "UTF8" in text or "utf8" in text.lower():
        return BadInputError(f"{path}: column {column!r} holds text that is not valid UTF-8 (mixed encodings?).",
                             field=column or "source", hint="Re-save the file as UTF-8.")
    if "Expected" in text and "columns" in text:
        return BadInputError(f"{path}: a row has a different number of fields than the header: {first_line(exc)}",
                             field="source", hint="Check the separator and quoting of that row.")
    return BadInputError(f"Cannot read {path} as csv: {first_line(exc)}", field=column or "source",
                         hint="Check that the file really is CSV and is not truncated.")


def _check_csv_header(path: Path) -> list[str]:
    """pandas renames a repeated header to ``a.1``; a repeated column is almost always a mistake, so say so."""
    with path.open(newline="", encoding="utf-8", errors="replace") as handle:
        header = next(csv.reader(handle), [])
    duplicates = sorted({name for name in header if header.count(name) > 1})
    if duplicates:
        raise BadInputError(f"{path} has duplicate column names: {', '.join(duplicates)}.", field=duplicates[0],
                            hint="Rename the columns so each name appears once.")
    return header
