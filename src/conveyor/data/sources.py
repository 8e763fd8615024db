"""Sources that are not files: a SQL query over any SQLAlchemy URL, and the DataFrame a Python function returns.

A SQL result streams in chunks of ``SQL_CHUNK_ROWS`` rows into the version writer, so a large table never has to
fit in memory. SQLAlchemy is imported here, inside the call, so commands that never read SQL never load it.
"""

from __future__ import annotations

import importlib
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pyarrow as pa

from conveyor.core.entities import DatasetVersion
from conveyor.core.errors import BadInputError, first_line
from conveyor.data.datasets import ingest_batches, ingest_frame, to_table
from conveyor.store import Stores

SQL_CHUNK_ROWS = 100_000
FUNCTION_REF = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")


def is_function_ref(text: str) -> bool:
    return bool(FUNCTION_REF.match(text))


def _safe_url(url: str) -> str:
    import sqlalchemy as sa

    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return "<unparseable URL>"


def ingest_sql(stores: Stores, url: str, query: str, name: str, *,
               progress: Callable[[int], None] | None = None) -> tuple[DatasetVersion, bool]:
    """Run ``query`` on the database at ``url`` and store the result as a version of ``name``."""
    import sqlalchemy as sa

    if not query or not query.strip():
        raise BadInputError("The SQL query is empty.", field="query", hint="Pass --query 'SELECT ...'.")
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    try:
        engine = sa.create_engine(url)
    except sa.exc.ArgumentError as exc:
        raise BadInputError(f"Not a database URL: {first_line(exc)}", field="url",
                            hint="Use a SQLAlchemy URL: sqlite:///file.db, postgresql://user@host/db.") from None
    except ModuleNotFoundError as exc:
        raise BadInputError(f"No database driver for {url.split(':', 1)[0]!r} ({exc.name} is missing).",
                            field="url", hint="Install the driver package for that database.") from None
    source = f"sql:{_safe_url(url)}: {' '.join(query.split())}"
    try:
        with engine.connect() as conn:
            chunks = pd.read_sql_query(sa.text(query), conn, chunksize=SQL_CHUNK_ROWS)
            first = next(chunks, None)
            if first is None or len(first) == 0:
                raise BadInputError(f"The query returned no rows: {query.strip()[:120]}", field="query",
                                    hint="Check the WHERE clause and the table's contents.")
            table = to_table(first)
            return ingest_batches(stores, name, table.schema, _batches(table, chunks, progress), source=source)
    except (sa.exc.DBAPIError, pd.errors.DatabaseError) as exc:
        cause = exc.__cause__ if isinstance(exc, pd.errors.DatabaseError) and exc.__cause__ else exc
        reason = first_line(getattr(cause, "orig", None) or cause)
        raise BadInputError(f"The SQL query failed on {_safe_url(url)}: {reason}", field="query",
                            hint="Fix the query (table and column names, syntax) and try again.") from None
    except sa.exc.SQLAlchemyError as exc:
        raise BadInputError(f"The SQL query failed: {first_line(exc)}", field="query",
                            hint="Fix the query and try again.") from None
    finally:
        engine.dispose()


def _batches(first: pa.Table, chunks: Iterator[pd.DataFrame],
             progress: Callable[[int], None] | None) -> Iterator[pa.RecordBatch]:
    rows = first.num_rows
    yield from first.to_batches()
    for chunk in chunks:
        rows += len(chunk)
        try:
            yield from to_table(chunk).cast(first.schema).to_batches()
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise BadInputError(f"A later chunk of the query result changes a column's type: {first_line(exc)}",
                                field="query", hint="CAST the column to one type in the query.") from None
        if progress is not None:
            progress(rows)


def ingest_function(stores: Stores, ref: str, name: str, *, search_path: Path | None = None
                    ) -> tuple[DatasetVersion, bool]:
    """Call ``module:function`` (no arguments) and store the DataFrame it returns."""
    return ingest_frame(stores, call_function(ref, search_path), name, source=f"python:{ref}")


def call_function(ref: str, search_path: Path | None = None) -> pd.DataFrame:
    """The DataFrame ``module:function`` returns, the module found on ``search_path`` first."""
    if not is_function_ref(ref):
        raise BadInputError(f"{ref!r} is not a function reference.", field="source",
                            hint="Write it as module.path:function_name.")
    module_name, _, function_name = ref.partition(":")
    added = search_path is not None and str(search_path) not in sys.path
    if added:
        sys.path.insert(0, str(search_path))
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise BadInputError(f"Cannot import {module_name!r}: {first_line(exc)}", field="source",
                            hint="Run from the folder that holds the module, or install it.") from None
    finally:
        if added:
            sys.path.remove(str(search_path))
    function = getattr(module, function_name, None)
    if not callable(function):
        raise BadInputError(f"{module_name!r} has no function {function_name!r}.", field="source",
                            hint="Check the name after the colon.")
    try:
        frame = function()
    except Exception as exc:  # the user's code failed: say where, not a traceback of ours
        raise BadInputError(f"{ref} raised {type(exc).__name__}: {first_line(exc)}", field="source",
                            hint="Fix the function, then ingest again.") from None
    if not isinstance(frame, pd.DataFrame):
        raise BadInputError(f"{ref} returned {type(frame).__name__}, not a pandas DataFrame.", field="source",
                            hint="Return a DataFrame from the function.")
    return frame
