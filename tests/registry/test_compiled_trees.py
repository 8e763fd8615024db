"""The compiled tree walk answers what LightGBM's own predict does, or is not used at all."""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap

import lightgbm as lgb
import numpy as np
import pytest

from conveyor.registry.flavors.compiled_trees import TOLERANCE, check_rows, compile_booster, flatten
from conveyor.registry.flavors.lightgbm import LightGBMNative

pytest.importorskip("numba")


def _data(rows: int = 600, features: int = 6, seed: int = 0, missing: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, features))
    signal = X[:, 0] + 0.5 * X[:, 1] - X[:, 2] * (X[:, 3] > 0)
    X[rng.random(X.shape) < missing] = np.nan
    return X, signal


def _probe(X: np.ndarray) -> np.ndarray:
    """Rows the training never saw: NaN, zeros, huge values and the training rows themselves."""
    probe = X[:64].copy()
    probe[::3, 0] = np.nan
    probe[1::4, 1] = 0.0
    probe[2::5, 2] = 1e308
    probe[3::7] = np.nan
    return np.ascontiguousarray(probe)


def _assert_compiled_same(booster: lgb.Booster, X: np.ndarray) -> None:
    native = LightGBMNative(booster)
    assert native.compile_for_serving() == "compiled-trees"
    assert native.compiled.max_difference <= TOLERANCE
    frozen = _probe(X)
    frozen.flags.writeable = False
    for rows in (_probe(X), _probe(X)[:1], np.ascontiguousarray(X[:512]), np.asfortranarray(X[:40]), frozen):
        expected = booster.predict(rows, num_threads=1)
        got = native.raw(rows)
        assert got.shape == expected.shape
        assert np.max(np.abs(got - expected)) <= TOLERANCE
    assert len(native.compiled.kernel.signatures) == 1  # compiled at load for what requests bring: none compiles


@pytest.mark.parametrize("use_missing", [True, False])  # missing type NaN, and None (NaN read as 0.0)
def test_binary_with_missing_values_matches_lightgbm(use_missing):
    X, signal = _data()
    params = {"objective": "binary", "verbose": -1, "num_leaves": 15, "use_missing": use_missing}
    booster = lgb.train(params, lgb.Dataset(X, (signal > 0).astype(int)), 40)
    types = {n.get("missing_type") for t in booster.dump_model()["tree_info"] for n in _nodes(t["tree_structure"])}
    assert types == ({"NaN"} if use_missing else {"None"})
    _assert_compiled_same(booster, X)


def test_binary_with_a_sigmoid_parameter_matches_lightgbm():
    X, signal = _data(seed=1)
    booster = lgb.train({"objective": "binary", "sigmoid": 0.7, "verbose": -1}, lgb.Dataset(X, (signal > 0) * 1), 20)
    _assert_compiled_same(booster, X)


def test_multiclass_matches_lightgbm():
    X, signal = _data(seed=2)
    y = np.digitize(signal, [-0.5, 0.5])
    booster = lgb.train({"objective": "multiclass", "num_class": 3, "verbose": -1, "num_leaves": 7},
                        lgb.Dataset(X, y), 25)
    _assert_compiled_same(booster, X)
    assert LightGBMNative(booster).raw(X[:5]).shape == (5, 3)


@pytest.mark.parametrize("objective", ["regression", "huber", "quantile"])
def test_regression_matches_lightgbm(objective):
    X, signal = _data(seed=3)
    booster = lgb.train({"objective": objective, "verbose": -1}, lgb.Dataset(X, signal), 30)
    _assert_compiled_same(booster, X)


def test_an_early_stopped_booster_uses_its_best_iteration():
    X, signal = _data(rows=800, seed=4)
    train, valid = lgb.Dataset(X[:500], signal[:500] > 0), lgb.Dataset(X[500:], signal[500:] > 0)
    booster = lgb.train({"objective": "binary", "verbose": -1, "learning_rate": 0.5, "num_leaves": 31}, train, 300,
                        valid_sets=[valid], callbacks=[lgb.early_stopping(5, verbose=False)],
                        keep_training_booster=True)  # the trees after the best iteration stay in the booster
    assert 0 < booster.best_iteration < booster.num_trees()
    _assert_compiled_same(booster, X)
    reloaded = lgb.Booster(model_str=booster.model_to_string())  # what the registry stores and serves
    _assert_compiled_same(reloaded, X)


def test_a_categorical_split_is_not_compiled_and_lightgbm_still_answers():
    rng = np.random.default_rng(5)
    X = np.column_stack([rng.integers(0, 6, 500), rng.normal(size=500)]).astype(float)
    y = np.isin(X[:, 0], [1, 4]).astype(int)
    booster = lgb.train({"objective": "binary", "verbose": -1, "min_data_per_group": 5},
                        lgb.Dataset(X, y, categorical_feature=[0]), 10)
    assert any(n.get("decision_type") == "==" for t in booster.dump_model()["tree_info"]
               for n in _nodes(t["tree_structure"]))
    native = LightGBMNative(booster)
    assert native.compile_for_serving() == "lightgbm" and native.compiled is None
    assert np.array_equal(native.raw(X[:32]), booster.predict(X[:32], num_threads=1))


@pytest.mark.parametrize("params", [{"objective": "poisson"}, {"objective": "regression", "reg_sqrt": True},
                                    {"objective": "regression", "zero_as_missing": True},
                                    {"objective": "regression", "boosting": "rf", "bagging_freq": 1,
                                     "bagging_fraction": 0.5}])
def test_what_is_not_compiled_keeps_lightgbms_predict(params):
    X, signal = _data(seed=6, missing=0.0)
    X[::4, 0] = 0.0
    booster = lgb.train({**params, "verbose": -1}, lgb.Dataset(X, np.abs(signal)), 10)
    assert compile_booster(booster) is None


def test_a_wrong_walk_is_caught_by_the_check_and_warned_about(caplog, monkeypatch):
    X, signal = _data(seed=7)
    booster = lgb.train({"objective": "binary", "verbose": -1}, lgb.Dataset(X, (signal > 0) * 1), 10)
    from conveyor.registry.flavors import compiled_trees

    real = compiled_trees.flatten

    def off_by_one_leaf(trees):
        arrays = real(trees)
        arrays.leaf_value[0] += 1e-9
        return arrays

    monkeypatch.setattr(compiled_trees, "flatten", off_by_one_leaf)
    with caplog.at_level(logging.WARNING, logger="conveyor.registry.flavors.compiled_trees"):
        assert compile_booster(booster) is None
    assert len(caplog.records) == 1 and "differ from LightGBM's predict" in caplog.records[0].getMessage()


def test_the_check_rows_reach_both_sides_of_every_threshold():
    X, signal = _data(seed=8)
    booster = lgb.train({"objective": "regression", "verbose": -1}, lgb.Dataset(X, signal), 10)
    arrays = flatten(booster.dump_model()["tree_info"])
    rows = check_rows(arrays, X.shape[1])
    assert np.array_equal(rows, check_rows(arrays, X.shape[1]), equal_nan=True)  # deterministic
    for node in np.nonzero(arrays.child >= 0)[0]:
        column = rows[:, arrays.feature[node]]
        assert (column <= arrays.threshold[node]).any() and (column > arrays.threshold[node]).any()
    assert np.isnan(rows).any()


def test_without_numba_nothing_is_compiled_and_nothing_is_said():
    script = textwrap.dedent("""
        import sys, logging
        sys.modules["numba"] = None  # the import fails as if numba were not installed
        logging.basicConfig(level=logging.DEBUG)
        import lightgbm as lgb, numpy as np
        from conveyor.registry.flavors.lightgbm import LightGBMNative
        X = np.random.default_rng(0).normal(size=(200, 3))
        booster = lgb.train({"objective": "binary", "verbose": -1}, lgb.Dataset(X, (X[:, 0] > 0) * 1), 5)
        native = LightGBMNative(booster)
        print(native.compile_for_serving())
        assert np.array_equal(native.raw(X[:4]), booster.predict(X[:4], num_threads=1))
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "lightgbm"
    assert "compiled" not in done.stderr.lower()


def _nodes(node: dict) -> list[dict]:
    if "split_index" not in node:
        return []
    return [node, *_nodes(node["left_child"]), *_nodes(node["right_child"])]
