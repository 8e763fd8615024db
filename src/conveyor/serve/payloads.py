"""Turn a scoring request body into the DataFrame a model expects.

Two steps, both pure functions so they are tested without a server:

1. *decode* the body into a raw frame: JSON in the four MLflow scoring formats (``dataframe_split``,
   ``dataframe_records``, ``instances``, ``inputs``) or a CSV body with a header row;
2. *conform* the raw frame to the model signature (:mod:`conveyor.serve.conform`): every expected column present,
   values of the right kind, columns cast and ordered as at training time.

Every problem is a :class:`BadInputError` (or a subclass carrying the HTTP status that fits) whose message names the
offending key, column or row, so a client can fix the request without reading server logs.
"""

from __future__ import annotations

import io
import json
import math
from typing import Any

import orjson
import pandas as pd

from conveyor.core.errors import (
    BadInputError,
    InvalidJSONError,
    PayloadTooLargeError,
    UnsupportedMediaTypeError,
)
from conveyor.core.jsonscan import nests_deeper_than
from conveyor.serve.conform import MAX_ROWS, Payload, conform

FORMATS = ("dataframe_split", "dataframe_records", "instances", "inputs")
JSON_TYPES = ("application/json",)
CSV_TYPES = ("text/csv", "application/csv")
PARQUET_TYPES = ("application/vnd.apache.parquet", "application/x-parquet", "application/parquet")
_SCALARS = (str, int, float, bool, type(None))


def media_type(content_type: str | None) -> str | None:
    """``"application/json; charset=utf-8"`` -> ``"application/json"``; None when the header is absent."""
    if not content_type:
        return None
    return content_type.split(";", 1)[0].strip().lower() or None


MAX_DEPTH = 32
"""JSON nesting allowed in a request body: scoring formats need 4 levels; ~1000 crashed error formatting."""
MAX_COLUMNS = 10_000
"""Columns (keys of a record, Parquet columns) per request: 300k JSON keys cost 5 CPU-s per request."""
MAX_DECODED_BYTES = 64 * 2**20
"""Decoded size of a Parquet body: ~1 KB of Parquet can decode to 200 MB (a decompression bomb)."""


def _check_depth(body: bytes) -> None:
    """Refuse a body nested deeper than :data:`MAX_DEPTH`."""
    if nests_deeper_than(body, MAX_DEPTH):
        raise BadInputError(f"The request body is nested deeper than {MAX_DEPTH} levels.", field="body",
                            hint="Send rows of plain values (dataframe_records, dataframe_split, inputs).")


def decode_json(body: bytes) -> Any:
    """Parse with orjson; fall back to the standard library, which also reads the ``NaN`` and ``Infinity`` literals
    Python's ``json.dumps`` writes (NaN then means missing, and infinities are rejected by column). A body nested
    deeper than :data:`MAX_DEPTH` is refused before it is parsed."""
    if not body.strip():
        raise InvalidJSONError("The request body is empty.", field="body", hint="Send a JSON object.")
    _check_depth(body)
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        try:
            return json.loads(body)
        except (ValueError, RecursionError):
            raise InvalidJSONError(f"The request body is not valid JSON: {exc}.", field="body") from None


def decode_json_body(body: bytes, content_type: str | None) -> Any:
    """A JSON body (the header may be absent); any other declared content type is a 415."""
    kind = media_type(content_type)
    if kind is not None and kind not in JSON_TYPES and not kind.endswith("+json"):
        raise UnsupportedMediaTypeError(f"Unsupported content type {content_type!r}.", field="Content-Type",
                                        hint="Send 'Content-Type: application/json'.")
    return decode_json(body)


def parse_feedback(body: Any, *, max_labels: int = MAX_ROWS) -> dict[str, Any]:
    """``{"id": ..., "label": ...}``, ``{"labels": {id: label, ...}}`` or ``{"labels": [{"id", "label"}, ...]}``
    -> ``{id: label}``."""
    if isinstance(body, dict) and set(body) == {"id", "label"}:
        labels = {body["id"]: body["label"]} if isinstance(body["id"], str) else None
    elif isinstance(body, dict) and set(body) == {"labels"} and isinstance(body["labels"], dict):
        labels = body["labels"]
    elif (isinstance(body, dict) and set(body) == {"labels"} and isinstance(body["labels"], list)
          and all(isinstance(i, dict) and set(i) == {"id", "label"} and isinstance(i["id"], str)
                  for i in body["labels"])):
        labels = {i["id"]: i["label"] for i in body["labels"]}
    else:
        labels = None
    if labels is None:
        raise BadInputError("Feedback must be {\"id\": PREDICTION_ID, \"label\": LABEL}, "
                            "{\"labels\": {PREDICTION_ID: LABEL, ...}} or {\"labels\": [{\"id\": ..., "
                            "\"label\": ...}, ...]}.", field="body",
                            hint="Prediction ids are in the 'ids' of a /invocations answer.")
    if not labels:
        raise BadInputError("'labels' is empty.", field="labels", hint="Send at least one prediction id.")
    if len(labels) > max_labels:
        raise PayloadTooLargeError(f"{len(labels)} labels in one request; at most {max_labels}.", field="labels")
    for pid, label in labels.items():
        if not pid:
            raise BadInputError("A prediction id is empty.", field="id")
        if label is None or not isinstance(label, _SCALARS):
            raise BadInputError(f"The label for prediction {pid!r} must be a number, text or true/false; got "
                                f"{label!r}.", field="label")
        if isinstance(label, float) and not math.isfinite(label):
            raise BadInputError(f"The label for prediction {pid!r} is {label}; labels must be finite.",
                                field="label", hint="Send the observed value, or no feedback for that id.")
    return dict(labels)


def parse_body(body: bytes, content_type: str | None, inputs: list[dict[str, Any]], *,
               max_rows: int = MAX_ROWS) -> Payload:
    """Decode a ``POST /invocations`` body by its content type (JSON when the header is absent) and conform it."""
    kind = media_type(content_type)
    if kind in CSV_TYPES:
        return conform(frame_from_csv(body, inputs, max_rows=max_rows), inputs, max_rows=max_rows)
    if kind in PARQUET_TYPES:
        return conform(frame_from_parquet(body, max_rows=max_rows), inputs, max_rows=max_rows)
    if kind is None or kind in JSON_TYPES or kind.endswith("+json"):
        return parse_json_payload(decode_json(body), inputs, max_rows=max_rows)
    raise UnsupportedMediaTypeError(
        f"Unsupported content type {content_type!r}.", field="Content-Type",
        hint="Send 'Content-Type: application/json' (MLflow scoring formats), 'text/csv' or "
             "'application/vnd.apache.parquet'.")


def parse_json_payload(body: Any, inputs: list[dict[str, Any]], *, max_rows: int = MAX_ROWS) -> Payload:
    return conform(frame_from_json(body, [c["name"] for c in inputs], max_rows=max_rows), inputs, max_rows=max_rows)


def frame_from_json(body: Any, names: list[str], *, max_rows: int = MAX_ROWS) -> pd.DataFrame:
    """The raw frame of an MLflow scoring body; ``names`` (the signature's input order) places positional rows."""
    if isinstance(body, dict) and "params" in body:  # MLflow clients may send inference params
        body = dict(body)
        if body.pop("params") not in (None, {}):
            raise BadInputError("This model takes no inference params.", field="params",
                                hint="Leave 'params' out of the request.")
    if not isinstance(body, dict) or len(body) != 1 or next(iter(body)) not in FORMATS:
        keys = sorted(body) if isinstance(body, dict) else type(body).__name__
        raise BadInputError(f"Unrecognised payload: expected a JSON object with exactly one of the keys "
                            f"{', '.join(FORMATS)}; got {keys}.", field="body",
                            hint='For example {"dataframe_records": [{"col": 1.0}]}.')
    key, value = next(iter(body.items()))
    if key == "dataframe_split":
        return _from_split(value, names, max_rows)
    if key == "dataframe_records":
        return _from_rows(value, names, max_rows, key, allow_lists=False)
    if key == "inputs" and isinstance(value, dict):
        return _from_columns(value, max_rows)
    return _from_rows(value, names, max_rows, key, allow_lists=True)


def _check_columns(count: int, key: str) -> None:
    if count > MAX_COLUMNS:
        raise PayloadTooLargeError(f"{key!r} holds rows of {count} columns; at most {MAX_COLUMNS} are read.",
                                   field=key, hint="Send only the model's input columns.")


def _check_rows(count: int, max_rows: int, key: str) -> None:
    if count == 0:
        raise BadInputError(f"{key!r} holds no rows.", field=key, hint="Send at least one row to score.")
    if count > max_rows:
        raise PayloadTooLargeError(f"{key!r} holds {count} rows; at most {max_rows} are scored per request.",
                                   field=key, hint="Split the data into smaller requests.")


def _positional(rows: list[list[Any]], columns: list[str], key: str) -> pd.DataFrame:
    width = len(columns)
    for i, row in enumerate(rows):
        if not isinstance(row, list) or len(row) != width:
            got = f"{len(row)} values" if isinstance(row, list) else f"a {type(row).__name__}"
            raise BadInputError(f"{key} row {i} has {got}; expected a list of {width} values "
                                f"({', '.join(columns)}).", field=key)
    return pd.DataFrame(rows, columns=columns)


def _from_split(value: Any, names: list[str], max_rows: int) -> pd.DataFrame:
    if not isinstance(value, dict) or not isinstance(value.get("data"), list):
        raise BadInputError("'dataframe_split' must be an object with a 'data' list of rows (and 'columns').",
                            field="dataframe_split", hint='For example {"columns": ["a"], "data": [[1.0]]}.')
    unknown = sorted(set(value) - {"columns", "data", "index"})
    if unknown:
        raise BadInputError(f"'dataframe_split' has unknown keys {unknown}.", field="dataframe_split",
                            hint="Use 'columns', 'data' and optionally 'index'.")
    columns = value.get("columns", names)
    if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
        raise BadInputError("'dataframe_split.columns' must be a list of column names.", field="columns")
    if len(set(columns)) != len(columns):
        dupes = sorted({c for c in columns if columns.count(c) > 1})
        raise BadInputError(f"Duplicate column names {dupes} in 'dataframe_split.columns'.", field="columns")
    if not columns:
        raise BadInputError("'dataframe_split' has no columns.", field="columns")
    _check_columns(len(columns), "columns")
    _check_rows(len(value["data"]), max_rows, "dataframe_split")
    return _positional(value["data"], columns, "dataframe_split.data")


def _from_rows(value: Any, names: list[str], max_rows: int, key: str, *, allow_lists: bool) -> pd.DataFrame:
    shape = "a list of objects" + (" or of lists in the signature's input order" if allow_lists else "")
    if not isinstance(value, list):
        raise BadInputError(f"{key!r} must be {shape}; got a {type(value).__name__}.", field=key)
    _check_rows(len(value), max_rows, key)
    if all(isinstance(row, dict) for row in value):
        _check_columns(max((len(row) for row in value), default=0), key)
        return pd.DataFrame.from_records(value)
    if allow_lists and all(isinstance(row, list) for row in value):
        if not names:
            raise BadInputError(f"{key!r} rows are lists, but the model signature names no inputs to match them "
                                "to.", field=key, hint="Send objects mapping column names to values.")
        return _positional(value, names, key)
    if allow_lists and len(names) == 1 and all(isinstance(v, _SCALARS) for v in value):
        return pd.DataFrame({names[0]: value})  # a 1-D tensor for a one-input model: one value per row
    allowed = (dict, list) if allow_lists else (dict,)
    first = type(value[0]) if isinstance(value[0], allowed) else None
    bad = next(i for i, row in enumerate(value) if first is None or not isinstance(row, first))
    raise BadInputError(f"{key}[{bad}] is a {type(value[bad]).__name__} (row 0 is a {type(value[0]).__name__}); "
                        f"{key!r} must be {shape}.", field=key)


def _from_columns(value: dict[str, Any], max_rows: int) -> pd.DataFrame:
    """``{"inputs": {"col": [..], ...}}``: columnar; a dict of scalars is a single row."""
    _check_columns(len(value), "inputs")
    if value and all(isinstance(v, _SCALARS) for v in value.values()):
        value = {k: [v] for k, v in value.items()}
    lengths = {k: len(v) for k, v in value.items() if isinstance(v, list)}
    bad = [k for k in value if k not in lengths]
    if bad:
        raise BadInputError(f"'inputs' column {bad[0]!r} must be a list of values.", field=bad[0])
    _check_rows(max(lengths.values(), default=0), max_rows, "inputs")
    if len(set(lengths.values())) > 1:
        first = next(iter(lengths))
        odd = next(k for k, n in lengths.items() if n != lengths[first])
        raise BadInputError(f"'inputs' columns differ in length: {first!r} has {lengths[first]} values, {odd!r} has "
                            f"{lengths[odd]}.", field=odd, hint="Send the same number of values for every column.")
    return pd.DataFrame(value)


def frame_from_csv(body: bytes, inputs: list[dict[str, Any]], *, max_rows: int = MAX_ROWS) -> pd.DataFrame:
    """A CSV body with a header row. Categorical columns are read as text so ``"007"`` stays ``"007"``."""
    text_columns = {c["name"]: str for c in inputs if c.get("kind") in ("categorical", "datetime")}
    try:
        frame = pd.read_csv(io.BytesIO(body), dtype=text_columns or None, nrows=max_rows + 1)
    except pd.errors.EmptyDataError:
        raise BadInputError("The CSV body is empty.", field="body",
                            hint="Send a header row with the column names, then one line per row.") from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise BadInputError(f"Could not parse the CSV body: {exc}".rstrip(".") + ".", field="body") from None
    if not isinstance(frame.index, pd.RangeIndex):  # more fields than the header: pandas shifts them into an index
        raise BadInputError("A CSV row has more fields than the header row; its values would be scored shifted.",
                            field="body", hint="Quote fields that contain commas, or fix the row.")
    if len(frame) > max_rows:
        raise PayloadTooLargeError(f"The CSV body holds more than {max_rows} rows; at most {max_rows} are scored "
                                   "per request.", field="body", hint="Split the data into smaller requests.")
    return frame


def frame_from_parquet(body: bytes, *, max_rows: int = MAX_ROWS) -> pd.DataFrame:
    """A Parquet file as the body. Read from an Arrow buffer, not a Python file object (see data.readers)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not body:
        raise BadInputError("The Parquet body is empty.", field="body", hint="Send a Parquet file.")
    try:
        parquet = pq.ParquetFile(pa.BufferReader(body))
        meta = parquet.metadata
        rows = meta.num_rows
        if rows > max_rows:
            raise PayloadTooLargeError(f"The Parquet body holds {rows} rows; at most {max_rows} are scored per "
                                       "request.", field="body", hint="Split the data into smaller requests.")
        if meta.num_columns > MAX_COLUMNS:
            raise PayloadTooLargeError(f"The Parquet body has {meta.num_columns} columns; at most {MAX_COLUMNS} "
                                       "are read.", field="body", hint="Send only the model's input columns.")
        names = parquet.schema_arrow.names
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise BadInputError(f"The Parquet body repeats the column {repeated[0]!r}.", field="body",
                                hint="Give every column a unique name.")
        batches, decoded = [], 0
        for batch in parquet.iter_batches(batch_size=256):  # decoded a slice at a time, so the bound holds in memory
            decoded += batch.nbytes
            if decoded > MAX_DECODED_BYTES:
                raise PayloadTooLargeError(f"The Parquet body decodes to more than {MAX_DECODED_BYTES} bytes; at "
                                           "most that much is read per request.", field="body",
                                           hint="Split the data into smaller requests.")
            batches.append(batch)
        return pa.Table.from_batches(batches, schema=parquet.schema_arrow).to_pandas()
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise BadInputError(f"Could not read the Parquet body: {str(exc).splitlines()[0][:200]}", field="body",
                            hint="Send a Parquet file written by pandas, pyarrow or Spark.") from None
