"""Build the preprocessing step by column kind, so training and serving apply the same transforms."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

MAX_ONE_HOT_CATEGORIES = 30


def _as_text(values):
    return pd.DataFrame(values).astype("object").where(pd.DataFrame(values).notna(), "__missing__").astype(str)


def _as_float(values):
    return pd.DataFrame(values).astype("float64")


def split_columns(frame: pd.DataFrame) -> tuple[list[str], list[str]]:
    """Numeric (and bool) columns vs. categorical ones; datetime columns are left out for now."""
    numeric, categorical = [], []
    for name in frame.columns:
        series = frame[name]
        if pd.api.types.is_bool_dtype(series) or pd.api.types.is_numeric_dtype(series):
            numeric.append(name)
        elif not pd.api.types.is_datetime64_any_dtype(series):
            categorical.append(name)
    return numeric, categorical


def build_preprocessor(frame: pd.DataFrame, *, scale: bool) -> ColumnTransformer:
    numeric, categorical = split_columns(frame)
    numeric_steps = [("float", FunctionTransformer(_as_float, feature_names_out="one-to-one")),
                     ("impute", SimpleImputer(strategy="median", keep_empty_features=True))]
    if scale:
        numeric_steps.append(("scale", StandardScaler()))
    categorical_steps = [
        ("text", FunctionTransformer(_as_text, feature_names_out="one-to-one")),
        ("onehot", OneHotEncoder(handle_unknown="infrequent_if_exist", max_categories=MAX_ONE_HOT_CATEGORIES,
                                 sparse_output=False, dtype=np.float32)),
    ]
    return ColumnTransformer(
        [("numeric", Pipeline(numeric_steps), numeric), ("categorical", Pipeline(categorical_steps), categorical)],
        remainder="drop",
        verbose_feature_names_out=False,
    )
