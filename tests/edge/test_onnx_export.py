"""ONNX export: converts conveyor's pipelines, checks agreement on rows, refuses what does not convert or agree."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.tree import DecisionTreeRegressor

from conveyor.core.errors import BadInputError
from conveyor.features.preprocess import build_preprocessor
from conveyor.registry.models import load_model, register_model
from conveyor.registry.onnx_export import export_onnx, original_output
from conveyor.registry.packaging import infer_inputs


@pytest.mark.parametrize("fixture", ["lgbm_churn", "xgb_churn", "linear_churn", "lgbm_regressor"])
def test_export_agrees_with_the_model(fixture, stores, request):
    trained = request.getfixturevalue(fixture)
    loaded = load_model(stores, trained.register(stores, fixture.replace("_", "-")))
    export = export_onnx(stores, loaded, trained.rows)
    assert export.max_abs_diff <= 1e-4
    assert export.check_rows == len(trained.rows)
    assert stores.artifacts.get_bytes(export.digest) == export.onnx  # kept in the artifact store
    labels, proba = export.runtime().predict(trained.rows.to_dict("records"))
    if loaded.task == "classification":
        assert labels == list(loaded.predict(trained.rows))
        assert np.abs(np.asarray(proba) - original_output(loaded, trained.rows)).max() <= 1e-4
    else:
        assert np.abs(np.asarray(labels) - loaded.predict(trained.rows)).max() <= 1e-4
    assert export_onnx(stores, loaded, trained.rows) is export  # exported once


def test_export_refuses_above_the_bound(lgbm_regressor, stores):
    loaded = load_model(stores, lgbm_regressor.register(stores, "tight"))
    with pytest.raises(BadInputError, match=r"differs from the model by up to .* \(bound 1e-12\)"):
        export_onnx(stores, loaded, lgbm_regressor.rows, tolerance=1e-12)


def test_export_names_the_step_that_does_not_convert(stores):
    frame = pd.DataFrame({"when": pd.date_range("2024-01-01", periods=60, freq="D"),
                          "x": np.arange(60, dtype=float)})
    y = frame["x"] * 2
    model = Pipeline([("prep", build_preprocessor(frame, scale=False, encoding="ordinal")),
                      ("model", DecisionTreeRegressor(max_depth=3))]).fit(frame, y)
    signature = {"inputs": infer_inputs(frame, None), "task": "regression", "classes": [], "target": "y"}
    loaded = load_model(stores, register_model(stores, model, "dates", signature=signature))
    with pytest.raises(BadInputError, match=r"dates:1 cannot be exported to ONNX: the step model\.prep\.datetime"
                                            r"\.parts \(FunctionTransformer _time_parts\)"):
        export_onnx(stores, loaded, frame)


def test_export_refuses_an_unknown_function(stores):
    frame = pd.DataFrame({"x": np.arange(50, dtype=float)})
    model = Pipeline([("log", FunctionTransformer(np.log1p)), ("model", DecisionTreeRegressor())]).fit(frame, frame.x)
    signature = {"inputs": infer_inputs(frame, None), "task": "regression", "classes": [], "target": "y"}
    loaded = load_model(stores, register_model(stores, model, "logs", signature=signature))
    with pytest.raises(BadInputError, match=r"the step model\.log \(FunctionTransformer log1p\)"):
        export_onnx(stores, loaded, frame)


@pytest.mark.parametrize("flavor", ["lightgbm", "xgboost"])
def test_native_boosters_export(flavor, native_boosters, stores):
    trained = native_boosters[flavor]
    version = trained.register(stores, f"native-{flavor}")
    assert version.flavor == flavor
    loaded = load_model(stores, version)
    export = export_onnx(stores, loaded, trained.rows)
    assert export.max_abs_diff <= 1e-4 and export.schema["layout"] == "matrix"
    predictions, _ = export.runtime().predict(trained.rows.to_dict("records"))
    if flavor == "lightgbm":
        assert predictions == list(loaded.predict(trained.rows))
    else:
        assert np.abs(np.asarray(predictions) - loaded.predict(trained.rows)).max() <= 1e-4


def test_a_weighted_ensemble_exports_as_one_graph(lgbm_churn, linear_churn, xgb_churn, stores):
    from conveyor.train.estimators import make_ensemble

    ensemble = make_ensemble([lgbm_churn.model, linear_churn.model, xgb_churn.model], [0.5, 0.3, 0.2],
                             "classification", ["no", "yes"])
    version = register_model(stores, ensemble, "blend", signature=lgbm_churn.signature)
    loaded = load_model(stores, version)
    export = export_onnx(stores, loaded, lgbm_churn.rows)
    assert export.max_abs_diff <= 1e-4
    labels, proba = export.runtime().predict(lgbm_churn.rows.to_dict("records"))
    assert labels == list(loaded.predict(lgbm_churn.rows))
    assert np.abs(np.asarray(proba) - loaded.predict_proba(lgbm_churn.rows)).max() <= 1e-4


def test_a_regression_ensemble_exports(lgbm_regressor, stores):
    from sklearn.linear_model import Ridge

    from conveyor.train.estimators import make_ensemble

    X = lgbm_regressor.rows
    ridge = Ridge().fit(X, 2 * X["x0"] - X["x1"])
    ensemble = make_ensemble([lgbm_regressor.model, ridge], [2.0, 1.0], "regression", [])  # as AutoML makes it
    loaded = load_model(stores, register_model(stores, ensemble, "avg", signature=lgbm_regressor.signature))
    export = export_onnx(stores, loaded, X)
    values, _ = export.runtime().predict(X.to_dict("records"))
    assert export.max_abs_diff <= 1e-4 and np.abs(np.asarray(values) - loaded.predict(X)).max() <= 1e-4
