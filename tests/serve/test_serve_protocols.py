"""Protocols and the fast path: Parquet bodies, a generic V2 client (tritonclient), and the native/matrix fast paths
answering exactly what the model's own slow path answers."""

from __future__ import annotations

import io

import httpx
import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
import tritonclient.http as triton

from conveyor.registry.models import load_model, register_model
from conveyor.registry.packaging import infer_inputs
from conveyor.serve import create_app, running_server, v2
from conveyor.serve.inputs import Inputs, fast_matrix, fast_v2_matrix
from conveyor.serve.predictor import Predictor, model_predict


def _parquet(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


def test_parquet_bodies_score_like_json(stores, churn):
    churn.register(stores, "churn")
    with running_server(create_app(stores, "churn", log_predictions=False)) as url:
        answer = httpx.post(f"{url}/invocations", content=_parquet(churn.rows),
                            headers={"Content-Type": "application/vnd.apache.parquet"})
        broken = httpx.post(f"{url}/invocations", content=b"PAR1 not really",
                            headers={"Content-Type": "application/x-parquet"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["predictions"] == churn.model.predict(churn.rows).tolist()
    assert broken.status_code == 422 and broken.json()["field"] == "body" and "Parquet" in broken.json()["message"]


def test_a_generic_v2_client_drives_the_server(stores, booster):
    booster.register(stores, "risk")
    rows = booster.rows
    with running_server(create_app(stores, "risk", log_predictions=False)) as url:
        client = triton.InferenceServerClient(url.removeprefix("http://"))
        assert client.is_server_live() and client.is_server_ready() and client.is_model_ready("risk")
        meta = client.get_model_metadata("risk")
        assert meta["name"] == "risk" and [i["name"] for i in meta["inputs"]] == ["a", "b", "c"]
        tensors = []
        for name in ["a", "b", "c"]:
            tensor = triton.InferInput(name, [len(rows)], "FP64")
            tensor.set_data_from_numpy(rows[name].to_numpy(dtype=np.float64), binary_data=False)
            tensors.append(tensor)
        result = client.infer("risk", tensors, outputs=[triton.InferRequestedOutput("proba", binary_data=False)])
        client.close()
    proba = result.as_numpy("proba")
    expected = booster.model.predict(rows.to_numpy())
    np.testing.assert_allclose(proba[:, 1], expected, rtol=1e-12)
    assert result.get_response()["parameters"]["model_ref"] == "risk:1"


def test_fast_decoders_build_the_same_matrix_as_the_general_path(regressor):
    names = regressor.features
    rows = regressor.rows
    lists = rows.to_numpy().tolist()
    expected = rows.to_numpy()
    for body in ({"dataframe_split": {"columns": names, "data": lists}},
                 {"dataframe_records": rows.to_dict("records")},
                 {"instances": lists}, {"instances": rows.to_dict("records")},
                 {"inputs": lists}, {"inputs": {n: rows[n].tolist() for n in names}}):
        np.testing.assert_array_equal(fast_matrix(body, names, 100), expected)
    v2 = {"inputs": [{"name": "x", "shape": list(rows.shape), "datatype": "FP64", "data": lists}]}
    np.testing.assert_array_equal(fast_v2_matrix(v2, names, 100), expected)
    # Anything unusual goes the general way, which names the problem.
    for body in ({"instances": [[1.0, 2.0, "x", 3.0]]}, {"instances": [[1.0, 2.0, 3.0]]},
                 {"instances": [[1.0, 2.0, float("inf"), 3.0]]}, {"instances": [[True, 2.0, 1.0, 3.0]]},
                 {"dataframe_records": [{"x0": 1, "x1": 2, "x2": 3}]}, {"instances": []},
                 {"dataframe_split": {"columns": names[::-1], "data": lists}}):
        assert fast_matrix(body, names, 100) is None
    np.testing.assert_array_equal(fast_matrix({"instances": [[None, 1, 2, 3]]}, names, 100)[0],
                                  [np.nan, 1.0, 2.0, 3.0])


def test_the_v2_fast_decoder_takes_flat_and_per_column_tensors_and_leaves_the_rest(regressor):
    names = regressor.features
    expected = regressor.rows.to_numpy()
    n, k = expected.shape
    flat = {"inputs": [{"name": "x", "shape": [n, k], "datatype": "FP64", "data": expected.ravel().tolist()}]}
    columns = {"inputs": [{"name": c, "shape": [n], "datatype": "FP64", "data": expected[:, i].tolist()}
                          for i, c in enumerate(names)]}
    for body in (flat, columns):
        matrix = fast_v2_matrix(body, names, 100)
        np.testing.assert_array_equal(matrix, expected)
        assert matrix.dtype == np.float64 and matrix.flags.c_contiguous
    ints = {"inputs": [{"name": "x", "shape": [1, k], "datatype": "INT64", "data": list(range(k))}]}
    np.testing.assert_array_equal(fast_v2_matrix(ints, names, 100), [list(range(k))])
    with_none = {"inputs": [{"name": "x", "shape": [1, k], "datatype": "FP64", "data": [None] + [1.0] * (k - 1)}]}
    assert np.isnan(fast_v2_matrix(with_none, names, 100)[0, 0])  # the careful decoder still takes None
    for bad in (True, "1.5", float("inf")):  # booleans, text, infinities: the general path names the problem
        data = [bad] + [1.0] * (k - 1)
        assert fast_v2_matrix({"inputs": [{"name": "x", "shape": [1, k], "datatype": "FP64", "data": data}]},
                              names, 100) is None
        cols = {"inputs": [{"name": c, "shape": [1], "datatype": "FP64", "data": [bad if i == 0 else 1.0]}
                           for i, c in enumerate(names)]}
        assert fast_v2_matrix(cols, names, 100) is None
    short = {"inputs": [{"name": "x", "shape": [2, k], "datatype": "FP64", "data": [1.0] * (2 * k - 1)}]}
    assert fast_v2_matrix(short, names, 100) is None
    assert fast_v2_matrix(flat, names, n - 1) is None  # over max_rows: the general path answers 413


def test_v2_output_datatypes():
    assert v2.output_datatype([0, 1, None]) == "INT64"
    assert v2.output_datatype([0.5, 1, None]) == "FP64"
    assert v2.output_datatype([True, False]) == "BOOL"
    assert v2.output_datatype([True, 1]) == "BYTES"
    assert v2.output_datatype(["a", "b"]) == "BYTES"
    assert v2.output_datatype([None]) == "FP64" and v2.output_datatype([]) == "FP64"


@pytest.mark.parametrize("fixture", ["churn", "regressor", "booster"])
def test_the_native_fast_path_answers_exactly_what_the_model_does(stores, fixture, request):
    trained = request.getfixturevalue(fixture)
    trained.register(stores, "m")
    model = load_model(stores, "m")
    predictor = Predictor(model)
    assert predictor.native  # LightGBM inside each: the booster is called directly
    frame = trained.rows
    slow_pred, slow_proba = model_predict(model, frame) if model.version.flavor == "sklearn" else (
        model.predict(frame), model.predict_proba(frame))
    fast_pred, fast_proba = predictor.predict_frame(frame)
    assert list(fast_pred) == list(slow_pred)
    if slow_proba is not None:
        np.testing.assert_allclose(fast_proba, slow_proba, rtol=1e-12, atol=1e-15)
    if predictor.takes_matrix:
        matrix_pred, _ = predictor.predict_matrix(frame.to_numpy(dtype=np.float64))
        assert list(matrix_pred) == list(slow_pred)


def test_xgboost_boosters_take_the_fast_path_too(stores):
    import xgboost as xgb
    rng = np.random.default_rng(1)
    X = pd.DataFrame(rng.normal(size=(200, 3)), columns=["a", "b", "c"])
    y = (X["a"] - X["c"] > 0).astype(int)
    booster = xgb.train({"objective": "binary:logistic", "max_depth": 3}, xgb.DMatrix(X, y), 20)
    register_model(stores, booster, "x", signature={"inputs": infer_inputs(X, None), "task": "classification",
                                                   "classes": [0, 1]})
    model = load_model(stores, "x")
    predictor = Predictor(model)
    assert predictor.native and predictor.takes_matrix
    pred, proba = predictor.predict_matrix(X.to_numpy())
    np.testing.assert_allclose(proba[:, 1], booster.predict(xgb.DMatrix(X)), rtol=1e-6)
    assert list(pred) == list(model.predict(X))


def test_micro_batches_answer_each_request_its_own_rows(stores, regressor):
    regressor.register(stores, "price")
    rows = regressor.rows
    with running_server(create_app(stores, "price", max_batch_size=64, max_wait_ms=5)) as url:
        import concurrent.futures as cf

        def one(i: int) -> tuple[int, list[float]]:
            row = rows.iloc[[i % len(rows)]]
            with httpx.Client(base_url=url) as client:
                got = client.post("/invocations", json={"instances": row.to_numpy().tolist()}).json()
            return i, got["predictions"]

        with cf.ThreadPoolExecutor(16) as pool:
            answers = list(pool.map(one, range(200)))
        metrics = httpx.get(f"{url}/metrics").text
    expected = regressor.model.predict(rows)
    for i, predicted in answers:
        assert predicted == pytest.approx([expected[i % len(rows)]], rel=1e-12)
    assert "conveyor_batch_requests_count" in metrics


def test_inputs_rebuild_a_frame_for_another_signature(regressor):
    inputs = Inputs(regressor.features, matrix=regressor.rows.to_numpy())
    shuffled = [{"name": n, "kind": "numeric"} for n in reversed(regressor.features)]
    other = inputs.for_signature(shuffled, 100)
    assert list(other.frame.columns) == list(reversed(regressor.features))
    assert inputs.input_rows()[0] == pytest.approx(regressor.rows.iloc[0].to_dict())


def test_a_plain_lightgbm_wrapper_on_a_pandas_categorical_is_left_to_the_model(stores):
    rng = np.random.default_rng(2)
    X = pd.DataFrame({"a": rng.normal(size=200), "b": rng.normal(size=200)})
    model = lgb.LGBMClassifier(n_estimators=10, verbose=-1).fit(X, (X["a"] > 0).astype(int))
    register_model(stores, model, "w", input_example=X.head())
    loaded = load_model(stores, "w")
    predictor = Predictor(loaded)
    pred, proba = predictor.predict_frame(X)
    assert list(pred) == model.predict(X).tolist()
    np.testing.assert_allclose(proba, model.predict_proba(X), rtol=1e-12)


def test_a_pipeline_with_sparse_preprocessing_still_answers_what_it_predicts(stores):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    rng = np.random.default_rng(6)
    X = pd.DataFrame({"colour": rng.choice(["red", "green", "blue"], 300)})
    y = (X["colour"] == "red").astype(int)
    model = make_pipeline(OneHotEncoder(), lgb.LGBMClassifier(n_estimators=10, verbose=-1)).fit(X, y)
    register_model(stores, model, "sparse", input_example=X.head())
    pred, proba = Predictor(load_model(stores, "sparse")).predict_frame(X)
    assert list(pred) == model.predict(X).tolist()
    np.testing.assert_allclose(proba, model.predict_proba(X), rtol=1e-12)
