"""Check a raw request frame against a model signature and cast it to what the model saw at training time.

Rules (MLflow's, made explicit):

* every signature input must be present; a missing one is named, with a "did you mean" for near misses;
* extra columns are dropped (a client may send a whole record) but reported back as ``ignored_columns``;
* missing values (null, NaN, empty text, ``"nan"``) are allowed: the pipelines impute them;
* numeric columns must hold numbers (numeric text like ``"3.5"`` is read as a number) and never +/-inf;
* numeric -> float64, categorical -> object holding text, bool -> bool (nullable ``boolean`` when a value is
  missing), datetime -> datetime64; columns come out in the signature's order.
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from conveyor.core.errors import BadInputError, PayloadTooLargeError

MAX_ROWS = 10_000
_TRUE = {"true", "1", "yes", "t", "y"}
_FALSE = {"false", "0", "no", "f", "n"}


@dataclass(frozen=True)
class Payload:
    """A request frame ready for the model, and the extra columns that were dropped from it."""

    frame: pd.DataFrame
    ignored_columns: list[str] = field(default_factory=list)


def conform(frame: pd.DataFrame, inputs: list[dict[str, Any]], *, max_rows: int = MAX_ROWS) -> Payload:
    if len(frame) == 0:
        raise BadInputError("The payload holds no rows.", field="data", hint="Send at least one row to score.")
    if len(frame) > max_rows:
        raise PayloadTooLargeError(f"The payload holds {len(frame)} rows; at most {max_rows} are scored per "
                                   "request.", field="data", hint="Split the data into smaller requests.")
    frame = frame.reset_index(drop=True)
    frame.columns = [str(c) for c in frame.columns]
    if not inputs:  # a model registered without a signature: nothing to check against
        return Payload(frame)
    names = [c["name"] for c in inputs]
    ignored = [c for c in frame.columns if c not in names]
    missing = [n for n in names if n not in frame.columns]
    if missing:
        raise BadInputError(f"Missing input column{'s' if len(missing) > 1 else ''} "
                            f"{', '.join(repr(m) for m in missing)}.", field=missing[0], hint=_missing_hint(
                                missing, ignored, names))
    columns = {spec["name"]: _CASTS.get(spec.get("kind", ""), _keep)(frame[spec["name"]], spec["name"])
               for spec in inputs}
    return Payload(pd.DataFrame(columns), ignored)


def _missing_hint(missing: list[str], extra: list[str], names: list[str]) -> str:
    guesses = [f"{got!r} for {want!r}" for want in missing
               for got in difflib.get_close_matches(want, extra, n=1)]
    hint = f"The model expects: {', '.join(names)}."
    return hint + (f" Did you mean {', '.join(guesses)}?" if guesses else "")


def _first(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0])


def _blank(series: pd.Series) -> np.ndarray:
    """Missing values, counting empty text and ``"nan"`` as missing (what CSV writers and forms send)."""
    text = series.map(lambda v: isinstance(v, str) and v.strip().lower() in ("", "nan"))
    return (series.isna() | text.astype(bool)).to_numpy()


def _numeric(series: pd.Series, name: str) -> pd.Series:
    if pd.api.types.is_bool_dtype(series) or pd.api.types.is_numeric_dtype(series):
        values = series.astype("float64")
    else:
        raw = series.astype(object)
        blank = _blank(raw)
        try:
            values = pd.to_numeric(raw.where(~blank, None), errors="coerce").astype("float64")
        except (OverflowError, TypeError, ValueError):  # e.g. an integer beyond float range: go value by value
            values = raw.where(~blank, None).map(_to_float).astype("float64")
        bad = values.isna().to_numpy() & ~blank
        if bad.any():
            row = _first(bad)
            raise BadInputError(f"Column {name!r} must be numeric; row {row} holds {raw.iloc[row]!r}.", field=name,
                                hint="Send numbers (or null for a missing value).")
    infinite = np.isinf(values.to_numpy())
    if infinite.any():
        row = _first(infinite)
        raise BadInputError(f"Column {name!r} holds an infinite or out-of-range value at row {row}.", field=name,
                            hint="Send a finite number, or null for a missing value.")
    return values


def _to_float(value: Any) -> float:
    if value is None:
        return math.nan
    try:
        return float(value)
    except OverflowError:
        return math.inf  # then rejected as infinite
    except (TypeError, ValueError):
        return math.nan  # then reported as not numeric


def _categorical(series: pd.Series, name: str) -> pd.Series:
    raw = series.astype(object)
    nested = raw.map(lambda v: isinstance(v, list | dict)).to_numpy(dtype=bool)
    if nested.any():
        row = _first(nested)
        raise BadInputError(f"Column {name!r} must hold single values; row {row} holds {raw.iloc[row]!r}.",
                            field=name, hint="Send text (or null for a missing value).")
    missing = raw.isna().to_numpy()
    text = raw.map(lambda v: v if isinstance(v, str) else str(v)).astype(object)
    return text.where(~missing, None)


def _as_bool(value: Any) -> bool | None:
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | float | np.number) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    return None


def _boolean(series: pd.Series, name: str) -> pd.Series:
    if pd.api.types.is_bool_dtype(series) and not series.isna().any():
        return series.astype(bool)
    raw = series.astype(object)
    blank = _blank(raw)
    values = raw.map(_as_bool)
    bad = values.isna().to_numpy() & ~blank
    if bad.any():
        row = _first(bad)
        raise BadInputError(f"Column {name!r} must be true or false; row {row} holds {raw.iloc[row]!r}.",
                            field=name, hint="Send true/false (or 1/0, or null for a missing value).")
    if blank.any():
        return pd.Series(pd.array(values.where(~blank, None).tolist(), dtype="boolean"), index=series.index)
    return values.astype(bool)


def _datetime(series: pd.Series, name: str) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(series):
        return series
    raw = series.astype(object)
    blank = _blank(raw)
    given = raw.where(~blank, None)
    if pd.api.types.infer_dtype(given, skipna=True) not in ("string", "datetime", "datetime64", "empty"):
        # numbers are not timestamps (pandas would read them as epochs one day): leave them out, so they fail below
        given = given.where([v is None or isinstance(v, str | dt.date) for v in given], None)
    try:
        values = pd.to_datetime(given, errors="coerce", format="ISO8601")
    except (ValueError, TypeError, OverflowError):
        raise BadInputError(f"Column {name!r} must hold ISO 8601 timestamps in a single time zone.",
                            field=name, hint="For example 2024-05-01T12:00:00.") from None
    bad = values.isna().to_numpy() & ~blank
    if bad.any():
        row = _first(bad)
        raise BadInputError(f"Column {name!r} must hold ISO 8601 timestamps; row {row} holds {raw.iloc[row]!r}.",
                            field=name, hint="For example 2024-05-01T12:00:00.")
    return values


def _keep(series: pd.Series, _name: str) -> pd.Series:
    return series


_CASTS: dict[str, Callable[[pd.Series, str], pd.Series]] = {
    "numeric": _numeric,
    "categorical": _categorical,
    "bool": _boolean,
    "datetime": _datetime,
}
