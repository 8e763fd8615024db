"""Automated feature selection on the input columns, run once before the search on the training rows.

Methods (``train.feature_selection.method`` in conveyor.yaml):

* ``variance``    filter: drops quasi-constant columns (one value in at least ``max_share`` of the rows);
* ``mutual_info`` filter: mutual information with the target, keeps the top ``keep`` share of columns;
* ``l1``          embedded: an L1-penalised linear model on standardised inputs, keeps columns with a weight;
* ``tree``        embedded: extra-trees impurity importance, keeps the top ``keep`` share;
* ``rfe``         wrapper: recursive feature elimination with extra trees down to the top ``keep`` share.

Every column gets a decision with its score and the reason, which the run records. Free-text columns are kept
unscored (their TF-IDF terms are not one feature). Selection works on whole input columns, so the saved pipeline
simply reads fewer of them.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from conveyor.core.dependencies import extra_imports
from conveyor.core.errors import BadInputError
from conveyor.features.preprocess import column_kinds

METHODS = ("none", "variance", "mutual_info", "l1", "tree", "rfe")


@dataclass
class FeatureDecision:
    column: str
    kept: bool
    score: float | None
    why: str

    def to_dict(self) -> dict:
        return asdict(self)


def check_method(method: str) -> str:
    if method not in METHODS:
        raise BadInputError(f"Unknown feature selection method {method!r}.", field="train.feature_selection.method",
                            hint=f"Use one of {', '.join(METHODS)}.")
    return method


def _matrix(frame: pd.DataFrame, kinds: dict[str, str]) -> tuple[np.ndarray, list[str], list[bool]]:
    """One or more numeric columns per input column, with the input column each came from."""
    columns, sources, discrete = [], [], []
    for name, kind in kinds.items():
        series = frame[name]
        if kind == "text":
            continue
        if kind == "datetime":
            stamps = pd.to_datetime(series, errors="coerce")
            parts = [stamps.dt.year, stamps.dt.month, stamps.dt.day_of_week, stamps.dt.hour]
        elif kind == "numeric":
            parts = [series.astype("float64")]
        else:
            codes = pd.Series(pd.factorize(series.astype("object"))[0], index=series.index).astype("float64")
            parts = [codes]
        for part in parts:
            values = part.astype("float64")
            columns.append(values.fillna(values.median() if values.notna().any() else 0.0).to_numpy())
            sources.append(name)
            discrete.append(kind in ("category", "high_cardinality"))
    matrix = np.column_stack(columns) if columns else np.empty((len(frame), 0))
    return matrix, sources, discrete


def _per_column(scores: np.ndarray, sources: list[str], how=max) -> dict[str, float]:
    result: dict[str, float] = {}
    for score, name in zip(scores, sources, strict=True):
        result[name] = how(result[name], float(score)) if name in result else float(score)
    return result


def _top(scores: dict[str, float], keep: float) -> set[str]:
    count = max(1, math.ceil(keep * len(scores)))
    return set(sorted(scores, key=lambda n: -scores[n])[:count])


def select_features(frame: pd.DataFrame, y: pd.Series, task: str, method: str = "none", *, keep: float = 0.8,
                    max_share: float = 0.99, seed: int = 0) -> list[FeatureDecision]:
    check_method(method)
    if not 0 < keep <= 1:
        raise BadInputError(f"feature_selection.keep must be in (0, 1], got {keep}.",
                            field="train.feature_selection.keep", hint="For example 0.5 keeps half the columns.")
    kinds = column_kinds(frame)
    if method == "none":
        return [FeatureDecision(c, True, None, "no selection configured") for c in frame.columns]
    texts = [FeatureDecision(c, True, None, "free text: kept (TF-IDF terms are not scored as one feature)")
             for c, k in kinds.items() if k == "text"]
    matrix, sources, discrete = _matrix(frame, kinds)
    scored = [c for c, k in kinds.items() if k != "text"]
    if not scored:
        return texts
    target = pd.factorize(y)[0] if task == "classification" else y.to_numpy(dtype=float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence notes of the selectors' own models are not the user's
        decisions = _decide(method, matrix, sources, discrete, target, task, scored, frame, keep, max_share, seed)
    return decisions + texts


def _decide(method, matrix, sources, discrete, target, task, scored, frame, keep, max_share, seed):
    with extra_imports("features"):
        from sklearn.ensemble import ExtraTreesClassifier, ExtraTreesRegressor
        from sklearn.feature_selection import RFE, mutual_info_classif, mutual_info_regression
        from sklearn.linear_model import LassoCV, LogisticRegression
        from sklearn.preprocessing import StandardScaler

    def trees():
        cls = ExtraTreesRegressor if task == "regression" else ExtraTreesClassifier
        return cls(n_estimators=100, min_samples_leaf=3, n_jobs=1, random_state=seed)

    if method == "variance":
        share = {c: float(frame[c].value_counts(normalize=True, dropna=False).iloc[0]) for c in scored}
        return [FeatureDecision(c, s < max_share, s, f"most common value in {s:.1%} of rows"
                                + (f" (>= {max_share:.0%}: quasi-constant)" if s >= max_share else ""))
                for c, s in share.items()]
    if method == "mutual_info":
        fn = mutual_info_regression if task == "regression" else mutual_info_classif
        scores = _per_column(fn(matrix, target, discrete_features=np.asarray(discrete), random_state=seed), sources)
        kept = _top(scores, keep)
        return [FeatureDecision(c, c in kept, s, f"mutual information {s:.4f}: "
                                + ("in" if c in kept else "not in") + f" the top {keep:.0%}")
                for c, s in scores.items()]
    if method == "l1":
        scaled = StandardScaler().fit_transform(matrix)
        if task == "regression":
            coefs = np.abs(LassoCV(cv=3, random_state=seed).fit(scaled, target).coef_)
        else:
            model = LogisticRegression(l1_ratio=1.0, C=0.1, solver="saga", max_iter=2000, random_state=seed)
            coefs = np.abs(model.fit(scaled, target).coef_).max(axis=0)
        scores = _per_column(coefs, sources)
        return [FeatureDecision(c, s > 1e-8, s, f"L1 weight {s:.4f}" + ("" if s > 1e-8 else ": shrunk to zero"))
                for c, s in scores.items()]
    if method == "tree":
        scores = _per_column(trees().fit(matrix, target).feature_importances_, sources, how=lambda a, b: a + b)
        kept = _top(scores, keep)
        return [FeatureDecision(c, c in kept, s, f"tree importance {s:.4f}: "
                                + ("in" if c in kept else "not in") + f" the top {keep:.0%}")
                for c, s in scores.items()]
    n_keep = max(1, math.ceil(keep * matrix.shape[1]))
    rfe = RFE(trees(), n_features_to_select=n_keep, step=0.2).fit(matrix, target)
    ranks = _per_column(rfe.ranking_.astype(float), sources, how=min)
    return [FeatureDecision(c, r == 1, r, "kept by recursive elimination" if r == 1
                            else f"eliminated in round {int(r) - 1} of recursive elimination")
            for c, r in ranks.items()]
