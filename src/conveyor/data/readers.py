"""Read user files into DataFrames, turning every way a file can be wrong into one clear BadInputError."""

from __future__ import annotations

import csv
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


def read_file(path: str | Path) -> pd.DataFrame:
    path = Path(path)
    if not path.exists():
        raise BadInputError(f"File not found: {path}.", field="source", hint="Check the path.")
    if path.is_dir():
        raise BadInputError(f"{path} is a folder.", field="source",
                            hint="Give one file (.csv, .parquet, .jsonl).")
    kind = READERS.get(path.suffix.lower())
    if kind is None:
        raise BadInputError(f"Cannot read {path.name}: unknown extension {path.suffix!r}.", field="source",
                            hint=f"Use one of {', '.join(sorted(READERS))}.")
    if path.stat().st_size == 0:
        raise BadInputError(f"{path} is empty.", field="source", hint="Give a file with a header and rows.")
    try:
        if kind == "csv":
            _check_csv_header(path)
            frame = pd.read_csv(path)
        elif kind == "parquet":
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




def _check_csv_header(path: Path) -> None:
    """pandas renames a repeated header to ``a.1``; a repeated column is almost always a mistake, so say so."""
    with path.open(newline="", encoding="utf-8", errors="replace") as handle:
        header = next(csv.reader(handle), [])
    duplicates = sorted({name for name in header if header.count(name) > 1})
    if duplicates:
        raise BadInputError(f"{path} has duplicate column names: {', '.join(duplicates)}.", field="columns",
                            hint="Rename the columns so each name appears once.")
