"""Reference statistics: what a model's training data looked like, computed once and stored per model version.

A check reads only the current window and these statistics, never the reference rows again. Per column:

* numeric: 1001 quantiles (a 0.1 % grid: KS, Wasserstein and PSI are computed on it), mean, std, min, max,
  null share, and a 20-bin histogram for the report;
* categorical / bool: the shares of up to 1000 most frequent values plus an ``"__other__"`` bucket, and
  whether that list is complete (then an unseen value is really new);
* plus the model's predictions on a sample of the training rows (prediction drift), and a small row sample
  for the multivariate domain-classifier check.

Everything is plain JSON (no NaN), so every metadata store keeps it as is.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from conveyor.core.kinds import column_kind
from conveyor.data.profile import OTHER, category_counts, finite_values

FORMAT = 1
LEVELS = np.linspace(0.0, 1.0, 1001)
HISTOGRAM_BINS = 20
MAX_CATEGORIES = 1000
SAMPLE_ROWS = 2000
PREDICTION = "__prediction__"
"""The key of the model-output pseudo column in ``columns``."""


def sorted_quantiles(values: np.ndarray, levels: np.ndarray = LEVELS) -> np.ndarray:
    position = levels * (len(values) - 1)
    low = np.floor(position).astype(np.int64)
    high = np.minimum(low + 1, len(values) - 1)
    return values[low] + (values[high] - values[low]) * (position - low)


def column_sketch(series: pd.Series, kind: str | None = None) -> dict[str, Any]:
    kind = kind or column_kind(series)
    n = len(series)
    nulls = int(series.isna().sum())
    sketch: dict[str, Any] = {"kind": kind, "rows": n, "null_share": nulls / n if n else 0.0}
    if kind == "numeric":
        values = finite_values(pd.to_numeric(series, errors="coerce"))
        if len(values) == 0:
            return sketch | {"count": 0, "quantiles": None, "histogram": None}
        counts, edges = np.histogram(values, bins=HISTOGRAM_BINS, range=(values[0], values[-1]))
        return sketch | {
            "count": len(values),
            "quantiles": [float(q) for q in sorted_quantiles(values)],
            "min": float(values[0]), "max": float(values[-1]),
            "mean": float(np.mean(values)), "std": float(np.std(values)),
            "histogram": {"edges": [float(e) for e in edges], "counts": [int(c) for c in counts]},
        }
    if kind == "datetime":
        return sketch
    counts = category_counts(series)
    total = int(counts.sum())
    top = counts.iloc[:MAX_CATEGORIES]
    shares = {str(k): int(v) / total for k, v in top.items()} if total else {}
    rest = total - int(top.sum())
    if rest:
        shares[OTHER] = shares.get(OTHER, 0.0) + rest / total
    return sketch | {"count": total, "top": shares, "complete": rest == 0}


def _json_column(series: pd.Series) -> list[Any]:
    if column_kind(series) == "numeric":
        values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        return [float(v) if np.isfinite(v) else None for v in values]
    return [None if pd.isna(v) else str(v) for v in series.to_numpy(dtype=object)]


def build_reference(frame: pd.DataFrame, columns: list[str], *, dataset: str,
                    predictions: pd.Series | None = None, seed: int = 0) -> dict[str, Any]:
    """The statistics of ``columns`` of ``frame`` (the training data), ready to store."""
    sketches = {name: column_sketch(frame[name]) for name in columns}
    sample = frame[columns].sample(n=min(SAMPLE_ROWS, len(frame)), random_state=seed)
    stats: dict[str, Any] = {
        "format": FORMAT, "dataset": dataset, "rows": len(frame), "columns": sketches,
        "sample": {name: _json_column(sample[name]) for name in columns},
    }
    if predictions is not None:
        stats["prediction"] = column_sketch(predictions.reset_index(drop=True))
    return stats


def sample_frame(stats: dict[str, Any]) -> pd.DataFrame:
    """The stored reference sample back as a DataFrame (numeric columns as float, others as object)."""
    data = {}
    for name, values in stats.get("sample", {}).items():
        kind = stats["columns"].get(name, {}).get("kind")
        data[name] = pd.Series(values, dtype="float64" if kind == "numeric" else "object")
    return pd.DataFrame(data)
