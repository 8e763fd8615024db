"""SQL feature views: a view's source rows computed by DuckDB from the source dataset version's Parquet.

The query reads the version as the table ``source`` (and under the dataset's own name). It derives *rows*, each
with the view's keys and timestamp, exactly as a Python transform does; the point-in-time join then runs on those
rows, so a SQL view obeys the same rules as the others (a value at or before the entity row's time, within the TTL).
A query that looks only backwards (``WHERE``, expressions, window functions ``ORDER BY ts ROWS ... PRECEDING``) keeps
that guarantee; one that aggregates a whole entity's history (``GROUP BY customer_id``) or looks ahead does not:
use the view's ``agg``/``window`` features for that.
"""

from __future__ import annotations

import re

import pandas as pd
import pyarrow as pa

from conveyor.core.dependencies import require
from conveyor.core.errors import BadInputError, first_line

TABLE = "source"
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def run_sql(view: str, sql: str, data: pa.Table | pd.DataFrame, dataset: str, label: str) -> pd.DataFrame:
    """The rows ``sql`` returns over ``data`` (the version ``label`` of dataset ``dataset``), read as the table
    ``source`` and as ``dataset`` where that is a plain identifier. BadInputError naming the view on a bad query."""
    duckdb = require("duckdb", "features", field=f"{view}.sql")
    table = data if isinstance(data, pa.Table) else pa.Table.from_pandas(data, preserve_index=False)
    connection = duckdb.connect(":memory:")
    try:
        connection.register(TABLE, table)
        if _IDENTIFIER.match(dataset) and dataset.lower() != TABLE:
            connection.register(dataset, table)
        try:
            relation = connection.sql(sql)
            if relation is None:  # a statement, not a query
                raise BadInputError(f"The SQL of feature view {view!r} returns no rows.", field=f"{view}.sql",
                                    hint="Write one SELECT over the table 'source'.")
            fetch = getattr(relation, "to_arrow_table", None) or relation.arrow  # DuckDB 2 / 1
            result = fetch()
        except duckdb.Error as exc:
            raise BadInputError(f"The SQL of feature view {view!r} failed on {label}: {first_line(exc)}",
                                field=f"{view}.sql", hint=f"Fix the query; it reads the table {TABLE!r}.") from None
        return result.to_pandas()
    finally:
        connection.close()
