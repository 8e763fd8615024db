"""Fit one tool on one prepared split and write its test-set output (probabilities or predictions) as .npy.

Runs in conveyor's venv (conveyor, lightgbm) or FLAML's (flaml): it imports only what the chosen tool needs.
Every tool runs single-threaded (n_jobs=1): the machine is shared.

    python fit_one.py TOOL DATA_DIR BUDGET_S OUT.npy
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd


def as_categories(frame: pd.DataFrame) -> pd.DataFrame:
    """LightGBM and FLAML take pandas categories for string columns."""
    return frame.assign(**{c: frame[c].astype("category") for c in frame.columns
                         if pd.api.types.is_string_dtype(frame[c]) or frame[c].dtype == object})


def main() -> None:
    tool, folder, budget, out = sys.argv[1], Path(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
    meta = json.loads((folder / "meta.json").read_text())
    kind, classes = meta["kind"], meta["classes"]
    train, test = pd.read_parquet(folder / "train.parquet"), pd.read_parquet(folder / "test.parquet")
    X, y, X_test = train.drop(columns="target"), train["target"], test.drop(columns="target")
    started = time.monotonic()
    info: dict = {}
    if tool == "conveyor":
        from conveyor.train.automl import run_automl

        metric = {"binary": "roc_auc", "multiclass": "accuracy", "regression": "rmse"}[kind]
        result = run_automl(train, "target", task="regression" if kind == "regression" else "classification",
                            metric=metric, budget_seconds=budget, seed=0, holdout=test)
        model = result.pipeline
        info = {"family": result.family, "trials": len(result.trials), "validation": result.validation}
    elif tool == "lightgbm":
        import lightgbm as lgb

        cls = lgb.LGBMRegressor if kind == "regression" else lgb.LGBMClassifier
        X, X_test = as_categories(X), as_categories(X_test)
        for c in X.columns:  # test categories must be coded as the training ones
            if isinstance(X[c].dtype, pd.CategoricalDtype):
                X_test[c] = pd.Categorical(X_test[c].astype(object), categories=X[c].cat.categories)
        model = cls(n_jobs=1, random_state=0, verbose=-1).fit(X, y)
    else:
        from flaml import AutoML

        X, X_test = as_categories(X), as_categories(X_test)
        metric = {"binary": "roc_auc", "multiclass": "accuracy", "regression": "rmse"}[kind]
        model = AutoML()
        model.fit(X, y, task="regression" if kind == "regression" else "classification", metric=metric,
                  time_budget=budget, n_jobs=1, seed=0, verbose=0)
        info = {"family": model.best_estimator}
    fitted = time.monotonic() - started
    output = model.predict(X_test) if kind == "regression" else model.predict_proba(X_test)
    np.save(out, np.asarray(output, dtype=float))
    print(json.dumps({"fit_seconds": fitted, "classes": classes, **info}))


if __name__ == "__main__":
    main()
