"""CSV, read by Arrow's streaming reader block by block, so a file larger than memory never has to fit at once.

Arrow guesses each column's type from the first block; when a later block disagrees (a decimal point in a column
that looked like integers, text in a numeric column) the iteration raises :class:`~conveyor.data.readers.TypeClash`
and the caller reads again with that column widened, so the result does not depend on where the blocks fall.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Collection, Iterator
from pathlib import Path

import pandas as pd
import pyarrow as pa

from conveyor.core.errors import BadInputError, first_line
from conveyor.data.readers import Progress, StreamingReader, TypeClash

CSV_BLOCK_SIZE = 16 * 1024 * 1024
"""Bytes per CSV block: large enough for a stable type guess, small enough that memory stays flat."""


class CsvReader(StreamingReader):
    name = "csv"
    suffixes = (".csv",)

    def read(self, path: Path) -> pd.DataFrame:
        return read_csv_table(path).to_pandas()

    def write(self, frame: pd.DataFrame, path: Path) -> None:
        frame.to_csv(path, index=False)

    def chunks(self, path: Path, rows: int, *, text_columns: Collection[str] = ()) -> Iterator[pd.DataFrame]:
        with pd.read_csv(path, chunksize=rows, dtype=dict.fromkeys(text_columns, str) or None) as reader:
            yield from reader

    def open_batches(self, path: Path, *, block_size: int = CSV_BLOCK_SIZE,
                     overrides: dict[str, pa.DataType] | None = None, progress: Progress | None = None) -> open_csv:
        return open_csv(path, block_size, overrides, progress)


def read_csv_table(path: Path, block_size: int = CSV_BLOCK_SIZE) -> pa.Table:
    overrides: dict[str, pa.DataType] = {}
    while True:
        try:
            with open_csv(path, block_size, overrides) as reader:
                return pa.Table.from_batches(list(reader), schema=reader.schema)
        except TypeClash as clash:
            overrides[clash.column] = clash.type


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
