"""Prediction drift and data quality of a current window against stored reference statistics (:mod:`.reference`).

Column drift itself is :func:`conveyor.stats.compare` (one engine for every verb; the tests and the policy that
picks one per column are described in :mod:`conveyor.stats.policy`). Here: the model's outputs in the window
against its outputs on the training sample, and per column the missing-value rate, the share outside the training
range and the share of categories the training data never held.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from conveyor.stats import ColumnDrift, DriftPolicy, RowsWindow, as_sketch, category_counts, column_drift

MISSING_RISE = 0.05
OUT_OF_RANGE = 0.01
UNSEEN = 0.01


def prediction_drift(reference: dict[str, Any], predictions: pd.Series, *,
                     policy: DriftPolicy = DriftPolicy()) -> ColumnDrift | None:
    """Drift of the model's outputs in the window against its outputs on the training sample."""
    stored = reference.get("prediction")
    if not stored or predictions.empty:
        return None
    sketch = as_sketch(stored)
    return column_drift("prediction", sketch, RowsWindow(predictions, sketch.kind, name="prediction"), policy)


def data_quality(reference: dict[str, Any], current: pd.DataFrame, columns: list[str]) -> dict[str, Any]:
    """Missing-value rates, out-of-range values and unseen categories against the training data, per column."""
    report: dict[str, Any] = {"columns": {}, "issues": []}
    n = len(current)
    for name in columns:
        stored = reference["columns"].get(name)
        if stored is None or name not in current.columns or n == 0:
            continue
        sketch = as_sketch(stored)
        series = current[name]
        missing = float(series.isna().mean())
        entry: dict[str, Any] = {"missing_rate": missing, "reference_missing_rate": sketch.null_share}
        if missing - entry["reference_missing_rate"] > MISSING_RISE:
            report["issues"].append(f"{name}: {missing:.1%} missing (training {entry['reference_missing_rate']:.1%})")
        if sketch.kind == "numeric" and sketch.n and sketch.min is not None and sketch.max is not None:
            values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
            values = values[np.isfinite(values)]
            outside = np.count_nonzero((values < sketch.min) | (values > sketch.max))
            entry["out_of_range"] = float(outside / len(values)) if len(values) else 0.0
            if entry["out_of_range"] > OUT_OF_RANGE:
                report["issues"].append(f"{name}: {entry['out_of_range']:.1%} outside the training range "
                                        f"[{sketch.min:.4g}, {sketch.max:.4g}]")
        elif sketch.shares and sketch.complete:
            counts = category_counts(series)
            unseen = counts[~counts.index.isin(sketch.known)]
            entry["unseen"] = float(unseen.sum() / max(int(counts.sum()), 1))
            entry["unseen_values"] = [str(v) for v in unseen.index[:5]]
            if entry["unseen"] > UNSEEN:
                report["issues"].append(f"{name}: {entry['unseen']:.1%} unseen categories "
                                        f"(e.g. {', '.join(entry['unseen_values'][:3])})")
        report["columns"][name] = entry
    report["missing_rate_max"] = max((e["missing_rate"] for e in report["columns"].values()), default=0.0)
    report["out_of_range_max"] = max((e.get("out_of_range", 0.0) for e in report["columns"].values()), default=0.0)
    report["unseen_max"] = max((e.get("unseen", 0.0) for e in report["columns"].values()), default=0.0)
    return report
