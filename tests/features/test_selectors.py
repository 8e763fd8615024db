"""Feature-selection methods as a registry, and the L1 method being L1 on the installed scikit-learn (1.8 changed
how a pure L1 logistic regression is asked for; before it, ``l1_ratio`` alone is silently ignored)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import sklearn
from sklearn.linear_model import LogisticRegression

from conveyor.core.errors import BadInputError
from conveyor.features.selection import select_features
from conveyor.features.selectors import SELECTORS
from conveyor.features.selectors.l1 import l1_logistic, penalty_is_deprecated


@pytest.fixture(scope="module")
def noisy():
    rng = np.random.default_rng(11)
    X = rng.normal(size=(800, 12))
    y = (X[:, 0] - 0.8 * X[:, 1] + rng.normal(scale=0.5, size=800) > 0).astype(int)
    return X, y


def test_the_penalty_is_asked_for_the_way_the_installed_scikit_learn_understands():
    major, minor = (int(p) for p in sklearn.__version__.split(".")[:2])
    assert penalty_is_deprecated() == ((major, minor) >= (1, 8))


def test_the_l1_logistic_regression_zeroes_the_noise_where_l2_does_not(noisy):
    X, y = noisy
    sparse = l1_logistic(0).fit(X, y).coef_.ravel()
    dense = LogisticRegression(C=0.1, solver="saga", max_iter=2000, random_state=0).fit(X, y).coef_.ravel()
    assert np.count_nonzero(sparse == 0.0) >= 5  # most of the ten noise columns get no weight at all
    assert abs(sparse[0]) > 0.1 and abs(sparse[1]) > 0.1
    assert np.count_nonzero(dense == 0.0) == 0


def test_the_l1_method_leaves_out_the_noise_columns_it_zeroed(noisy):
    X, y = noisy
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])
    decisions = {d.column: d for d in select_features(frame, pd.Series(y), "classification", "l1")}
    assert decisions["x0"].kept and decisions["x1"].kept
    dropped = [c for c, d in decisions.items() if not d.kept]
    assert len(dropped) >= 5 and all(decisions[c].why.endswith("shrunk to zero") for c in dropped)


def test_unknown_methods_name_the_known_ones():
    with pytest.raises(BadInputError, match=r"Unknown feature selection method 'mutualinfo'\. Did you mean "
                                            r"'mutual_info'") as caught:
        select_features(pd.DataFrame({"a": [1.0, 2.0]}), pd.Series([0, 1]), "classification", "mutualinfo")
    assert caught.value.field == "train.feature_selection.method"
    assert SELECTORS.names()[:6] == ["none", "variance", "mutual_info", "l1", "tree", "rfe"]
