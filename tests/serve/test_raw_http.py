"""The scoring routes answered from uvicorn's parser callbacks (conveyor.serve.raw_http): the path is really taken,
answers match the ASGI route's, and keep-alive, pipelining, auth, limits, errors and metrics behave as before."""

from __future__ import annotations

import asyncio
import socket
from urllib.parse import urlsplit

import httpx
import orjson
import pytest

from conveyor.serve import create_app, running_server

JSON = "application/json"


def _v2(rows, rid: str | None = None, names=("a", "b", "c")) -> bytes:
    body = {"inputs": [{"name": n, "shape": [len(rows)], "datatype": "FP64", "data": rows[n].tolist()}
                       for n in names]}
    if rid is not None:
        body["id"] = rid
    return orjson.dumps(body)


def _split(rows) -> bytes:
    return orjson.dumps({"dataframe_split": {"columns": list(rows.columns), "data": rows.to_numpy().tolist()}})


def _request(method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: test"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    if method == "POST":
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def _responses(sock: socket.socket, count: int) -> list[tuple[int, dict[str, str], bytes]]:
    """``count`` HTTP/1.1 responses read off one socket, in the order they came."""
    buffer = b""
    out = []
    while len(out) < count:
        while b"\r\n\r\n" not in buffer:
            chunk = sock.recv(65536)
            assert chunk, f"the server closed the connection after {len(out)} responses"
            buffer += chunk
        head, _, buffer = buffer.partition(b"\r\n\r\n")
        status_line, *lines = head.decode("latin-1").split("\r\n")
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
        length = int(headers["content-length"])
        while len(buffer) < length:
            chunk = sock.recv(65536)
            assert chunk
            buffer += chunk
        out.append((int(status_line.split()[1]), headers, buffer[:length]))
        buffer = buffer[length:]
    return out


def _connect(url: str) -> socket.socket:
    parts = urlsplit(url)
    return socket.create_connection((parts.hostname, parts.port), timeout=10)


def test_the_scoring_routes_take_the_raw_path_and_answer_as_the_asgi_routes_do(stores, booster):
    booster.register(stores, "risk")
    rows = booster.rows.head(5)
    app = create_app(stores, "risk", log_predictions=False)
    with running_server(app) as url:
        raw = app.raw_scoring
        assert raw is not None and raw.handled == 0
        health = httpx.get(f"{url}/health")
        assert health.status_code == 200 and raw.handled == 0  # other routes: ASGI
        v2_answer = httpx.post(f"{url}/v2/models/risk/infer", content=_v2(rows, "req-1"),
                               headers={"content-type": JSON})
        mlflow_answer = httpx.post(f"{url}/invocations", content=_split(rows),
                                   headers={"content-type": JSON, "x-request-id": "req-2"})
        assert raw.handled == 2
    async def in_process() -> tuple[httpx.Response, httpx.Response]:
        transport = httpx.ASGITransport(app)  # type: ignore[arg-type]
        async with app.router.lifespan_context(app), httpx.AsyncClient(transport=transport,
                                                                         base_url="http://asgi") as http:
            return (await http.post("/v2/models/risk/infer", content=_v2(rows, "req-1"),
                                    headers={"content-type": JSON}),
                    await http.post("/invocations", content=_split(rows),
                                    headers={"content-type": JSON, "x-request-id": "req-2"}))

    v2_asgi, mlflow_asgi = asyncio.run(in_process())
    for fast, slow in ((v2_answer, v2_asgi), (mlflow_answer, mlflow_asgi)):
        assert fast.status_code == slow.status_code == 200, fast.text
        for header in ("x-model-version", "x-model-role", "x-request-id", "content-type"):
            assert fast.headers[header] == slow.headers[header], header
        fast_body, slow_body = fast.json(), slow.json()
        if "outputs" in fast_body:
            fast_body["parameters"].pop("prediction_ids"), slow_body["parameters"].pop("prediction_ids")
        else:
            fast_body.pop("ids"), slow_body.pop("ids")
        assert fast_body == slow_body
    assert v2_answer.headers["x-request-id"] == "req-1" and mlflow_answer.json()["request_id"] == "req-2"
    assert v2_answer.headers["x-model-version"] == "risk:1"


def test_keep_alive_and_pipelined_requests_over_one_socket_answer_in_order(stores, booster):
    booster.register(stores, "risk")
    rows = booster.rows.head(3)
    app = create_app(stores, "risk", log_predictions=False)
    expected = booster.model.predict(rows.to_numpy()).tolist()
    requests = [
        _request("POST", "/v2/models/risk/infer", _v2(rows, "p0"), {"Content-Type": JSON}),
        _request("GET", "/health"),  # an ASGI request between raw ones
        _request("POST", "/invocations", _split(rows), {"Content-Type": JSON, "X-Request-Id": "p2"}),
        _request("POST", "/v2/models/risk/infer", b'{"inputs": 5}', {"Content-Type": JSON}),  # a 422
        _request("POST", "/v2/models/nope/infer", _v2(rows, "p4"), {"Content-Type": JSON}),  # a 404
        _request("POST", "/v2/models/risk/infer", _v2(rows.head(1), "p5"), {"Content-Type": JSON}),
    ]
    with running_server(app) as url, _connect(url) as sock:
        sock.sendall(b"".join(requests))  # all at once: pipelined
        answers = _responses(sock, len(requests))
        for i in range(3):  # then one at a time on the same connection: keep-alive
            sock.sendall(_request("POST", "/v2/models/risk/infer", _v2(rows, f"k{i}"), {"Content-Type": JSON}))
            answers += _responses(sock, 1)
        handled = app.raw_scoring.handled
    statuses = [status for status, _, _ in answers]
    assert statuses == [200, 200, 200, 422, 404, 200, 200, 200, 200]
    bodies = [orjson.loads(body) for _, _, body in answers]
    assert bodies[0]["id"] == "p0" and answers[0][1]["x-request-id"] == "p0"
    assert bodies[0]["outputs"][1]["data"][1::2] == pytest.approx(expected, rel=1e-12)
    assert bodies[1]["status"] == "ok"
    assert bodies[2]["request_id"] == "p2" and len(bodies[2]["predictions"]) == 3
    assert bodies[3]["error"] == "bad_input" and bodies[3]["field"] == "inputs"
    assert bodies[4]["error"] == "not_found" and bodies[4]["field"] == "model"
    assert bodies[5]["id"] == "p5" and bodies[5]["outputs"][0]["shape"] == [1]
    assert [b["id"] for b in bodies[6:]] == ["k0", "k1", "k2"]
    assert handled == 8  # every POST above but none of the GETs


def test_a_long_pipelined_run_of_requests_answered_at_once_is_answered_in_full(stores, booster):
    booster.register(stores, "risk")
    app = create_app(stores, "risk", log_predictions=False)
    first = _request("POST", "/v2/models/risk/infer", _v2(booster.rows.head(2), "first"), {"Content-Type": JSON})
    refused = _request("POST", "/v2/models/nope/infer", b"{}", {"Content-Type": JSON})  # a 404 before decoding
    with running_server(app) as url, _connect(url) as sock:
        sock.sendall(first + refused * 1500)  # all queued behind the first, then answered one after another
        answers = _responses(sock, 1501)
    assert answers[0][0] == 200 and answers[0][1]["x-request-id"] == "first"
    assert {status for status, _, _ in answers[1:]} == {404}


def test_auth_limits_errors_and_metrics_on_the_raw_path(stores, booster):
    booster.register(stores, "risk")
    rows = booster.rows.head(2)
    app = create_app(stores, "risk", log_predictions=False, token="s3cret", max_body_bytes=4096)
    good = {"content-type": JSON, "authorization": "Bearer s3cret"}
    with running_server(app) as url:
        raw = app.raw_scoring
        refused = httpx.post(f"{url}/v2/models/risk/infer", content=_v2(rows), headers={"content-type": JSON})
        wrong = httpx.post(f"{url}/v2/models/risk/infer", content=_v2(rows),
                           headers={"content-type": JSON, "authorization": "Bearer nope"})
        assert raw.handled == 0  # refused before the body is read, by the ASGI route (which counts the 401)
        answered = httpx.post(f"{url}/v2/models/risk/infer", content=_v2(rows), headers=good)
        assert raw.handled == 1
        too_big = httpx.post(f"{url}/invocations", content=b"[" + b"1," * 4096 + b"1]", headers=good)
        assert raw.handled == 1  # a declared length over the limit: the ASGI route answers the 413
        unknown = httpx.post(f"{url}/v2/models/risk/versions/9/infer", content=_v2(rows), headers=good)
        bad_type = httpx.post(f"{url}/v2/models/risk/infer", content=_v2(rows),
                              headers={**good, "content-type": "text/csv"})
        assert raw.handled == 3
        metrics = httpx.get(f"{url}/metrics").text
    assert refused.status_code == wrong.status_code == 401 and refused.json()["field"] == "Authorization"
    assert answered.status_code == 200, answered.text
    assert too_big.status_code == 413 and too_big.json()["error"] == "payload_too_large"
    assert unknown.status_code == 404 and unknown.json()["field"] == "version"
    assert bad_type.status_code == 415 and bad_type.json()["error"] == "unsupported_media_type"
    assert 'conveyor_requests_total{endpoint="v2/infer",status="200"} 1.0' in metrics
    assert 'conveyor_requests_total{endpoint="v2/infer",status="404"} 1.0' in metrics
    assert 'conveyor_requests_total{endpoint="v2/infer",status="401"} 2.0' in metrics
    assert 'conveyor_errors_total{kind="not_found"} 1.0' in metrics
    assert 'conveyor_errors_total{kind="unauthorized"} 2.0' in metrics
    assert 'conveyor_predictions_total{role="primary"} 2.0' in metrics


def test_an_unexpected_error_on_the_raw_path_is_a_json_500_and_the_connection_lives_on(stores, booster):
    booster.register(stores, "risk")
    rows = booster.rows.head(2)
    app = create_app(stores, "risk", log_predictions=False)
    served = app.state.server.primary.current
    healthy = served.predict

    def broken(inputs):
        raise RuntimeError("boom")

    with running_server(app) as url, _connect(url) as sock:
        served.predict = broken
        sock.sendall(_request("POST", "/v2/models/risk/infer", _v2(rows), {"Content-Type": JSON}))
        [(status, _, body)] = _responses(sock, 1)
        served.predict = healthy
        sock.sendall(_request("POST", "/v2/models/risk/infer", _v2(rows), {"Content-Type": JSON}))
        [(after, _, _)] = _responses(sock, 1)
        metrics = httpx.get(f"{url}/metrics").text
    assert status == 500 and orjson.loads(body)["error"] == "internal" and "RuntimeError" in orjson.loads(body)[
        "message"]
    assert after == 200
    assert 'conveyor_errors_total{kind="internal"} 1.0' in metrics
    assert 'conveyor_requests_total{endpoint="v2/infer",status="500"} 1.0' in metrics


def test_without_the_raw_path_an_app_is_served_by_uvicorn_as_before(stores, booster):
    booster.register(stores, "risk")
    app = create_app(stores, "risk", log_predictions=False)
    raw, app.raw_scoring = app.raw_scoring, None
    with running_server(app) as url:
        answer = httpx.post(f"{url}/v2/models/risk/infer", content=_v2(booster.rows.head(2)),
                            headers={"content-type": JSON})
    assert answer.status_code == 200 and raw.handled == 0


def test_a_uvicorn_without_the_hooks_the_raw_path_needs_gets_its_own_protocol(monkeypatch):
    # the raw path overrides private parts of uvicorn's protocol: the installed uvicorn has them (else every test
    # above would be testing uvicorn's own path), and one that lacks them is served as before the raw path
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    from conveyor.serve import raw_http, runner

    assert raw_http.uvicorn_fits() and runner._http() == {"http": raw_http.ScoringHttpProtocol}
    monkeypatch.delattr(HttpToolsProtocol, "_start_asgi_task")
    assert not raw_http.uvicorn_fits() and runner._http() == {}
