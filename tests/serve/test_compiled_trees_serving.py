"""`conveyor serve` answers through the compiled tree walk by default (the same answers as LightGBM's predict),
says so in the /v2 model metadata, and keeps LightGBM's predict with --runtime native."""

from __future__ import annotations

import httpx
import lightgbm as lgb
import numpy as np
import orjson
import pandas as pd
import pytest

from conveyor.registry.flavors.compiled_trees import TOLERANCE
from conveyor.registry.models import register_model
from conveyor.registry.packaging import infer_inputs
from conveyor.serve import create_app, running_server

pytest.importorskip("numba")

NAMES = ["a", "b", "c", "d"]


@pytest.fixture(scope="module")
def three_classes() -> tuple[lgb.Booster, pd.DataFrame]:
    rng = np.random.default_rng(11)
    X = pd.DataFrame(rng.normal(size=(600, 4)), columns=NAMES)
    y = np.digitize(X["a"] - X["b"] + 0.3 * X["c"], [-0.5, 0.5])
    X = X.mask(rng.random(X.shape) < 0.1)  # missing values in training: splits send NaN by default_left
    booster = lgb.train({"objective": "multiclass", "num_class": 3, "verbose": -1, "num_leaves": 15},
                        lgb.Dataset(X, y), 30)
    rows = X.head(32).copy()
    rows.iloc[::5, 0] = np.nan
    return booster, rows


def _register(stores, booster: lgb.Booster, rows: pd.DataFrame) -> None:
    signature = {"inputs": infer_inputs(rows, None), "task": "classification", "classes": [0, 1, 2], "target": "y"}
    register_model(stores, booster, "tiers", signature=signature)


def _infer(url: str, rows: pd.DataFrame) -> np.ndarray:
    body = {"inputs": [{"name": n, "shape": [len(rows)], "datatype": "FP64",
                        "data": [None if np.isnan(v) else v for v in rows[n]]} for n in NAMES]}
    answer = httpx.post(f"{url}/v2/models/tiers/infer", content=orjson.dumps(body),
                        headers={"content-type": "application/json"})
    assert answer.status_code == 200, answer.text
    proba = next(o for o in answer.json()["outputs"] if o["name"] == "proba")
    return np.asarray(proba["data"], dtype=float).reshape(proba["shape"])


@pytest.mark.parametrize(("runtime", "expected_runtime"), [(None, "compiled-trees"), ("native", "lightgbm")])
def test_served_answers_equal_lightgbms_and_the_metadata_names_the_runtime(stores, three_classes, runtime,
                                                                           expected_runtime):
    booster, rows = three_classes
    _register(stores, booster, rows)
    options = {} if runtime is None else {"runtime": runtime}
    app = create_app(stores, "tiers", log_predictions=False, **options)
    with running_server(app) as url:
        metadata = httpx.get(f"{url}/v2/models/tiers").json()
        assert metadata["parameters"]["runtime"] == expected_runtime
        expected = booster.predict(rows.to_numpy(), num_threads=1)
        for batch in (rows, rows.head(1)):
            got = _infer(url, batch)
            assert np.max(np.abs(got - expected[:len(batch)])) <= TOLERANCE


def test_a_model_with_categorical_splits_is_served_by_lightgbm(stores):
    rng = np.random.default_rng(12)
    X = pd.DataFrame({"a": rng.integers(0, 6, 400).astype(float), "b": rng.normal(size=400),
                      "c": rng.normal(size=400), "d": rng.normal(size=400)})
    y = np.where(X["a"].isin([1, 4]), 2, np.where(X["b"] > 0, 1, 0))
    booster = lgb.train({"objective": "multiclass", "num_class": 3, "verbose": -1, "min_data_per_group": 5},
                        lgb.Dataset(X, y, categorical_feature=["a"]), 10)
    rows = X.head(8)
    _register(stores, booster, rows)
    app = create_app(stores, "tiers", log_predictions=False)
    with running_server(app) as url:
        assert httpx.get(f"{url}/v2/models/tiers").json()["parameters"]["runtime"] == "lightgbm"
        assert np.array_equal(_infer(url, rows), booster.predict(rows.to_numpy(), num_threads=1))
