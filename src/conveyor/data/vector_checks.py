"""A contract's checks answered vectorised, in one pass per column over its NumPy array: the common case (a batch
that passes) costs a null scan, a min and a max, a hash of the distinct values, and never imports pandera.

:func:`passes` is True only when every check holds as pandera would decide it: nulls fail a non-nullable column;
value checks (range, allowed values) ignore nulls, as pandera's checks do (``ignore_na``); the row count is checked
against ``rows``. Anything it does not decide itself (a column of another dtype under a range check, uniqueness
with nulls, repeated column names) answers False, and so does a failing check: the caller then runs the pandera
schema, which reports each failure with counts and example rows (:func:`conveyor.data.contracts.validate`). A False
here therefore never hides a failure and never invents one; ``tests/data/test_vector_checks.py`` compares both.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["passes"]


def passes(contract: dict[str, Any], frame: pd.DataFrame) -> bool:
    """Whether ``frame`` passes every check of ``contract`` (False also when unsure: see the module docstring)."""
    rows = contract.get("rows") or {}
    if rows and not rows.get("min", 0) <= len(frame) <= rows.get("max", math.inf):
        return False
    if not frame.columns.is_unique:
        return False
    try:
        return all(_column_passes(frame[name], spec) for name, spec in contract["columns"].items())
    except (TypeError, ValueError):  # a bound or value of another type than the column: pandera says what
        return False


def _column_passes(series: pd.Series, spec: dict[str, Any]) -> bool:
    dtype = series.dtype
    numeric = isinstance(dtype, np.dtype) and dtype.kind in "iufb"
    values: np.ndarray = series.to_numpy() if numeric else np.empty(0)
    if not numeric:
        nulls: np.ndarray = series.isna().to_numpy()
    else:  # integers and booleans of NumPy hold no nulls
        nulls = np.isnan(values) if dtype.kind == "f" else np.zeros(0, dtype=bool)
    has_nulls = bool(nulls.any())
    if has_nulls and not spec.get("nullable", True):
        return False
    low, high = spec.get("min"), spec.get("max")
    if low is not None or high is not None:
        if not numeric:
            return False
        present = values[~nulls] if has_nulls else values
        if present.size and ((low is not None and present.min() < low) or (high is not None and present.max() > high)):
            return False
    allowed = spec.get("allowed")
    if allowed is not None:
        distinct = pd.unique(series[~nulls] if has_nulls else series)
        if not set(distinct.tolist() if hasattr(distinct, "tolist") else list(distinct)) <= set(allowed):
            return False
    if spec.get("unique"):
        return not has_nulls and (_strictly_monotonic(values) or series.is_unique)
    return True


def _strictly_monotonic(values: np.ndarray) -> bool:
    """An id column is usually sorted: strictly increasing (or decreasing) numbers are unique, which one
    comparison pass tells faster than hashing every value (compared, not subtracted: no overflow)."""
    if values.dtype.kind not in "iuf" or values.size < 2:
        return False
    before, after = values[:-1], values[1:]
    return bool((after > before).all() or (after < before).all())
