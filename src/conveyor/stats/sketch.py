"""The one sketch format: what a column looked like, small enough to store and exact enough to test drift on.

A sketch stands in for the rows later: dataset versions store one per column in their profile, model versions store
one per input column as their reference statistics, and a window that is compared without its rows (``conveyor
data diff``) is sketched the same way. Per column (``format`` 2):

* every kind: ``kind`` (:func:`conveyor.core.kinds.column_kind`), ``rows`` (nulls included), ``count`` (non-null
  values), ``nulls`` and ``null_share``;
* numeric: ``quantiles`` of the finite values on the one grid :data:`LEVELS` (0.000, 0.001, ..., 1.000), ``min``,
  ``max``, ``mean``, ``std`` (ddof 1), ``infinite`` (+/-inf values, counted but left out of the statistics),
  ``distinct`` and a 20-bin ``histogram`` for pictures;
* categorical and bool: ``top``, the shares of the :data:`TOP_CATEGORIES` most frequent values (as strings) with
  every rarer value pooled into one :data:`OTHER` bucket, ``complete`` (no value was pooled, so a value outside
  ``top`` is really new) and ``distinct``;
* datetime: the counts only (drift tests skip dates).

Why 1001 quantiles: the reference CDF is exact at the grid points and linear between them, so a KS statistic
against live rows is exact to 0.1 % and Wasserstein integrates on a 0.1 % grid; with 101 points (the old profile
grid) KS is only exact to 1 %, and window scores near a threshold change verdict (docs/monitoring.md gives the
measurement). Why 1000 categories: a window of flights' 100 destinations keeps every one of them, so unseen values
are known to be new and the pooled bucket stays empty.

Everything is a plain ``int``, ``float``, ``str``, ``bool``, ``None``, ``list`` or ``dict`` (never NaN or a numpy
scalar), so ``json.dumps(sketch, allow_nan=False)`` works and every metadata store keeps it as is. Older stored
sketches are read through :mod:`conveyor.stats.legacy`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from conveyor.core.kinds import column_kind

FORMAT = 2
"""The version of the sketch format written today; older ones are converted on read."""

GRID_POINTS = 1001
LEVELS = np.linspace(0.0, 1.0, GRID_POINTS)
"""The levels of ``quantiles`` in every sketch: 0.000, 0.001, ..., 1.000."""

TOP_CATEGORIES = 1000
HISTOGRAM_BINS = 20
OTHER = "__other__"
"""The key of the bucket pooling every category outside the top ones."""


def finite_values(series: pd.Series) -> np.ndarray:
    """The finite values of a numeric series as a sorted float64 array (NaN is null; +/-inf are left out)."""
    values: np.ndarray = series.to_numpy(dtype=np.float64, na_value=np.nan)
    values = values[np.isfinite(values)]
    values.sort()
    return values


def sorted_quantiles(values: np.ndarray, levels: np.ndarray = LEVELS) -> np.ndarray:
    """Quantiles of already sorted values (numpy's default "linear" method) without a second partition."""
    position = levels * (len(values) - 1)
    low = np.floor(position).astype(np.int64)
    high = np.minimum(low + 1, len(values) - 1)
    result: np.ndarray = values[low] + (values[high] - values[low]) * (position - low)
    return result


def cdf_from_quantiles(quantiles: np.ndarray, x: np.ndarray, levels: np.ndarray = LEVELS) -> np.ndarray:
    """P(X <= x) rebuilt from quantiles at ``levels``, linear between them, right-continuous at ties.

    For x inside a run of tied quantiles the CDF is the level of the run's last point, so a point mass keeps its
    full share.
    """
    x = np.asarray(x, dtype=np.float64)
    inside = np.clip(x, quantiles[0], quantiles[-1])  # keeps +/-inf out of the arithmetic
    j = np.clip(np.searchsorted(quantiles, inside, side="right") - 1, 0, len(quantiles) - 2)
    low, high = quantiles[j], quantiles[j + 1]
    # j is the last point <= x, so high > low whenever q[0] <= x < q[-1]; outside, np.where decides.
    width = np.where(high > low, high - low, 1.0)
    level = levels[j] + (levels[j + 1] - levels[j]) * (inside - low) / width
    return np.where(x < quantiles[0], 0.0, np.where(x >= quantiles[-1], 1.0, level))


def category_counts(series: pd.Series) -> pd.Series:
    """Counts of the non-null values keyed by their string form, most frequent first.

    Values are stringified so that sketches are JSON-ready and current data matches a stored sketch; values that
    stringify alike (``1`` and ``"1"``) are counted together.
    """
    counts = series.value_counts(dropna=True)
    counts = counts[counts > 0]  # a category dtype also lists unused categories
    if counts.index.inferred_type != "string":
        counts.index = pd.Index([str(value) for value in counts.index], dtype=object)
        if not counts.index.is_unique:
            counts = counts.groupby(level=0, sort=False).sum().sort_values(ascending=False, kind="stable")
    return counts.astype(np.int64)


def top_shares(counts: pd.Series) -> tuple[dict[str, float], bool]:
    """The shares of the most frequent categories with the rest pooled into OTHER, and whether none was pooled."""
    total = int(counts.sum())
    if total == 0:
        return {}, True
    shares: dict[str, float] = {}
    for value, n in counts.iloc[:TOP_CATEGORIES].items():
        shares[str(value)] = shares.get(str(value), 0.0) + int(n) / total
    rest = total - int(counts.iloc[:TOP_CATEGORIES].sum())
    if rest:
        shares[OTHER] = shares.get(OTHER, 0.0) + rest / total  # a real value spelled "__other__" joins it
    return shares, rest == 0


def sketch_column(series: pd.Series, kind: str | None = None) -> dict[str, Any]:
    """The sketch of one column as a JSON-ready dict (format :data:`FORMAT`)."""
    kind = kind or column_kind(series)
    if kind == "numeric" and not pd.api.types.is_numeric_dtype(series.dtype):
        series = pd.to_numeric(series, errors="coerce")
    rows, count = len(series), int(series.count())
    sketch: dict[str, Any] = {"format": FORMAT, "kind": kind, "rows": rows, "count": count, "nulls": rows - count,
                              "null_share": (rows - count) / rows if rows else 0.0}
    if kind == "numeric":
        return sketch | _numeric(finite_values(series), count)
    if kind == "datetime":
        return sketch
    counts = category_counts(series)
    shares, complete = top_shares(counts)
    return sketch | {"distinct": len(counts), "top": shares, "complete": complete}


def _numeric(values: np.ndarray, count: int) -> dict[str, Any]:
    n = len(values)
    stats: dict[str, Any] = {"infinite": count - n, "distinct": int(n and 1 + np.count_nonzero(np.diff(values)))}
    if n == 0:
        return stats | dict.fromkeys(("min", "max", "mean", "std", "quantiles", "histogram"))
    low, high = float(values[0]), float(values[-1])
    counts, edges = np.histogram(values, bins=HISTOGRAM_BINS, range=(low, high))
    return stats | {
        "min": low, "max": high, "mean": _finite(np.mean(values)),
        "std": _finite(np.std(values, ddof=1)) if n > 1 else None,
        "quantiles": [float(q) for q in sorted_quantiles(values)],
        "histogram": {"edges": [float(e) for e in edges], "counts": [int(c) for c in counts]},
    }


def _finite(value: float) -> float | None:
    value = float(value)
    return value if np.isfinite(value) else None
