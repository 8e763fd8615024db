"""Property-based fuzzing of the running server: whatever the body, content type or path, never a 5xx."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conveyor.serve import create_app, running_server
from conveyor.store import Stores

scalars = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
                    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=8))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                       st.dictionaries(st.text(max_size=6), inner, max_size=4)),
                      max_leaves=20)
columns = st.sampled_from(["age", "income", "plan", "active", "a", "b", "c", "x", ""])
rows = st.lists(st.dictionaries(columns, scalars, max_size=5), max_size=4)
mlflow_bodies = st.one_of(
    values,
    st.builds(lambda r: {"dataframe_records": r}, rows),
    st.builds(lambda c, d: {"dataframe_split": {"columns": c, "data": d}}, st.lists(columns, max_size=5),
              st.lists(st.lists(scalars, max_size=5), max_size=4)),
    st.builds(lambda r: {"instances": r}, st.one_of(rows, st.lists(st.lists(scalars, max_size=5), max_size=4))),
    st.builds(lambda r: {"inputs": r}, st.dictionaries(columns, st.lists(scalars, max_size=3), max_size=5)),
)
v2_bodies = st.one_of(values, st.builds(
    lambda ts: {"inputs": ts},
    st.lists(st.fixed_dictionaries({"name": columns, "shape": st.lists(st.integers(-1, 4), max_size=3),
                                    "datatype": st.sampled_from(["FP64", "BYTES", "BOOL", "INT64", "NOPE"]),
                                    "data": st.lists(scalars, max_size=5)}), max_size=4)))


def _encode(body) -> bytes:
    try:
        return orjson.dumps(body)
    except (TypeError, orjson.JSONEncodeError):  # NaN/huge ints: the standard library writes them anyway
        import json

        return json.dumps(body).encode()


@pytest.fixture(scope="module")
def client(tmp_path_factory, churn) -> Iterator[httpx.Client]:
    root = tmp_path_factory.mktemp("fuzz")
    stores = Stores.open(f"sqlite:///{root / 'meta.db'}", str(root / "artifacts"))
    churn.register(stores, "churn")
    with running_server(create_app(stores, "churn", max_body_bytes=50_000)) as url, \
            httpx.Client(base_url=url, timeout=30) as http:
        yield http
    stores.close()


FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FUZZ
@given(body=mlflow_bodies, path=st.sampled_from(["/invocations", "/explain", "/feedback"]),
       content_type=st.sampled_from(["application/json", "text/csv", "application/x-parquet", "text/plain", ""]))
def test_mlflow_endpoints_never_answer_5xx(client, body, path, content_type):
    headers = {"Content-Type": content_type} if content_type else {}
    response = client.post(path, content=_encode(body), headers=headers)
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert response.json()["message"]


@FUZZ
@given(body=v2_bodies, name=st.sampled_from(["churn", "ghost", "churn/versions/1", "churn/versions/9"]))
def test_v2_infer_never_answers_5xx(client, body, name):
    response = client.post(f"/v2/models/{name}/infer", content=_encode(body),
                           headers={"Content-Type": "application/json"})
    assert response.status_code < 500, response.text


@FUZZ
@given(raw=st.binary(max_size=300))
def test_arbitrary_bytes_are_a_4xx(client, raw):
    for content_type in ("application/json", "text/csv", "application/vnd.apache.parquet"):
        response = client.post("/invocations", content=raw, headers={"Content-Type": content_type})
        assert 400 <= response.status_code < 500, response.text


def test_a_body_over_the_limit_is_a_413(client):
    response = client.post("/invocations", content=b"[" + b"1," * 40_000 + b"1]",
                           headers={"Content-Type": "application/json"})
    assert response.status_code == 413 and response.json()["field"] == "body"
