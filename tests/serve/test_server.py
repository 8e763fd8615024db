"""The server over real HTTP (uvicorn on 127.0.0.1): every scoring format answers what the model itself says."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import numpy as np
import pandas as pd
import pytest

from conveyor.serve import create_app, running_server
from conveyor.store import Stores


@pytest.fixture(scope="module")
def server(tmp_path_factory, churn, regressor, booster) -> Iterator[httpx.Client]:
    root = tmp_path_factory.mktemp("server")
    stores = Stores.open(f"sqlite:///{root / 'meta.db'}", str(root / "artifacts"))
    churn.register(stores, "churn")
    churn.register(stores, "churn")  # version 2: the one a bare name serves
    with running_server(create_app(stores, "churn")) as url, httpx.Client(base_url=url, timeout=30) as client:
        yield client
    stores.close()


def _records(rows: pd.DataFrame) -> list[dict]:
    return rows.astype(object).where(rows.notna(), None).to_dict("records")


def bodies(rows: pd.DataFrame) -> dict[str, tuple[bytes | dict, str]]:
    """The same rows in every format the server takes: (body, content type)."""
    records = _records(rows)
    columns = list(rows.columns)
    lists = [[r[c] for c in columns] for r in records]
    return {
        "dataframe_split": ({"dataframe_split": {"columns": columns, "data": lists,
                                                 "index": list(range(len(lists)))}}, "application/json"),
        "dataframe_records": ({"dataframe_records": records}, "application/json"),
        "instances_objects": ({"instances": records}, "application/json"),
        "instances_lists": ({"instances": lists}, "application/json"),
        "inputs_columns": ({"inputs": {c: [r[c] for r in records] for c in columns}}, "application/json"),
        "inputs_lists": ({"inputs": lists}, "application/json"),
        "csv": (rows.to_csv(index=False).encode(), "text/csv"),
    }


def post(client: httpx.Client, path: str, body: bytes | dict, content_type: str = "application/json") -> httpx.Response:
    if isinstance(body, dict):
        return client.post(path, json=body)
    return client.post(path, content=body, headers={"Content-Type": content_type})


FORMATS = ["dataframe_split", "dataframe_records", "instances_objects", "instances_lists", "inputs_columns",
           "inputs_lists", "csv"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_each_format_answers_what_the_model_predicts(server, churn, fmt):
    body, content_type = bodies(churn.rows)[fmt]
    response = post(server, "/invocations", body, content_type)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["predictions"] == churn.model.predict(churn.rows).tolist()
    expected = churn.model.predict_proba(churn.rows)
    got = np.array([[p[str(c)] for c in churn.model.classes_] for p in answer["probabilities"]])
    np.testing.assert_allclose(got, expected, rtol=1e-9)
    assert answer["model_version"] == "churn:2" and response.headers["X-Model-Version"] == "churn:2"
    assert len(set(answer["ids"])) == len(churn.rows) and answer["ignored_columns"] == []
    assert response.headers["content-type"] == "application/json"


def test_both_classes_occur_and_extra_columns_are_ignored_but_reported(server, churn):
    rows = churn.rows.assign(customer_id=range(len(churn.rows)), churn="?")
    answer = server.post("/invocations", json={"dataframe_records": _records(rows)}).json()
    assert set(answer["predictions"]) == {"no", "yes"}
    assert answer["ignored_columns"] == ["customer_id", "churn"]


def test_health_and_v2_discovery(server):
    assert server.get("/health").json() == {"status": "ok", "model": "churn", "model_version": "churn:2"}
    assert server.get("/v2/health/live").json() == {"live": True}
    assert server.get("/v2/health/ready").json() == {"ready": True}
    assert server.get("/v2").json()["name"] == "conveyor"
    assert server.get("/v2/models/churn/ready").json() == {"name": "churn", "ready": True}
    meta = server.get("/v2/models/churn").json()
    assert meta["name"] == "churn" and meta["versions"] == ["2"]
    assert meta["inputs"] == [{"name": "age", "datatype": "FP64", "shape": [-1]},
                              {"name": "income", "datatype": "FP64", "shape": [-1]},
                              {"name": "plan", "datatype": "BYTES", "shape": [-1]},
                              {"name": "active", "datatype": "BOOL", "shape": [-1]}]
    assert meta["outputs"] == [{"name": "predict", "shape": [-1], "datatype": "BYTES"},
                               {"name": "proba", "datatype": "FP64", "shape": [-1, 2]}]
    assert server.get("/v2/models/churn/versions/2").json() == meta


def v2_request(rows: pd.DataFrame, inputs: list[dict]) -> dict:
    datatypes = {"numeric": "FP64", "categorical": "BYTES", "bool": "BOOL"}
    records = _records(rows)
    return {"id": "req-1", "inputs": [
        {"name": c["name"], "shape": [len(records)], "datatype": datatypes[c["kind"]],
         "data": [r[c["name"]] for r in records]} for c in inputs]}


def test_v2_infer_round_trip(server, churn):
    response = server.post("/v2/models/churn/infer", json=v2_request(churn.rows, churn.signature["inputs"]))
    assert response.status_code == 200, response.text
    answer = response.json()
    assert (answer["model_name"], answer["model_version"], answer["id"]) == ("churn", "2", "req-1")
    predict, proba = answer["outputs"]
    assert predict == {"name": "predict", "shape": [len(churn.rows)], "datatype": "BYTES",
                       "data": churn.model.predict(churn.rows).tolist()}
    assert proba["name"] == "proba" and proba["shape"] == [len(churn.rows), 2]
    assert proba["parameters"]["classes"] == ",".join(churn.model.classes_)
    np.testing.assert_allclose(np.reshape(proba["data"], proba["shape"]), churn.model.predict_proba(churn.rows))
    assert len(answer["parameters"]["prediction_ids"].split(",")) == len(churn.rows)
    only = server.post("/v2/models/churn/versions/2/infer",
                       json={**v2_request(churn.rows, churn.signature["inputs"]), "outputs": [{"name": "proba"}]})
    assert [o["name"] for o in only.json()["outputs"]] == ["proba"]


def test_a_regressor_over_v2_and_mlflow(stores, regressor):
    regressor.register(stores, "price")
    with running_server(create_app(stores, "price:1", log_predictions=False)) as url:
        rows = regressor.rows
        matrix = {"inputs": [{"name": "x", "shape": list(rows.shape), "datatype": "FP64",
                              "data": rows.to_numpy().tolist()}]}  # one [N, 4] tensor, as numpy clients send
        v2 = httpx.post(f"{url}/v2/models/price/infer", json=matrix).json()
        mlflow = httpx.post(f"{url}/invocations", json={"dataframe_split": rows.to_dict(orient="split")}).json()
        meta = httpx.get(f"{url}/v2/models/price").json()
    expected = regressor.model.predict(rows)
    assert v2["outputs"][0]["datatype"] == "FP64" and len(v2["outputs"]) == 1
    np.testing.assert_allclose(v2["outputs"][0]["data"], expected)
    np.testing.assert_allclose(mlflow["predictions"], expected)
    assert "probabilities" not in mlflow
    assert meta["outputs"] == [{"name": "predict", "shape": [-1], "datatype": "FP64"}]


def test_a_native_lightgbm_booster_with_integer_classes(stores, booster):
    booster.register(stores, "flip")
    app = create_app(stores, "flip", log_predictions=False)
    with running_server(app) as url, httpx.Client(base_url=url) as client:
        answer = client.post("/invocations", json={"instances": booster.rows.to_numpy().tolist()}).json()
        v2 = client.post("/v2/models/flip/infer", json={"inputs": [
            {"name": c, "shape": [len(booster.rows)], "datatype": "FP64", "data": booster.rows[c].tolist()}
            for c in booster.rows.columns]}).json()
    p1 = booster.model.predict(booster.rows)
    assert answer["predictions"] == (p1 > 0.5).astype(int).tolist()
    np.testing.assert_allclose([p["1"] for p in answer["probabilities"]], p1)
    assert v2["outputs"][0]["datatype"] == "INT64" and v2["outputs"][0]["data"] == answer["predictions"]


def test_a_large_request_within_the_limits(server, churn):
    rows = pd.concat([churn.rows] * 200, ignore_index=True)  # 5,000 rows
    answer = server.post("/invocations", json={"dataframe_split": {
        "columns": list(rows.columns), "data": _records_as_lists(rows)}})
    assert answer.status_code == 200 and len(answer.json()["predictions"]) == 5000


def _records_as_lists(rows: pd.DataFrame) -> list[list]:
    return [list(r.values()) for r in _records(rows)]


def test_a_model_without_a_signature_still_answers_bad_input_with_a_4xx(stores, booster):
    stores_version = booster.register(stores, "bare")
    stores_version.signature = {**stores_version.signature, "inputs": []}  # as if registered with no example and
    # no feature names (a copy: the signature dict is the session-wide fixture's own)
    stores.registry.create_version(stores_version)  # version 2, without inputs
    with running_server(create_app(stores, "bare:2", log_predictions=False)) as url:
        good = httpx.post(f"{url}/invocations", json={"dataframe_records": booster.rows.to_dict("records")})
        bad = httpx.post(f"{url}/invocations", json={"dataframe_records": [{"zzz": 1.0}]})
    assert good.status_code == 200 and len(good.json()["predictions"]) == len(booster.rows)
    assert bad.status_code == 422 and bad.json()["field"] == "inputs"
