"""Global and per-row explanations.

* Permutation importance on the holdout, per input column (works for any model, ensembles included).
* SHAP values for tree models: LightGBM's and XGBoost's own ``pred_contrib`` is exact TreeSHAP and cheap; other
  tree models use the ``shap`` package when installed (extra "explain"). Contributions of the encoded features are
  summed back to the input column they came from, so a reader sees the columns they know.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from conveyor.core.dependencies import available, extra_imports, require

with extra_imports("train"):
    from sklearn.inspection import permutation_importance
    from sklearn.pipeline import Pipeline

MAX_ROWS = 1_000


def permutation_importances(model: Any, frame: pd.DataFrame, y: pd.Series, scoring: str | None = None,
                            seed: int = 0, repeats: int = 3) -> list[dict[str, Any]]:
    if len(frame) > MAX_ROWS:
        frame = frame.sample(MAX_ROWS, random_state=seed)
        y = y.loc[frame.index]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = permutation_importance(model, frame, y, scoring=scoring, n_repeats=repeats, random_state=seed,
                                        n_jobs=1)
    order = np.argsort(-result.importances_mean)
    return [{"feature": str(frame.columns[i]), "importance": float(result.importances_mean[i]),
             "std": float(result.importances_std[i])} for i in order]


def _source_columns(prep: Any, inputs: list[str]) -> list[str]:
    """Which input column each encoded feature came from (the preprocessor's own names say it)."""
    names = [str(n) for n in prep.get_feature_names_out()]
    ordered = sorted(inputs, key=len, reverse=True)
    sources = []
    for name in names:
        prefix, _, bare = name.partition("__") if "__" in name else ("", "", name)
        if prefix.startswith("text_"):
            sources.append(prefix[len("text_"):])
            continue
        sources.append(next((c for c in ordered if bare == c or bare.startswith(f"{c}_")), bare))
    return sources


def tree_contributions(pipeline: Any, frame: pd.DataFrame) -> tuple[np.ndarray, list[str]] | None:
    """Per-row SHAP values by input column (rows x columns; for classifiers, of the last class's score).
    ``None`` when the model is not a tree model this can explain exactly."""
    if not isinstance(pipeline, Pipeline) or len(pipeline) < 2:
        return None
    prep, model = pipeline[:-1], pipeline.steps[-1][1]
    if type(model).__name__ == "EncodedLabels":  # the label-encoding wrapper around XGBoost (a forest's
        model = model.estimator                  # own `estimator` is only its unfitted template)
    matrix = prep.transform(frame)
    kind = type(model).__module__.split(".")[0]
    if kind == "lightgbm":
        raw = np.asarray(model.predict(matrix, pred_contrib=True))
    elif kind == "xgboost":
        xgb = require("xgboost", "xgboost")

        raw = np.asarray(model.get_booster().predict(xgb.DMatrix(matrix), pred_contribs=True))
        if raw.ndim == 3:  # multiclass: classes x features
            raw = raw[:, -1, :]
    else:
        if not available("shap"):  # explanations are extra evidence: without SHAP the report says less
            return None
        shap = require("shap", "explain")
        if not hasattr(model, "estimators_") and not hasattr(model, "tree_"):
            return None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            values = shap.TreeExplainer(model).shap_values(np.asarray(matrix, dtype=float), check_additivity=False)
        values = np.asarray(values)
        raw = values[..., -1] if values.ndim == 3 else values
        raw = np.column_stack([raw, np.zeros(len(raw))])
    width = matrix.shape[1]
    if raw.shape[1] != width + 1:  # LightGBM multiclass: (features + 1) per class, side by side
        raw = raw[:, -(width + 1):]
    features = raw[:, :width]
    sources = _source_columns(prep, list(frame.columns))
    columns = list(dict.fromkeys(sources))
    summed = np.column_stack([features[:, [i for i, s in enumerate(sources) if s == c]].sum(axis=1)
                              for c in columns])
    return summed, columns


def shap_importances(pipeline: Any, frame: pd.DataFrame, seed: int = 0) -> list[dict[str, Any]] | None:
    if len(frame) > MAX_ROWS:
        frame = frame.sample(MAX_ROWS, random_state=seed)
    found = tree_contributions(pipeline, frame)
    if found is None:
        return None
    values, columns = found
    mean = np.abs(values).mean(axis=0)
    return [{"feature": columns[i], "mean_abs_shap": float(mean[i])} for i in np.argsort(-mean)]


def explain_rows(pipeline: Any, frame: pd.DataFrame, top: int = 5) -> list[dict[str, float]] | None:
    """Per-row explanations for serving: each row's largest contributions by input column."""
    found = tree_contributions(pipeline, frame)
    if found is None:
        return None
    values, columns = found
    rows = []
    for row in values:
        order = np.argsort(-np.abs(row))[:top]
        rows.append({columns[i]: float(row[i]) for i in order})
    return rows
