"""Column profiles: a small, JSON-ready summary of a DataFrame that stands in for the data later.

A profile is stored beside a dataset version so that monitoring can compare new data against it without
reading the reference rows again. That is why numeric columns keep 101 quantiles (0%, 1%, ..., 100%):
enough to rebuild an approximate CDF for a KS statistic and decile bins for PSI. Categorical columns keep
the proportions of their 50 most frequent values plus an ``"__other__"`` bucket for the rest.

Everything in a profile is a plain ``int``, ``float``, ``str``, ``bool``, ``None``, ``list`` or ``dict``
(never a numpy scalar, never NaN), so ``json.dumps(profile, allow_nan=False)`` always works.

Numeric statistics are computed on the finite values: NaN counts as null, and +/-inf are counted in
``infinite`` but left out of min/max/mean/quantiles, which would otherwise be unusable.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
import pandas as pd

from conveyor.core.errors import BadInputError
from conveyor.core.kinds import column_kind

QUANTILE_LEVELS = np.linspace(0.0, 1.0, 101)
"""The levels of ``quantiles`` in a numeric profile: 0.00, 0.01, ..., 1.00."""

HISTOGRAM_BINS = 20
TOP_CATEGORIES = 50


def cdf_from_quantiles(quantiles: np.ndarray, x: np.ndarray) -> np.ndarray:
    """P(X <= x) rebuilt from quantiles at QUANTILE_LEVELS, linear between them, right-continuous at ties.

    For x inside a run of tied quantiles the CDF is the level of the run's last point, so a point mass
    keeps its full share.
    """
    x = np.asarray(x, dtype=np.float64)
    inside = np.clip(x, quantiles[0], quantiles[-1])  # keeps +/-inf edges out of the arithmetic
    j = np.clip(np.searchsorted(quantiles, inside, side="right") - 1, 0, len(quantiles) - 2)
    low, high = quantiles[j], quantiles[j + 1]
    # j is the last point <= x, so high > low whenever q[0] <= x < q[-1]; outside, np.where decides.
    width = np.where(high > low, high - low, 1.0)
    level = QUANTILE_LEVELS[j] + (QUANTILE_LEVELS[j + 1] - QUANTILE_LEVELS[j]) * (inside - low) / width
    return np.where(x < quantiles[0], 0.0, np.where(x >= quantiles[-1], 1.0, level))
OTHER = "__other__"
"""The key of the bucket holding every category outside the top ones."""


def finite_values(series: pd.Series) -> np.ndarray:
    """Return the finite values of a numeric series as a sorted float64 array.

    Shared with drift detection so that profile and comparison treat nulls and infinities alike; sorting
    once makes quantiles, distinct counts and empirical CDFs cheap.
    """
    values = series.to_numpy(dtype=np.float64, na_value=np.nan)
    values = values[np.isfinite(values)]
    values.sort()
    return values


def sorted_quantiles(values: np.ndarray, levels: np.ndarray = QUANTILE_LEVELS) -> np.ndarray:
    """Quantiles of already sorted values, numpy's default "linear" method, without a second partition."""
    position = levels * (len(values) - 1)
    low = np.floor(position).astype(np.int64)
    high = np.minimum(low + 1, len(values) - 1)
    fraction = position - low
    return values[low] + (values[high] - values[low]) * fraction


def category_counts(series: pd.Series) -> pd.Series:
    """Counts of the non-null values keyed by their string form, most frequent first.

    Values are stringified so that the profile is JSON-ready and so that current data can be matched
    against a stored profile; values that stringify alike (``1`` and ``"1"``) are counted together.
    """
    counts = series.value_counts(dropna=True)
    counts = counts[counts > 0]  # a category dtype also lists unused categories
    if counts.index.inferred_type != "string":
        counts.index = pd.Index([str(value) for value in counts.index], dtype=object)
        if not counts.index.is_unique:
            counts = counts.groupby(level=0, sort=False).sum().sort_values(ascending=False, kind="stable")
    return counts.astype(np.int64)


def profile_frame(df: pd.DataFrame) -> dict[str, Any]:
    """Profile every column of ``df``: ``{"rows": n, "columns": {name: column_profile}}``."""
    duplicates = sorted(name for name, n in Counter(str(c) for c in df.columns).items() if n > 1)
    if duplicates:
        raise BadInputError(
            f"Column names must be unique to be profiled; repeated: {', '.join(duplicates)}.",
            field=duplicates[0],
            hint="Rename or drop the repeated columns.",
        )
    columns = {str(name): profile_column(series) for name, series in df.items()}
    return {"rows": len(df), "columns": columns}


def profile_column(series: pd.Series) -> dict[str, Any]:
    """Profile one column; the keys present depend on its :func:`column_kind`."""
    kind = column_kind(series)
    count = int(series.count())
    profile: dict[str, Any] = {
        "kind": kind,
        "dtype": str(series.dtype),
        "count": count,
        "nulls": len(series) - count,
    }
    if kind == "numeric":
        profile.update(_numeric_profile(finite_values(series), count))
    elif kind == "datetime":
        profile["distinct"] = int(series.nunique(dropna=True))
        profile["min"] = _iso(series.min())
        profile["max"] = _iso(series.max())
    else:
        counts = category_counts(series)
        profile["distinct"] = len(counts)
        profile["top"] = _top_proportions(counts)
    return profile


def _numeric_profile(values: np.ndarray, count: int) -> dict[str, Any]:
    n = len(values)
    stats: dict[str, Any] = {
        "distinct": int(n and 1 + np.count_nonzero(values[1:] != values[:-1])),
        "infinite": count - n,
    }
    if n == 0:
        return stats | dict.fromkeys(("min", "max", "mean", "std", "quantiles", "histogram"))
    low, high = float(values[0]), float(values[-1])
    counts, edges = np.histogram(values, bins=HISTOGRAM_BINS, range=(low, high))
    return stats | {
        "min": low,
        "max": high,
        "mean": _finite(np.mean(values)),
        "std": _finite(np.std(values, ddof=1)) if n > 1 else None,
        "quantiles": [float(q) for q in sorted_quantiles(values)],
        "histogram": {"edges": [float(e) for e in edges], "counts": [int(c) for c in counts]},
    }


def _top_proportions(counts: pd.Series) -> dict[str, float]:
    total = int(counts.sum())
    if total == 0:
        return {}
    top: Counter[str] = Counter()
    for value, n in counts.iloc[:TOP_CATEGORIES].items():
        top[str(value)] += int(n)
    rest = total - sum(top.values())
    if rest:
        top[OTHER] += rest  # a real value spelled "__other__" joins the bucket it names
    return {value: n / total for value, n in top.items()}


def _finite(value: float) -> float | None:
    value = float(value)
    return value if np.isfinite(value) else None


def _iso(value: Any) -> str | None:
    return None if pd.isna(value) else pd.Timestamp(value).isoformat()
