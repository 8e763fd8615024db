"""Automated feature selection on the input columns, run once before the search on the training rows.

Methods (``train.feature_selection.method`` in conveyor.yaml; one module each in :mod:`conveyor.features.selectors`,
and plug-ins through the entry-point group ``conveyor.selectors``):

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

import warnings

import numpy as np
import pandas as pd

from conveyor.core.errors import BadInputError, NotFoundError
from conveyor.features.preprocess import column_kinds
from conveyor.features.selectors import FIELD, SELECTORS, FeatureDecision, SelectionData, Selector

__all__ = ["FeatureDecision", "check_method", "select_features"]


def check_method(method: str) -> Selector:
    """The selection method called ``method``; an unknown name is bad input naming the known ones."""
    try:
        return SELECTORS.get(method)
    except NotFoundError as exc:
        raise BadInputError(exc.message, field=FIELD, hint=exc.hint) from None


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


def select_features(frame: pd.DataFrame, y: pd.Series, task: str, method: str = "none", *, keep: float = 0.8,
                    max_share: float = 0.99, seed: int = 0) -> list[FeatureDecision]:
    selector = check_method(method)
    if not 0 < keep <= 1:
        raise BadInputError(f"feature_selection.keep must be in (0, 1], got {keep}.",
                            field="train.feature_selection.keep", hint="For example 0.5 keeps half the columns.")
    kinds = column_kinds(frame)
    empty = np.empty((len(frame), 0))
    if not selector.selects:
        return selector.decide(SelectionData(frame, list(frame.columns), empty, [], [], np.empty(0), task, keep,
                                             max_share, seed))
    target = pd.factorize(y)[0] if task == "classification" else y.to_numpy(dtype=float)
    texts = [FeatureDecision(c, True, None, "free text: kept (TF-IDF terms are not scored as one feature)")
             for c, k in kinds.items() if k == "text"]
    scored = [c for c, k in kinds.items() if k != "text"]
    if not scored:
        return texts
    matrix, sources, discrete = _matrix(frame, kinds) if selector.scores_columns else (empty, [], [])
    data = SelectionData(frame, scored, matrix, sources, discrete, target, task, keep, max_share, seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence notes of the selectors' own models are not the user's
        decisions = selector.decide(data)
    return decisions + texts
