"""Every bad request is a 4xx with a JSON body naming the problem, over real HTTP, and the server keeps serving."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import orjson
import pytest

from conveyor.serve import create_app, running_server
from conveyor.store import Stores

MAX_BODY = 64 * 1024
MAX_ROWS = 100
GOOD = {"age": 40, "income": 52.5, "plan": "pro", "active": True}


@pytest.fixture(scope="module")
def client(tmp_path_factory, churn) -> Iterator[httpx.Client]:
    root = tmp_path_factory.mktemp("bad")
    stores = Stores.open(f"sqlite:///{root / 'meta.db'}", str(root / "artifacts"))
    churn.register(stores, "churn")
    app = create_app(stores, "churn", max_body_bytes=MAX_BODY, max_rows=MAX_ROWS)
    with running_server(app) as url, httpx.Client(base_url=url, timeout=30) as http:
        yield http
    stores.close()


def records(*changes: dict) -> bytes:
    return orjson.dumps({"dataframe_records": [{**GOOD, **change} for change in changes]})


JSON = "application/json"
CASES = {
    # name: (method, path, body, content type, status, error code, field, words in the message)
    "missing column": ("POST", "/invocations", orjson.dumps({"instances": [{"age": 1, "plan": "pro", "active": 1}]}),
                       JSON, 422, "bad_input", "income", ["'income'", "age, income, plan, active"]),
    "non-numeric": ("POST", "/invocations", records({}, {"income": "lots"}), JSON, 422, "bad_input", "income",
                    ["numeric", "row 1", "'lots'"]),
    "infinity literal": ("POST", "/invocations", b'{"instances": [{"age": 1, "income": Infinity, "plan": "a", '
                                                 b'"active": true}]}', JSON, 422, "bad_input", "income",
                         ["infinite", "row 0"]),
    "infinity text": ("POST", "/invocations", records({"age": "-inf"}), JSON, 422, "bad_input", "age", ["infinite"]),
    "huge number": ("POST", "/invocations", b'{"instances": [{"age": 1e999, "income": 1, "plan": "a", '
                                            b'"active": true}]}', JSON, 422, "bad_input", "age", ["infinite"]),
    "bad bool": ("POST", "/invocations", records({"active": "sometimes"}), JSON, 422, "bad_input", "active",
                 ["'sometimes'"]),
    "nested value": ("POST", "/invocations", records({"plan": {"tier": 1}}), JSON, 422, "bad_input", "plan",
                     ["single values"]),
    "empty list": ("POST", "/invocations", b'{"dataframe_records": []}', JSON, 422, "bad_input",
                   "dataframe_records", ["no rows"]),
    "empty split": ("POST", "/invocations", b'{"dataframe_split": {"columns": ["age"], "data": []}}', JSON, 422,
                    "bad_input", "dataframe_split", ["no rows"]),
    "ragged split": ("POST", "/invocations", b'{"dataframe_split": {"columns": ["age", "income"], '
                                             b'"data": [[1, 2], [3]]}}', JSON, 422, "bad_input",
                     "dataframe_split.data", ["row 1 has 1 values"]),
    "invalid json": ("POST", "/invocations", b'{"instances": [', JSON, 400, "invalid_json", "body",
                     ["not valid JSON"]),
    "empty body": ("POST", "/invocations", b"", JSON, 400, "invalid_json", "body", ["empty"]),
    "not utf-8": ("POST", "/invocations", b'{"instances": ["\xff"]}', JSON, 400, "invalid_json", "body", ["JSON"]),
    "unknown format key": ("POST", "/invocations", b'{"rows": [{"age": 1}]}', JSON, 422, "bad_input", "body",
                           ["dataframe_split", "dataframe_records", "instances", "inputs"]),
    "json array": ("POST", "/invocations", b"[1, 2]", JSON, 422, "bad_input", "body", ["exactly one of the keys"]),
    "json scalar": ("POST", "/invocations", b"42", JSON, 422, "bad_input", "body", ["exactly one of the keys"]),
    "wrong content type": ("POST", "/invocations", records({}), "text/plain", 415, "unsupported_media_type",
                           "Content-Type", ["text/plain", "application/json", "text/csv"]),
    "form post": ("POST", "/invocations", b"age=1", "application/x-www-form-urlencoded", 415,
                  "unsupported_media_type", "Content-Type", ["application/json"]),
    "bad csv": ("POST", "/invocations", b"age,income,plan,active\n1,x,a,true\n", "text/csv", 422, "bad_input",
                "income", ["'x'"]),
    "empty csv": ("POST", "/invocations", b"", "text/csv", 422, "bad_input", "body", ["CSV body is empty"]),
    "too many rows": ("POST", "/invocations", records(*[{}] * (MAX_ROWS + 1)), JSON, 413, "payload_too_large",
                      "dataframe_records", [str(MAX_ROWS)]),
    "too large body": ("POST", "/invocations", b'{"instances": [' + b"1," * MAX_BODY + b"1]}", JSON, 413,
                       "payload_too_large", "body", [str(MAX_BODY)]),
    "v2 unknown model": ("GET", "/v2/models/churm", None, None, 404, "not_found", "model",
                         ["'churm'", "serves 'churn'"]),
    "v2 unknown model infer": ("POST", "/v2/models/other/infer", b"{}", JSON, 404, "not_found", "model",
                               ["serves 'churn'"]),
    "v2 unknown version": ("GET", "/v2/models/churn/versions/9/ready", None, None, 404, "not_found", "version",
                           ["version 1"]),
    "v2 no inputs": ("POST", "/v2/models/churn/infer", b'{"inputs": []}', JSON, 422, "bad_input", "inputs",
                     ["non-empty 'inputs'"]),
    "v2 shape mismatch": ("POST", "/v2/models/churn/infer", orjson.dumps({"inputs": [
        {"name": "age", "shape": [2], "datatype": "FP64", "data": [1]}]}), JSON, 422, "bad_input", "age",
        ["shape [2] but 1 values"]),
    "v2 missing column": ("POST", "/v2/models/churn/infer", orjson.dumps({"inputs": [
        {"name": "age", "shape": [1], "datatype": "FP64", "data": [1]}]}), JSON, 422, "bad_input", "income",
        ["'income'"]),
    "v2 bad datatype": ("POST", "/v2/models/churn/infer", orjson.dumps({"inputs": [
        {"name": "age", "shape": [1], "datatype": "FLOAT", "data": [1]}]}), JSON, 422, "bad_input", "age",
        ["'FLOAT'", "FP64"]),
    "v2 unknown output": ("POST", "/v2/models/churn/infer", orjson.dumps({"outputs": [{"name": "logits"}], "inputs": [
        {"name": k, "shape": [1], "data": [v]} for k, v in GOOD.items()]}), JSON, 422, "bad_input", "outputs",
        ["'logits'", "predict, proba"]),
    "v2 wrong content type": ("POST", "/v2/models/churn/infer", b"x", "text/csv", 415, "unsupported_media_type",
                              "Content-Type", ["text/csv"]),
    "feedback bad shape": ("POST", "/feedback", b'{"prediction": "abc"}', JSON, 422, "bad_input", "body",
                           ['"labels"']),
    "feedback null label": ("POST", "/feedback", b'{"id": "abc", "label": null}', JSON, 422, "bad_input", "label",
                            ["'abc'"]),
    "feedback invalid json": ("POST", "/feedback", b"{", JSON, 400, "invalid_json", "body", ["JSON"]),
    "unknown route": ("GET", "/predict", None, None, 404, "not_found", "path", ["/predict"]),
    "wrong method": ("GET", "/invocations", None, None, 405, "method_not_allowed", "method", ["GET"]),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_requests_are_4xx_json_naming_the_field(client, case):
    method, path, body, content_type, status, code, field, words = CASES[case]
    headers = {"Content-Type": content_type} if content_type else {}
    response = client.request(method, path, content=body, headers=headers)
    assert response.status_code == status, response.text
    answer = response.json()
    assert answer["error"] == code
    assert answer.get("field") == field
    for word in words:
        assert word in answer["message"], answer["message"]
    assert client.get("/health").status_code == 200  # and the server is still fine


def test_a_streamed_body_over_the_limit_is_413_without_content_length(client):
    def chunks() -> Iterator[bytes]:
        yield b'{"instances": ['
        for _ in range(MAX_BODY // 1024 + 1):
            yield b"1," * 512
        yield b"1]}"

    response = client.post("/invocations", content=chunks(), headers={"Content-Type": JSON})
    assert response.status_code == 413 and response.json()["error"] == "payload_too_large"


def test_a_missing_content_type_is_read_as_json(client):
    response = client.post("/invocations", content=records({}))
    assert response.status_code == 200 and len(response.json()["predictions"]) == 1


def test_an_unexpected_error_on_a_scoring_route_is_a_json_500_counted_in_metrics(tmp_path, churn):
    stores = Stores.open(f"sqlite:///{tmp_path / 'meta.db'}", str(tmp_path / "artifacts"))
    churn.register(stores, "churn")
    app = create_app(stores, "churn", log_predictions=False)

    def broken(inputs):
        raise RuntimeError("boom")

    app.state.server.primary.current.predict = broken
    body = orjson.dumps({"inputs": [{"name": n, "shape": [1], "datatype": "BYTES" if n == "plan" else "FP64",
                                     "data": [v]} for n, v in GOOD.items()]})

    async def calls() -> str:  # in process: the app's own answer (uvicorn drops the connection after a re-raise)
        transport = httpx.ASGITransport(app, raise_app_exceptions=False)
        async with app.router.lifespan_context(app), httpx.AsyncClient(transport=transport,
                                                                         base_url="http://serve") as http:
            for path, payload in (("/invocations", records({})), ("/v2/models/churn/infer", body)):
                answer = await http.post(path, content=payload, headers={"content-type": JSON})
                assert answer.status_code == 500, answer.text
                assert answer.json()["error"] == "internal" and "RuntimeError" in answer.json()["message"]
            return (await http.get("/metrics")).text

    metrics = asyncio.run(calls())
    stores.close()
    assert 'conveyor_errors_total{kind="internal"} 2.0' in metrics
    assert any('status="500"' in line and "infer" in line and line.startswith("conveyor_requests_total")
               for line in metrics.splitlines())
