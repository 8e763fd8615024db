"""Reference statistics: what a model's training data looked like, computed once and stored per model version.

A check reads only the current window and these statistics, never the reference rows again::

    {"format": 2, "dataset": "NAME@VERSION", "rows": n,
     "columns": {name: sketch},      # one sketch per input column, the format of conveyor.stats.sketch
     "prediction": sketch,           # the model's outputs on a sample of the training rows (prediction drift)
     "sample": {name: [values]}}     # a small row sample for the multivariate domain-classifier check

Statistics stored by older versions (``"format": 1``) are read through :mod:`conveyor.stats.legacy`. Everything is
plain JSON (no NaN), so every metadata store keeps it as is.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from conveyor.core.kinds import column_kind
from conveyor.stats import FORMAT, sketch_column

SAMPLE_ROWS = 2000
PREDICTION = "__prediction__"
"""The key of the model-output pseudo column in ``columns``."""


def _json_column(series: pd.Series) -> list[Any]:
    if column_kind(series) == "numeric":
        values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        return [float(v) if np.isfinite(v) else None for v in values]
    return [None if pd.isna(v) else str(v) for v in series.to_numpy(dtype=object)]


def build_reference(frame: pd.DataFrame, columns: list[str], *, dataset: str,
                    predictions: pd.Series | None = None, seed: int = 0) -> dict[str, Any]:
    """The statistics of ``columns`` of ``frame`` (the training data), ready to store."""
    sketches = {name: sketch_column(frame[name]) for name in columns}
    sample = frame[columns].sample(n=min(SAMPLE_ROWS, len(frame)), random_state=seed)
    stats: dict[str, Any] = {
        "format": FORMAT, "dataset": dataset, "rows": len(frame), "columns": sketches,
        "sample": {name: _json_column(sample[name]) for name in columns},
    }
    if predictions is not None:
        stats["prediction"] = sketch_column(predictions.reset_index(drop=True))
    return stats


def sample_frame(stats: dict[str, Any]) -> pd.DataFrame:
    """The stored reference sample back as a DataFrame (numeric columns as float, others as object)."""
    data = {}
    for name, values in stats.get("sample", {}).items():
        kind = stats["columns"].get(name, {}).get("kind")
        data[name] = pd.Series(values, dtype="float64" if kind == "numeric" else "object")
    return pd.DataFrame(data)
