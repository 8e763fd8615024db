"""Global and per-row explanations.

* Permutation importance on the holdout, per input column (works for any model, ensembles included).
* SHAP values for tree models, from the caller's ``contribute(estimator, matrix)`` (the model flavors': LightGBM's
  and XGBoost's own ``pred_contrib`` is exact TreeSHAP and cheap; scikit-learn's trees use the ``shap`` package when
  installed, extra "explain"). Contributions of the encoded features are summed back to the input column they came
  from, so a reader sees the columns they know.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from conveyor.core.dependencies import extra_imports

with extra_imports("train"):
    from sklearn.inspection import permutation_importance
    from sklearn.pipeline import Pipeline

MAX_ROWS = 1_000

Contribute = Callable[[Any, Any], "np.ndarray | None"]


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


def tree_contributions(pipeline: Any, frame: pd.DataFrame,
                       contribute: Contribute) -> tuple[np.ndarray, list[str]] | None:
    """Per-row SHAP values by input column (rows x columns; for classifiers, of the last class's score).
    ``contribute(estimator, matrix)`` gives the final estimator's contributions on the encoded matrix (one block
    of features + bias per class), or None when it cannot explain that estimator exactly; then this is None too."""
    if not isinstance(pipeline, Pipeline) or len(pipeline) < 2:
        return None
    prep, model = pipeline[:-1], pipeline.steps[-1][1]
    matrix = prep.transform(frame)
    raw = contribute(model, matrix)
    if raw is None:
        return None
    width = matrix.shape[1]
    raw = raw[:, -(width + 1):]  # the last class's block (the only block of a regressor or a binary booster)
    features = raw[:, :width]
    sources = _source_columns(prep, list(frame.columns))
    columns = list(dict.fromkeys(sources))
    summed = np.column_stack([features[:, [i for i, s in enumerate(sources) if s == c]].sum(axis=1)
                              for c in columns])
    return summed, columns


def shap_importances(pipeline: Any, frame: pd.DataFrame, contribute: Contribute,
                     seed: int = 0, rows: int = MAX_ROWS) -> list[dict[str, Any]] | None:
    """Mean |SHAP| per input column on up to ``rows`` sampled rows; None when the model cannot be explained exactly."""
    if len(frame) > rows:
        frame = frame.sample(rows, random_state=seed)
    found = tree_contributions(pipeline, frame, contribute)
    if found is None:
        return None
    values, columns = found
    mean = np.abs(values).mean(axis=0)
    return [{"feature": columns[i], "mean_abs_shap": float(mean[i])} for i in np.argsort(-mean)]
