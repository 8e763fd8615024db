"""Served predictions land in the metadata store's prediction log, and /feedback attaches ground truth to them."""

from __future__ import annotations

import httpx

from conveyor.serve import create_app, running_server


def test_predictions_are_logged_and_feedback_labels_them(stores, churn):
    churn.register(stores, "churn")
    app = create_app(stores, "churn")
    rows = churn.rows.head(3)
    with running_server(app) as url, httpx.Client(base_url=url) as client:
        first = client.post("/invocations", content=rows.to_csv(index=False), headers={"Content-Type": "text/csv"})
        first.raise_for_status()
        ids = first.json()["ids"]
        # Labels right after predicting: the server flushes its queue before looking the ids up.
        assert client.post("/feedback", json={"id": ids[0], "label": "yes"}).json() == {"updated": 1, "missing": []}
        both = client.post("/feedback", json={"labels": {ids[1]: "no", "0" * 32: "yes"}}).json()
        assert both == {"updated": 1, "missing": ["0" * 32]}
        first_row = rows.astype(object).iloc[0].to_dict() | {"income": None}
        v2 = client.post("/v2/models/churn/infer", json={"inputs": [
            {"name": c, "shape": [1], "data": [v]} for c, v in first_row.items()]}).json()
        v2_id = v2["parameters"]["prediction_ids"]
    logged = {p.id: p for p in stores.predictions.recent("churn")}  # written by shutdown at the latest
    assert set(logged) == {*ids, v2_id}
    record = logged[ids[2]]
    assert record.model == "churn:1" and record.latency_ms > 0
    assert record.inputs == {"age": float(rows["age"].iloc[2]), "income": float(rows["income"].iloc[2]),
                             "plan": rows["plan"].iloc[2], "active": bool(rows["active"].iloc[2])}
    assert record.outputs["prediction"] == first.json()["predictions"][2]
    assert record.outputs["proba"] == first.json()["probabilities"][2]
    assert logged[v2_id].inputs["income"] is None  # missing stays missing (JSON null), never NaN
    assert (logged[ids[0]].label, logged[ids[1]].label, record.label) == ("yes", "no", None)
    assert logged[ids[0]].labeled_at is not None


def test_a_store_that_fails_does_not_fail_predictions(stores, churn, monkeypatch):
    churn.register(stores, "churn")
    app = create_app(stores, "churn")

    def broken(records):
        raise OSError("disk full")

    monkeypatch.setattr(stores.predictions, "log_batches", broken)
    with running_server(app) as url:
        response = httpx.post(f"{url}/invocations", json={"instances": churn.rows.head(2).to_dict("records")})
    assert response.status_code == 200 and len(response.json()["predictions"]) == 2
    stats = app.state.prediction_logger.stats
    assert stats.failed_writes >= 2 and stats.dropped == 2 and stats.written == 0
    scraped = app.state.metrics.render().decode()  # what /metrics answers
    assert 'conveyor_prediction_log_rows_total{outcome="dropped"} 2.0' in scraped
    assert 'conveyor_prediction_log_rows_total{outcome="written"} 0.0' in scraped


def test_an_app_served_twice_keeps_logging(stores, churn):
    churn.register(stores, "churn")
    app = create_app(stores, "churn")
    for _ in range(2):
        with running_server(app) as url:
            httpx.post(f"{url}/invocations", json={"instances": churn.rows.head(1).to_dict("records")})
    assert len(stores.predictions.recent()) == 2


def test_logging_can_be_switched_off(stores, churn):
    churn.register(stores, "churn")
    with running_server(create_app(stores, "churn", log_predictions=False)) as url:
        ids = httpx.post(f"{url}/invocations", json={"instances": churn.rows.head(1).to_dict("records")}).json()["ids"]
        assert len(ids) == 1
        assert httpx.post(f"{url}/feedback", json={"id": ids[0], "label": "no"}).json()["missing"] == ids
    assert stores.predictions.recent() == []


def test_every_row_of_concurrent_requests_is_logged_once_and_shutdown_writes_them(stores, booster):
    """Over real HTTP: 24 concurrent requests (matrix fast path and V2, a missing value among them); none is written
    while the server runs (a long flush interval), and stopping the server writes every row, exactly once, with the
    inputs sent and the prediction answered."""
    from concurrent.futures import ThreadPoolExecutor

    import numpy as np

    booster.register(stores, "bin")
    app = create_app(stores, "bin")
    logger = app.state.prediction_logger
    logger.flush_interval = 3600.0  # nothing is written before shutdown
    assert logger.flush()  # the writer has left its first (default) wait and now sleeps for the hour
    rows = booster.rows.to_numpy().tolist()
    rows[4][1] = None

    def send(i: int) -> tuple[list[list[float | None]], list[str], list[float]]:
        chunk = [rows[(i + k) % len(rows)] for k in range(1 + i % 5)]
        with httpx.Client(base_url=url, timeout=30) as client:
            if i % 3:
                answer = client.post("/invocations", json={"dataframe_split": {"columns": booster.features,
                                                                               "data": chunk}}).json()
                return chunk, answer["ids"], answer["predictions"]
            answer = client.post("/v2/models/bin/infer", json={"inputs": [
                {"name": c, "shape": [len(chunk)], "datatype": "FP64", "data": [r[j] for r in chunk]}
                for j, c in enumerate(booster.features)]}).json()
            return chunk, answer["parameters"]["prediction_ids"].split(","), answer["outputs"][0]["data"]

    with running_server(app) as url:
        with ThreadPoolExecutor(8) as pool:
            sent = list(pool.map(send, range(24)))
        assert stores.predictions.recent("bin") == []  # still queued: the interval is an hour
        total = sum(len(ids) for _, ids, _ in sent)
        assert f"conveyor_prediction_log_backlog {total}.0" in httpx.get(f"{url}/metrics").text
    logged = {p.id: p for p in stores.predictions.recent("bin")}
    expected = {pid: (row, prediction) for chunk, ids, predictions in sent
                for pid, row, prediction in zip(ids, chunk, predictions, strict=True)}
    assert len(logged) == len(expected) == sum(1 + i % 5 for i in range(24))
    assert set(logged) == set(expected)
    for pid, (row, prediction) in expected.items():
        record = logged[pid]
        assert record.inputs == dict(zip(booster.features, row, strict=True))
        assert record.outputs["prediction"] == prediction
        assert record.model == "bin:1" and record.role == "primary"
    assert any(None in r.inputs.values() for r in logged.values())
    assert np.isfinite([v for r in logged.values() for v in r.inputs.values() if v is not None]).all()
    assert app.state.prediction_logger.stats.dropped == 0
    assert f'conveyor_prediction_log_rows_total{{outcome="written"}} {len(expected)}.0' in \
        app.state.metrics.render().decode()
