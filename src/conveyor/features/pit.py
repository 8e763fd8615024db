"""The point-in-time join: for each entity row (keys, time t), the latest source row of the same entity at or
before t and no older than the view's TTL, plus windowed aggregates over ``(t - window, t]``.

Rules (docs/features.md, and the brute-force oracle in the tests):
- every entity row is kept, in its order; where no source row qualifies, the view's features are null and
  ``<view>__found`` is false (Feast drops such rows; we do not);
- a source row at exactly t counts; one exactly ``ttl`` old counts; one exactly ``window`` old does not;
- two source rows of one entity at the same time: the later one in the source's order wins;
- rows with a null key or time (entity or source) never match.

Vectorised: source rows are sorted once by (entity code, time, position); each lookup is one ``searchsorted`` on a
composite integer (entity code, rank of the time among the source times), so no Python loop runs per row.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from conveyor.core.errors import BadInputError
from conveyor.features.views import Feature

NANOS = 1_000_000_000


def to_nanos(series: pd.Series, what: str) -> tuple[np.ndarray, np.ndarray]:
    """Integer nanoseconds (UTC for time-zone-aware columns; epoch seconds for numbers) and a valid mask."""
    if pd.api.types.is_bool_dtype(series.dtype):
        raise BadInputError(f"{what} is boolean, not a time.", field=what, hint="Name a datetime column.")
    if pd.api.types.is_numeric_dtype(series.dtype):
        values = series.to_numpy(dtype="float64", na_value=np.nan)
        valid = np.isfinite(values)
        return np.where(valid, values * NANOS, 0).astype("int64"), valid
    if not pd.api.types.is_datetime64_any_dtype(series.dtype):
        try:
            series = pd.to_datetime(series, utc=True, format="ISO8601")
        except (ValueError, TypeError) as exc:
            raise BadInputError(f"{what} holds values that are not times: {exc}.", field=what,
                                hint="Use a datetime column or ISO 8601 strings.") from None
    if getattr(series.dt, "tz", None) is not None:
        series = series.dt.tz_convert("UTC").dt.tz_localize(None)
    values = series.to_numpy(dtype="datetime64[ns]")
    valid = ~np.isnat(values)
    return values.view("int64"), valid


def key_codes(left: pd.DataFrame, right: pd.DataFrame, keys: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """One integer per row naming its entity (equal keys, equal codes across both frames; -1 for a null key).
    A key that is numbers on one side and text on the other is compared as text."""
    if len(keys) == 1:
        fast = _integer_codes(left[keys[0]], right[keys[0]])
        if fast is not None:
            return fast
    codes: np.ndarray | None = None
    for key in keys:
        a, b = left[key], right[key]
        if pd.api.types.is_numeric_dtype(a.dtype) != pd.api.types.is_numeric_dtype(b.dtype):
            a, b = a.astype("string"), b.astype("string")
        column, _ = pd.factorize(pd.concat([a, b], ignore_index=True), use_na_sentinel=True)
        column = column.astype("int64")
        if codes is None:
            codes = column
        else:
            combined = np.where((codes < 0) | (column < 0), -1, codes * (column.max() + 1) + column)
            codes, _ = pd.factorize(combined)
            codes = np.where(combined < 0, -1, codes).astype("int64")
    assert codes is not None
    return codes[:len(left)], codes[len(left):]


def _integer_codes(a: pd.Series, b: pd.Series) -> tuple[np.ndarray, np.ndarray] | None:
    """Integer keys without nulls are their own codes (shifted to start at 0) when their range is small enough
    to leave room for the time rank in one int64; None otherwise (then they are factorised)."""
    if not (pd.api.types.is_integer_dtype(a.dtype) and pd.api.types.is_integer_dtype(b.dtype)):
        return None
    if a.hasnans or b.hasnans or not len(a) or not len(b):
        return None
    x, y = a.to_numpy(dtype="int64"), b.to_numpy(dtype="int64")
    low, high = min(x.min(), y.min()), max(x.max(), y.max())
    if int(high) - int(low) + 1 > 1 << 31 or len(b) > 1 << 30:
        return None
    return x - low, y - low


class PointInTime:
    """The sorted source of one view, ready to answer lookups for many entity rows at once."""

    def __init__(self, entities: pd.DataFrame, entity_time: str, source: pd.DataFrame, keys: Sequence[str],
                 timestamp: str) -> None:
        self.source = source
        e_code, f_code = key_codes(entities, source, keys)
        e_time, e_ok = to_nanos(entities[entity_time], entity_time)
        f_time, f_ok = to_nanos(source[timestamp], timestamp)
        rows = np.flatnonzero(f_ok & (f_code >= 0))
        times, codes = f_time[rows], f_code[rows]
        # dense rank of each source time (1..K), then one stable sort by (code, rank): ties keep source order
        by_time = np.argsort(times)
        ordered = times[by_time]
        new = np.ones(len(ordered), dtype=bool)
        new[1:] = ordered[1:] != ordered[:-1]
        rank = np.empty(len(times), dtype="int64")
        rank[by_time] = np.cumsum(new)
        self.unique_times = ordered[new]
        self.span = len(self.unique_times) + 1
        composite = codes * self.span + rank
        if len(rows) and int(composite.max()) < (1 << 62) // max(len(rows), 1):
            order = np.argsort(composite * len(rows) + np.arange(len(rows)))  # unique keys: a fast unstable sort
        else:
            order = np.argsort(composite, kind="stable")
        self.rows = rows[order]  # source positions, sorted by (code, time, position)
        self.codes = codes[order]
        self.times = times[order]
        self.composite = composite[order]
        self.e_code, self.e_time = e_code, e_time
        self.e_ok = e_ok & (e_code >= 0)
        self.end = self._position(self.e_time)  # one past the last source row at or before t
        last = self.end - 1
        safe = np.clip(last, 0, max(len(self.rows) - 1, 0))
        matched = self.e_ok & (last >= 0) & (len(self.rows) > 0)
        if len(self.rows):
            matched &= self.codes[safe] == e_code
        self.last = safe
        self.matched = matched

    def _position(self, times: np.ndarray) -> np.ndarray:
        """For each entity row, one past the last source row of its entity at or before ``times``. The queries
        are searched in sorted order (NumPy's binary search narrows from the previous key), then put back."""
        rank = np.searchsorted(self.unique_times, times, side="right")
        queries = self.e_code * self.span + rank
        order = np.argsort(queries, kind="stable")
        found = np.empty(len(queries), dtype="int64")
        found[order] = np.searchsorted(self.composite, queries[order], side="right")
        return found

    def found(self, ttl: float | None) -> np.ndarray:
        """Whether each entity row has a source row at or before its time, within ``ttl`` seconds."""
        if ttl is None or not len(self.rows):
            return self.matched.copy()
        age = self.e_time - self.times[self.last]
        return self.matched & (age <= round(ttl * NANOS))

    def latest(self, column: str, found: np.ndarray) -> pd.Series:
        """The value of ``column`` in the latest qualifying row, null where ``found`` is false."""
        series = self.source[column]
        if not len(self.rows):
            return pd.Series([None] * len(found), dtype=object if series.dtype == bool else series.dtype)
        taken = series.iloc[self.rows[self.last]].reset_index(drop=True)
        return taken.where(pd.Series(found)) if not found.all() else taken

    def aggregate(self, feature: Feature, found: np.ndarray) -> pd.Series:
        """sum, count or mean of the feature's column over ``(t - window, t]``; null where ``found`` is false."""
        assert feature.window is not None and feature.column is not None
        series = self.source[feature.column]
        present = series.notna().to_numpy()[self.rows]
        counts = np.concatenate(([0], np.cumsum(present)))
        start = self._position(self.e_time - round(feature.window * NANOS))
        n = counts[self.end] - counts[start]
        if feature.agg == "count":
            return pd.Series(np.where(found, n, np.nan)).astype("Int64")
        if not pd.api.types.is_numeric_dtype(series.dtype) or pd.api.types.is_bool_dtype(series.dtype):
            raise BadInputError(f"Feature {feature.name!r}: {feature.agg} needs a numeric column, and "
                                f"{feature.column!r} is {series.dtype}.", field=feature.name,
                                hint="Use agg: count, or leave agg out for the latest value.")
        values = np.nan_to_num(series.to_numpy(dtype="float64", na_value=np.nan)[self.rows], nan=0.0)
        sums = np.concatenate(([0.0], np.cumsum(values)))
        total = sums[self.end] - sums[start]
        if feature.agg == "mean":
            with np.errstate(invalid="ignore", divide="ignore"):
                total = np.where(n > 0, total / np.maximum(n, 1), np.nan)
        return pd.Series(np.where(found, total, np.nan))
