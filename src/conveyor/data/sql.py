"""SQL sources: a query over any SQLAlchemy URL, its result streamed in chunks of ``SQL_CHUNK_ROWS`` rows into the
version writer, so a large table never has to fit in memory (or read whole, when a contract or ``pii`` needs the
batch at once). SQLAlchemy is imported inside the calls, so commands that never read SQL never load it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pandas as pd
import pyarrow as pa

from conveyor.core.entities import DatasetVersion
from conveyor.core.errors import BadInputError, first_line
from conveyor.data.datasets import ingest_batches, to_table
from conveyor.store import Stores
from conveyor.store.urls import mask

SQL_CHUNK_ROWS = 100_000


def safe_url(url: str) -> str:
    import sqlalchemy as sa

    try:  # the password of the authority and any ?password=/?token=... query parameter
        return mask(sa.engine.make_url(url).render_as_string(hide_password=True))
    except sa.exc.ArgumentError:
        return "<unparseable URL>"


def sql_url(url: str) -> str:
    """The URL SQLAlchemy is given: ``postgresql://`` means the psycopg 3 driver conveyor installs."""
    return "postgresql+psycopg://" + url[len("postgresql://") :] if url.startswith("postgresql://") else url


def sql_label(url: str, query: str) -> str:
    """What a version made by a query records as its source (the password hidden)."""
    return f"sql:{safe_url(sql_url(url))}: {' '.join(query.split())}"


@contextmanager
def query_chunks(url: str, query: str, chunk_rows: int | None = None
                 ) -> Iterator[tuple[pd.DataFrame, Iterator[pd.DataFrame]]]:
    """(first chunk, the other chunks) of ``query``'s result on the database at ``url``, connected for the block.
    Any database error, raised here or while the chunks are read, becomes a BadInputError naming the query."""
    import sqlalchemy as sa

    if not query or not query.strip():
        raise BadInputError("The SQL query is empty.", field="query", hint="Pass --query 'SELECT ...'.")
    url = sql_url(url)
    try:
        engine = sa.create_engine(url)
    except sa.exc.ArgumentError as exc:
        raise BadInputError(f"Not a database URL: {first_line(exc)}", field="url",
                            hint="Use a SQLAlchemy URL: sqlite:///file.db, postgresql://user@host/db.") from None
    except ModuleNotFoundError as exc:
        raise BadInputError(f"No database driver for {url.split(':', 1)[0]!r} ({exc.name} is missing).",
                            field="url", hint="Install the driver package for that database.") from None
    try:
        with engine.connect() as conn:
            chunks = pd.read_sql_query(sa.text(query), conn, chunksize=chunk_rows or SQL_CHUNK_ROWS)
            first = next(chunks, None)
            if first is None or len(first) == 0:
                raise BadInputError(f"The query returned no rows: {query.strip()[:120]}", field="query",
                                    hint="Check the WHERE clause and the table's contents.")
            yield first, chunks
    except (sa.exc.DBAPIError, pd.errors.DatabaseError) as exc:
        cause = exc.__cause__ if isinstance(exc, pd.errors.DatabaseError) and exc.__cause__ else exc
        reason = first_line(getattr(cause, "orig", None) or cause)
        raise BadInputError(f"The SQL query failed on {safe_url(url)}: {reason}", field="query",
                            hint="Fix the query (table and column names, syntax) and try again.") from None
    except sa.exc.SQLAlchemyError as exc:
        raise BadInputError(f"The SQL query failed: {first_line(exc)}", field="query",
                            hint="Fix the query and try again.") from None
    finally:
        engine.dispose()


def ingest_sql(stores: Stores, url: str, query: str, name: str, *,
               progress: Callable[[int], None] | None = None, label: str | None = None
               ) -> tuple[DatasetVersion, bool]:
    """Run ``query`` on the database at ``url`` and stream the result into a version of ``name`` (recording
    ``label``, else the masked URL and the query, as its source)."""
    with query_chunks(url, query) as (first, chunks):
        table = to_table(first)
        return ingest_batches(stores, name, table.schema, _batches(table, chunks, progress),
                              source=label or sql_label(url, query))


def read_sql(url: str, query: str) -> pd.DataFrame:
    """The whole result of ``query`` (for checks that need the batch at once: contracts, personal data)."""
    with query_chunks(url, query) as (first, chunks):
        return pd.concat([first, *chunks], ignore_index=True)


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
