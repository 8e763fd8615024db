"""Fit one tool on one prepared split and write its test-set output (probabilities or predictions) as .npy.

Runs in conveyor's venv (conveyor; the anchors: LightGBM defaults and a linear model, both fitted once) or FLAML's
(flaml): it imports only what the chosen tool needs. Every tool runs single-threaded (n_jobs=1): the machine is
shared; every tool's process ends without the interpreter's teardown, as `conveyor train` does. Conveyor runs as a
user's `conveyor train` does: it sees only the training rows (its own holdout split
inside) and its budget runs from this process's start.

    python fit_one.py conveyor|flaml|anchors DATA_DIR BUDGET_S OUT_PREFIX SEED
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd


def as_categories(frame: pd.DataFrame) -> pd.DataFrame:
    """LightGBM and FLAML take pandas categories for string columns."""
    return frame.assign(**{c: frame[c].astype("category") for c in frame.columns
                         if pd.api.types.is_string_dtype(frame[c]) or frame[c].dtype == object})


def as_numbers(frame: pd.DataFrame) -> pd.DataFrame:
    """Datetimes as seconds for the anchors (conveyor expands them itself)."""
    return frame.assign(**{c: frame[c].astype("int64") // 10**9 for c in frame.columns
                         if pd.api.types.is_datetime64_any_dtype(frame[c])})


def is_free_text(series: pd.Series) -> bool:
    """A string column whose values average four words or more (the linear anchor gives it TF-IDF)."""
    sample = series.dropna().astype(str).head(500)
    return len(sample) > 0 and sample.str.split().str.len().mean() >= 4


def conveyor_details(result, metric: str) -> dict:
    """What the search did, for the findings: validation, trials per state, each family's first (default) trial."""
    trials = list(getattr(result, "trials", []))
    first: dict = {}
    best: dict = {}
    for trial in trials:
        if trial.score is None:
            continue
        first.setdefault(trial.family, trial.score)
        pick = min if metric in ("log_loss", "rmse", "mae", "mse") else max  # trial scores are the metric's own
        best[trial.family] = pick(best.get(trial.family, trial.score), trial.score)
    states: dict = {}
    for trial in trials:
        states[trial.state] = states.get(trial.state, 0) + 1
    holdout = getattr(result, "holdout_metrics", {}) or {}
    return {"family": result.family, "trials": len(trials), "states": states,
            "validation": getattr(result, "validation", "?"), "validation_score": result.validation_score,
            "holdout_score": holdout.get(metric), "refit": getattr(result, "refit", "?"),
            "fallback": getattr(result, "fallback", None),
            "errors": sorted({str(t.error).strip().splitlines()[-1][:120] for t in trials if t.error}),
            "first_trial": first, "best_trial": best, "skipped": getattr(result, "skipped_families", {}),
            "timings": {k: round(v, 2) for k, v in (getattr(result, "timings", {}) or {}).items()}}


def lightgbm_defaults(kind: str, X: pd.DataFrame, y: pd.Series, X_test: pd.DataFrame, seed: int) -> np.ndarray:
    import lightgbm as lgb

    X, X_test = as_categories(as_numbers(X)), as_categories(as_numbers(X_test))
    for c in X.columns:  # test categories must be coded as the training ones
        if isinstance(X[c].dtype, pd.CategoricalDtype):
            X_test[c] = pd.Categorical(X_test[c].astype(object), categories=X[c].cat.categories)
    cls = lgb.LGBMRegressor if kind == "regression" else lgb.LGBMClassifier
    model = cls(n_jobs=1, random_state=seed, verbose=-1).fit(X, y)
    return model.predict(X_test) if kind == "regression" else model.predict_proba(X_test)


def linear_model(kind: str, X: pd.DataFrame, y: pd.Series, X_test: pd.DataFrame) -> np.ndarray:
    from sklearn.compose import make_column_transformer
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression, RidgeCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    X, X_test = as_numbers(X), as_numbers(X_test)
    numeric = [c for c in X.columns if pd.api.types.is_numeric_dtype(X[c])]
    text = [c for c in X.columns if c not in numeric and is_free_text(X[c])]
    other = [c for c in X.columns if c not in numeric and c not in text]
    X, X_test = X.astype({c: object for c in other}), X_test.astype({c: object for c in other})
    prep = make_column_transformer(
        (make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric),
        (make_pipeline(SimpleImputer(strategy="most_frequent"),
                       OneHotEncoder(handle_unknown="infrequent_if_exist", min_frequency=5)), other),
        *[(TfidfVectorizer(min_df=2), c) for c in text])  # free text: one TF-IDF per column
    if kind == "regression":
        return make_pipeline(prep, RidgeCV()).fit(X, y).predict(X_test)
    return make_pipeline(prep, LogisticRegression(max_iter=2000)).fit(X, y).predict_proba(X_test)


def main() -> None:
    tool, folder, budget, out, seed = (sys.argv[1], Path(sys.argv[2]), float(sys.argv[3]), sys.argv[4],
                                       int(sys.argv[5]))
    meta = json.loads((folder / "meta.json").read_text())
    kind, metric = meta["kind"], meta["metric"]
    train, test = pd.read_parquet(folder / "train.parquet"), pd.read_parquet(folder / "test.parquet")
    X, y, X_test = train.drop(columns="target"), train["target"], test.drop(columns="target")
    info: dict = {}
    if tool == "conveyor":
        from conveyor.train.automl import run_automl
        from conveyor.train.budget import Deadline, process_started

        deadline = Deadline(budget, process_started())
        before_search = deadline.elapsed()  # interpreter start-up, imports, reading the split
        result = run_automl(train, "target", task="regression" if kind == "regression" else "classification",
                            metric=metric, budget_seconds=budget, seed=seed, deadline=deadline)
        returned = deadline.elapsed()
        model = result.pipeline
        output = model.predict(X_test) if kind == "regression" else model.predict_proba(X_test)
        np.save(f"{out}.npy", np.asarray(output, dtype=float))
        try:
            details = conveyor_details(result, metric)
        except (AttributeError, TypeError) as exc:  # a renamed field must not lose the score
            details = {"family": getattr(result, "family", "?"), "details_error": str(exc)}
        info = {**details, "started_search_s": round(before_search, 2),
                "returned_s": round(returned, 2), "predicted_s": round(deadline.elapsed(), 2)}
    elif tool == "anchors":
        for name, fit in (("lightgbm", lambda: lightgbm_defaults(kind, X, y, X_test, seed)),
                          ("linear", lambda: linear_model(kind, X, y, X_test))):
            started = time.process_time()
            np.save(f"{out}-{name}.npy", np.asarray(fit(), dtype=float))
            info[f"{name}_cpu_s"] = time.process_time() - started
    else:
        from flaml import AutoML

        model = AutoML()
        model.fit(as_categories(X), y, task="regression" if kind == "regression" else "classification",
                  metric=metric, time_budget=budget, n_jobs=1, seed=seed, verbose=0)
        output = model.predict(as_categories(X_test)) if kind == "regression" else \
            model.predict_proba(as_categories(X_test))
        np.save(f"{out}.npy", np.asarray(output, dtype=float))
        info = {"family": model.best_estimator}
    print(json.dumps(info, default=float), flush=True)
    sys.stderr.flush()
    # every tool ends without the interpreter's teardown (freeing thousands of modules: seconds on a loaded machine),
    # as `conveyor train` does since issue 13: the wall time is the fit's, for conveyor and FLAML alike
    os._exit(0)


if __name__ == "__main__":
    main()
