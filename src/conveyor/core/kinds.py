"""The kind of a column (numeric, categorical, bool, datetime): what profiles, drift tests, signatures and
input checks all key on, so it is decided in one place."""

from __future__ import annotations

import pandas as pd


def column_kind(series: pd.Series) -> str:
    """Return "bool", "numeric", "datetime" or "categorical": the kind decides which statistics apply.

    Bool is checked first because pandas also counts bool as numeric; strings, objects, categories and
    anything else fall back to "categorical".
    """
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "bool"
    if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_complex_dtype(dtype):
        return "numeric"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    return "categorical"
