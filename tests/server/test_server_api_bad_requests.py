"""Every way a request can be wrong, one row each: the status, the error tree's code, and the one body shape
``{"error", "message", "field", "hint"}`` with no traceback. New endpoints join this table."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

API = "/api/v1"
DEEP = "[" * 100 + "]" * 100
RUN = "run0000" + "0" * 24  # a run of the served project

# (name, method, path, request options, status, error code, text the message or hint must contain)
ROWS: list[tuple[str, str, str, dict[str, Any], int, str, str]] = [
    ("unknown run", "GET", "/runs/zzzzzzzz", {}, 404, "not_found", "Unknown run"),
    ("unknown dataset names a close one", "GET", "/datasets/churnn", {}, 404, "not_found", "Did you mean 'churn'"),
    ("unknown model names a close one", "GET", "/models/resolve", {"params": {"ref": "chrn@champion"}}, 404,
     "not_found", "Did you mean 'churn'"),
    ("unknown alias", "GET", "/models/resolve", {"params": {"ref": "churn@nope"}}, 404, "not_found", "nope"),
    ("unknown endpoint", "GET", "/nothing", {}, 404, "not_found", "openapi.json"),
    ("wrong method", "DELETE", "/runs", {}, 405, "method_not_allowed", "DELETE"),
    ("wrong content type", "POST", "/models/churn/aliases/challenger",
     {"content": b'{"version": 1}', "headers": {"content-type": "text/plain"}}, 415, "unsupported_media_type",
     "application/json"),
    ("deeply nested JSON", "POST", "/models/churn/aliases/challenger",
     {"content": DEEP, "headers": {"content-type": "application/json"}}, 400, "invalid_json", "deeper"),
    ("broken JSON", "POST", "/models/churn/aliases/challenger",
     {"content": b'{"version": ', "headers": {"content-type": "application/json"}}, 400, "invalid_json", "JSON"),
    ("JSON that is not an object", "POST", "/models/churn/aliases/challenger", {"json": [1]}, 422, "bad_input",
     "object"),
    ("version not an integer", "POST", "/models/churn/aliases/challenger", {"json": {"version": "2"}}, 422,
     "bad_input", "integer"),
    ("unknown model version", "POST", "/models/churn/aliases/challenger", {"json": {"version": 99}}, 404,
     "not_found", "99"),
    ("page too small", "GET", "/runs", {"params": {"limit": 0}}, 422, "bad_input", "limit"),
    ("page too large", "GET", "/runs", {"params": {"limit": 501}}, 422, "bad_input", "limit"),
    ("cursor not ours", "GET", "/runs", {"params": {"cursor": "nonsense!"}}, 422, "bad_input", "Cursor"),
    ("unknown alert", "POST", "/alerts/ffffffffffff/ack", {}, 404, "not_found", "ffffffffffff"),
    ("unknown upload", "GET", "/uploads/" + "0" * 24, {}, 404, "not_found", "upload"),
    ("upload chunk as JSON", "PATCH", "/uploads/" + "0" * 24, {"params": {"offset": 0}, "json": {}}, 415,
     "unsupported_media_type", "application/octet-stream"),
    ("upload without a size", "POST", "/uploads", {"json": {}}, 422, "bad_input", "size"),
    ("unknown job kind", "POST", "/jobs", {"json": {"kind": "trian"}}, 404, "not_found", "Did you mean 'train'"),
    ("unknown job", "GET", "/jobs/abc123", {}, 404, "not_found", "Unknown job"),
    ("filter without a name", "POST", "/datasets/churn@latest/filter", {"json": {"query": "age > 1"}}, 422,
     "bad_input", "name"),
    ("bad filter query", "POST", "/datasets/churn@latest/filter", {"json": {"query": "age >>> 1", "name": "x"}},
     422, "bad_input", ""),
    ("diff without b", "GET", "/datasets/diff", {"params": {"a": "churn"}}, 422, "bad_input", "b"),
    ("run on an unknown dataset", "POST", "/runs", {"json": {"dataset": "chrn"}}, 404, "not_found",
     "Did you mean 'churn'"),
    ("log to an unknown run", "POST", "/runs/zzzzzzzz/metrics", {"json": {"metrics": []}}, 404, "not_found",
     "Unknown run"),
    ("metric that is not a number", "POST", f"/runs/{RUN}/metrics",
     {"json": {"metrics": [{"key": "a", "value": "x"}]}}, 422, "bad_input", "value: number"),
    ("NaN metric", "POST", f"/runs/{RUN}/metrics", {"content": b'{"metrics": [{"key": "auc", "value": NaN}]}',
                                                    "headers": {"content-type": "application/json"}}, 422,
     "bad_input", "auc"),
    ("too many metrics in a batch", "POST", f"/runs/{RUN}/metrics",
     {"json": {"metrics": [{"key": "a", "value": 1}] * 1001}}, 422, "bad_input", "1000"),
    ("params not an object", "POST", f"/runs/{RUN}/params", {"json": {"params": [1]}}, 422, "bad_input", "params"),
    ("unknown end status", "POST", f"/runs/{RUN}/end", {"json": {"status": "done"}}, 422, "bad_input", "finished"),
    ("artifact sent as JSON", "PUT", f"/runs/{RUN}/artifacts/x.txt", {"json": {}}, 415, "unsupported_media_type",
     "application/octet-stream"),
    ("artifact from an unknown upload", "POST", f"/runs/{RUN}/artifacts/x.txt", {"json": {"upload": "0" * 24}},
     404, "not_found", "upload"),
    ("register without a package", "POST", "/models/churn/versions", {"json": {"flavor": "sklearn"}}, 422,
     "bad_input", "upload"),
    ("register an unknown flavor", "POST", "/models/churn/versions",
     {"json": {"upload": "0" * 24, "flavor": "sklaern", "signature": {}}}, 422, "bad_input", "sklearn"),
]


@pytest.fixture(scope="module")
def http(server: str):
    with httpx.Client(base_url=server + API, timeout=30) as client:
        yield client


@pytest.mark.parametrize(("method", "path", "options", "status", "code", "says"),
                         [row[1:] for row in ROWS], ids=[row[0] for row in ROWS])
def test_bad_request(http: httpx.Client, method: str, path: str, options: dict[str, Any], status: int, code: str,
                     says: str) -> None:
    answer = http.request(method, path, **options)
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert set(body) == {"error", "message", "field", "hint"}
    assert body["error"] == code
    assert says in f"{body['message']} {body['hint']}"
    assert "Traceback" not in answer.text and "File \"" not in answer.text
