"""Build the preprocessing step by column kind, so training and serving apply the same transforms.

Kinds: numbers (median imputation with missing-value flags, scaled for models that need it), datetimes (expanded
into calendar parts), categories (one-hot for linear models, ordinal codes for trees; target encoding once a
column has more than ``MAX_ONE_HOT_CATEGORIES`` values) and free text (TF-IDF). Identifier-like columns are dropped
before this step, with a note, by the trainer.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from conveyor.core.dependencies import extra_imports

with extra_imports("train"):
    from sklearn.compose import ColumnTransformer
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.impute import SimpleImputer
    from sklearn.model_selection import KFold, StratifiedKFold
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, OrdinalEncoder, StandardScaler, TargetEncoder

MAX_ONE_HOT_CATEGORIES = 30
TEXT_MIN_WORDS = 4.0  # mean words per value from which a string column is free text rather than a category
TFIDF_FEATURES = 300
DATE_PARTS = ("year", "month", "day", "day_of_week", "hour")  # what models saved before day_of_year/days read
# day_of_year and days (since 1970, fractional): one column each for "which day", so a tree splits once to reach a
# date rather than combining month and day; weather_temp's hourly temperatures (the hours of one day share its
# weather) went from RMSE 2.81 to 2.57 with XGBoost's defaults, as FLAML's own features have them
TIME_PARTS = (*DATE_PARTS, "day_of_year", "days")


def _as_text(values):
    return pd.DataFrame(values).astype("object").where(pd.DataFrame(values).notna(), "__missing__").astype(str)


def _as_float(values):
    return pd.DataFrame(values).astype("float64")


def _one_text_column(values):
    return pd.DataFrame(values).iloc[:, 0].astype("object").where(pd.DataFrame(values).iloc[:, 0].notna(), "")\
        .astype(str).to_numpy()


def _same_names(transformer, names):
    return np.asarray(names, dtype=object)


def _calendar(values, *, absolute: bool) -> pd.DataFrame:
    frame = pd.DataFrame(values)
    parts = {}
    for name in frame.columns:
        stamps = pd.to_datetime(frame[name], errors="coerce")
        for part in DATE_PARTS:
            parts[f"{name}_{part}"] = getattr(stamps.dt, part).astype("float64")
        if absolute:
            parts[f"{name}_day_of_year"] = stamps.dt.day_of_year.astype("float64")
            parts[f"{name}_days"] = _days_since_1970(stamps).astype("float64")
    return pd.DataFrame(parts, index=frame.index)


def _date_parts(values):
    """The calendar parts alone: what models saved before the day of the year and the days were added still call."""
    return _calendar(values, absolute=False)


def _date_part_names(transformer, names):
    return np.asarray([f"{n}_{p}" for n in names for p in DATE_PARTS], dtype=object)


def _days_since_1970(stamps: pd.Series) -> pd.Series:
    if stamps.dt.tz is not None:
        stamps = stamps.dt.tz_convert(None)
    return (stamps - pd.Timestamp("1970-01-01")) / pd.Timedelta(days=1)


def _time_parts(values):
    """The calendar parts, the day of the year and the absolute time in days (missing stamps: NaN, imputed)."""
    return _calendar(values, absolute=True)


def _time_part_names(transformer, names):
    return np.asarray([f"{n}_{p}" for n in names for p in TIME_PARTS], dtype=object)


def is_text(series: pd.Series) -> bool:
    if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series) \
            or pd.api.types.is_datetime64_any_dtype(series):
        return False
    sample = series.dropna().astype(str).head(500)
    return len(sample) > 0 and sample.str.split().str.len().mean() >= TEXT_MIN_WORDS


def column_kinds(frame: pd.DataFrame) -> dict[str, str]:
    """numeric | datetime | category | high_cardinality | text, per column."""
    kinds = {}
    for name in frame.columns:
        series = frame[name]
        if pd.api.types.is_bool_dtype(series) or pd.api.types.is_numeric_dtype(series):
            kinds[name] = "numeric"
        elif pd.api.types.is_datetime64_any_dtype(series):
            kinds[name] = "datetime"
        elif is_text(series):
            kinds[name] = "text"
        elif series.nunique(dropna=True) > MAX_ONE_HOT_CATEGORIES:
            kinds[name] = "high_cardinality"
        else:
            kinds[name] = "category"
    return kinds


def _numeric(scale: bool) -> Pipeline:
    steps = [("float", FunctionTransformer(_as_float, feature_names_out="one-to-one")),
             ("impute", SimpleImputer(strategy="median", keep_empty_features=True))]
    if scale:
        steps.append(("scale", StandardScaler()))
    return Pipeline(steps)


def _cross_fitting(target_type: str) -> KFold | StratifiedKFold:
    """The target encoder's cross fitting, seeded through its splitter: scikit-learn 1.9 deprecates the encoder's
    own ``random_state`` (removed in 1.11), and without one the shuffled folds change from fit to fit. The same
    folds the encoder drew before: stratified for a class target, plain for a continuous one (or one left to
    ``auto``, which no caller of this module's leaves)."""
    splitter = KFold if target_type in ("continuous", "auto") else StratifiedKFold
    return splitter(n_splits=5, shuffle=True, random_state=0)


def build_preprocessor(frame: pd.DataFrame, *, scale: bool, encoding: str = "onehot",
                       target_type: str = "auto") -> ColumnTransformer:
    """``encoding``: ``onehot`` for models that need it (linear), ``ordinal`` for trees."""
    kinds = column_kinds(frame)
    of = {kind: [n for n, k in kinds.items() if k == kind] for kind in set(kinds.values())}
    parts: list[tuple] = []
    if of.get("numeric"):
        parts.append(("numeric", _numeric(scale), of["numeric"]))
    if of.get("datetime"):
        dates = Pipeline([("parts", FunctionTransformer(_time_parts, feature_names_out=_time_part_names)),
                          ("impute", SimpleImputer(strategy="median", keep_empty_features=True))]
                         + ([("scale", StandardScaler())] if scale else []))
        parts.append(("datetime", dates, of["datetime"]))
    if of.get("category"):
        if encoding == "onehot":
            encoder = OneHotEncoder(handle_unknown="infrequent_if_exist", max_categories=MAX_ONE_HOT_CATEGORIES,
                                    sparse_output=False, dtype=np.float32)
        else:
            encoder = OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1, dtype=np.float32)
        parts.append(("category", Pipeline([("text", FunctionTransformer(_as_text, feature_names_out="one-to-one")),
                                            ("encode", encoder)]), of["category"]))
    if of.get("high_cardinality"):
        encode = [("text", FunctionTransformer(_as_text, feature_names_out="one-to-one")),
                  ("target", TargetEncoder(target_type=target_type, cv=_cross_fitting(target_type)))]
        if scale:
            encode.append(("scale", StandardScaler()))
        parts.append(("high_cardinality", Pipeline(encode), of["high_cardinality"]))
    for name in of.get("text", []):
        parts.append((f"text_{name}", Pipeline([
            ("column", FunctionTransformer(_one_text_column, feature_names_out=_same_names)),
            ("tfidf", TfidfVectorizer(max_features=TFIDF_FEATURES, sublinear_tf=True, dtype=np.float32)),
        ]), [name]))
    return ColumnTransformer(parts, remainder="drop", verbose_feature_names_out=len(of.get("text", [])) > 0,
                             sparse_threshold=0.0)


def describe(frame: pd.DataFrame, encoding: str = "onehot") -> dict[str, str]:
    """What the preprocessor does with each column, for the run record and the model card."""
    how = {"numeric": "median imputation", "datetime": "calendar parts (" + ", ".join(TIME_PARTS) + ")",
           "category": "one-hot encoding" if encoding == "onehot" else "ordinal codes",
           "high_cardinality": "target encoding (cross-fitted)", "text": f"TF-IDF (up to {TFIDF_FEATURES} terms)"}
    return {name: f"{kind}: {how[kind]}" for name, kind in column_kinds(frame).items()}
