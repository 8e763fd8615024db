"""``check_family``: proves a model family keeps its promises, in the spirit of scikit-learn's ``check_estimator``.

    from conveyor.testing import check_family
    check_family(MY_FAMILY)

For each task the family declares (classification: two and three classes), on a few dozen rows with a numeric and a
category column, through the preprocessing the family asks for, it checks, and raises AssertionError naming the
family and the broken promise otherwise:

* the declaration: name, parameter prefix, tasks, ``requires`` as ``(module, extra)`` pairs, encoding, grid;
* its packages are installed (else the MissingDependencyError a user would get);
* the defaults (or ``recorded_defaults``, where a library default lies outside the space) are points of its space
  (a warm-started trial gets exactly them), and the defaults build a model that fits
  and predicts the right shapes (classes among the labels, probabilities that sum to one);
* a few random points of the space, with class weighting in play, and the first grid point do the same, each
  built as a fresh estimator that scikit-learn can clone;
* with ``early_stopping``, fitting through it returns a round count and leaves a model that predicts.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from conveyor.core.dependencies import extra_imports
from conveyor.registry.flavors import get_flavor
from conveyor.train.families import TASKS, Family, SearchContext
from conveyor.train.trials import make_pipeline

with extra_imports("train"):
    import optuna
    from sklearn.base import clone


def _fail(family: Family, message: str) -> AssertionError:
    return AssertionError(f"family {family.name or type(family).__name__!r}: {message}")


def _check_declaration(family: Family) -> None:
    if not isinstance(family, Family):
        raise AssertionError(f"{family!r} is not a conveyor.train.families.Family instance")
    if not family.name or not family.name.isidentifier():
        raise _fail(family, "needs a name made of letters, digits and underscores")
    if not family.param_prefix or "." in family.param_prefix:
        raise _fail(family, f"parameter prefix {family.param_prefix!r} must be non-empty, without dots")
    if not family.tasks or not set(family.tasks) <= set(TASKS):
        raise _fail(family, f"tasks {family.tasks!r} must be among {TASKS}")
    if not all(isinstance(r, tuple) and len(r) == 2 and all(isinstance(x, str) for x in r) for r in family.requires):
        raise _fail(family, f"requires must hold (module, extra) pairs, got {family.requires!r}")
    if family.encoding not in ("onehot", "ordinal"):
        raise _fail(family, f"encoding {family.encoding!r} must be onehot or ordinal")
    if not isinstance(family.defaults, dict) or not all(isinstance(p, dict) for p in family.grid):
        raise _fail(family, "defaults must be a dict and grid a list of dicts")
    if family.early_stopping and type(family).fit_early_stopping is Family.fit_early_stopping and not (
            family.flavor and get_flavor(family.flavor).early_stopping):
        raise _fail(family, "early_stopping needs a flavor with early stopping, or its own fit_early_stopping")


def tiny_data(task: str, n_classes: int, seed: int = 0, rows: int = 90) -> tuple[pd.DataFrame, pd.Series]:
    """A few rows with signal: two numeric columns (one with gaps) and a category column."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 2))
    colour = rng.choice(["red", "green", "blue"], size=rows)
    frame = pd.DataFrame({"x0": x[:, 0], "x1": np.where(rng.random(rows) < 0.1, np.nan, x[:, 1]), "colour": colour})
    signal = x[:, 0] + (colour == "red") + rng.normal(scale=0.3, size=rows)
    if task == "regression":
        return frame, pd.Series(signal, name="y")
    cuts = np.quantile(signal, np.linspace(0, 1, n_classes + 1)[1:-1])
    labels = np.array([f"class{i}" for i in range(n_classes)])
    return frame, pd.Series(labels[np.searchsorted(cuts, signal)], name="y")


def _contexts(family: Family) -> list[tuple[SearchContext, int]]:
    found = []
    if "classification" in family.tasks:
        found += [(SearchContext("classification", 2, imbalanced=True, pos_weight=3.0), 2),
                  (SearchContext("classification", 3), 3)]
    if "regression" in family.tasks:
        found.append((SearchContext("regression"), 0))
    return found


def _defaults_are_in_the_space(family: Family, ctx: SearchContext, seed: int) -> dict[str, Any]:
    prefix = family.param_prefix
    recorded = family.defaults if family.recorded_defaults is None else family.recorded_defaults
    if not set(recorded) <= set(family.defaults):
        raise _fail(family, f"its recorded_defaults name {sorted(recorded)}, its defaults {sorted(family.defaults)}: "
                            "every recorded parameter must be a default (the space's nearest point to it)")
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(seed=seed))
    study.enqueue_trial({f"{prefix}.{k}": v for k, v in recorded.items()})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        params = family.suggest(study.ask(), ctx)
    outside = [str(w.message) for w in caught if "range" in str(w.message)]
    drawn = set(params) - {"balanced"}  # class weighting is fixed off by the defaults trial itself
    if not drawn <= set(recorded):
        raise _fail(family, f"its space draws {sorted(drawn - set(recorded))}, which its defaults do not fix: the "
                            "defaults trial would get random values there; give each one a default")
    # a default the space draws for other tasks only (LightGBM's hessian floor, for classes) is fitted as it is
    if outside or any(params[k] != v for k, v in recorded.items() if k in params):
        raise _fail(family, f"its defaults {recorded} are not a point of its space (a warm-started trial got "
                            f"{params}{'; ' + outside[0] if outside else ''}); a library default outside the space "
                            "goes in defaults, the space's nearest point in recorded_defaults")
    return params


def _sampled(family: Family, ctx: SearchContext, seed: int, samples: int) -> list[dict[str, Any]]:
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(seed=seed))
    points = []
    for _ in range(samples):
        trial = study.ask()
        params = family.suggest(trial, ctx)
        if set(trial.params) != {f"{family.param_prefix}.{k}" for k in params}:
            raise _fail(family, f"suggest() must draw each parameter as '{family.param_prefix}.<key>' "
                                f"(drew {sorted(trial.params)}, returned {sorted(params)})")
        study.tell(trial, 0.0)
        points.append(params)
    return points


def _fit_and_predict(family: Family, ctx: SearchContext, params: dict[str, Any], X: pd.DataFrame, y: pd.Series,
                     seed: int) -> None:
    estimator = family.build(ctx, params, seed)
    if not hasattr(estimator, "fit") or not hasattr(estimator, "predict"):
        raise _fail(family, f"build() gave a {type(estimator).__name__} without fit and predict")
    try:
        clone(estimator)
    except Exception as exc:
        raise _fail(family, f"build() gave an estimator scikit-learn cannot clone: {exc}") from None
    pipeline = make_pipeline(family, ctx, params, X, seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence notes on a few dozen rows are expected
        pipeline.fit(X, y)
        predicted = np.asarray(pipeline.predict(X))
        proba = pipeline.predict_proba(X) if ctx.task == "classification" else None
    if predicted.shape != (len(X),):
        raise _fail(family, f"{ctx.task} with {params}: predict gave shape {predicted.shape} for {len(X)} rows")
    if ctx.task == "regression":
        if not np.isfinite(predicted.astype(float)).all():
            raise _fail(family, f"regression with {params}: predictions are not all finite")
        return
    if not set(predicted.tolist()) <= set(y.unique().tolist()):
        raise _fail(family, f"classification with {params}: predict gave labels that are not classes")
    proba = np.asarray(proba, dtype=float)
    if proba.shape != (len(X), ctx.n_classes) or not np.allclose(proba.sum(axis=1), 1.0):
        raise _fail(family, f"classification with {params}: predict_proba gave shape {proba.shape} (expected "
                            f"{(len(X), ctx.n_classes)}) or rows that do not sum to one")


def _check_early_stopping(family: Family, ctx: SearchContext, X: pd.DataFrame, y: pd.Series, seed: int) -> None:
    pipeline = make_pipeline(family, ctx, dict(family.defaults), X, seed)
    half = len(X) * 2 // 3
    prep = pipeline[:-1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        Xt = prep.fit_transform(X.iloc[:half], y.iloc[:half])
        rounds = family.fit_early_stopping(pipeline.steps[-1][1], Xt, y.iloc[:half], prep.transform(X.iloc[half:]),
                                           y.iloc[half:], 5)
        predicted = np.asarray(pipeline.predict(X))
    if not isinstance(rounds, (int, np.integer)) or rounds < 1:
        raise _fail(family, f"fit_early_stopping returned {rounds!r}: expected the number of rounds (>= 1)")
    if predicted.shape != (len(X),):
        raise _fail(family, "after early stopping the model does not predict one value per row")


def check_family(family: Family, *, samples: int = 2, seed: int = 0) -> None:
    """Check ``family`` on tiny data for every task it declares; raises AssertionError on a broken promise (or the
    MissingDependencyError naming the extra when a package it needs is not installed)."""
    _check_declaration(family)
    problem = family.missing()
    if problem is not None:
        raise problem
    for ctx, n_classes in _contexts(family):
        X, y = tiny_data(ctx.task, n_classes, seed)
        sampled = _sampled(family, ctx, seed, samples)
        _defaults_are_in_the_space(family, ctx, seed)
        points = [dict(family.defaults), *sampled, *family.grid[:1]]
        for params in points:
            _fit_and_predict(family, ctx, params, X, y, seed)
        if family.early_stopping:
            _check_early_stopping(family, ctx, X, y, seed)
