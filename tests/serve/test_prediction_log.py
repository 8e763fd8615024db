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

    monkeypatch.setattr(stores.predictions, "log", broken)
    with running_server(app) as url:
        response = httpx.post(f"{url}/invocations", json={"instances": churn.rows.head(2).to_dict("records")})
    assert response.status_code == 200 and len(response.json()["predictions"]) == 2
    stats = app.state.prediction_logger.stats
    assert stats.failed_writes >= 2 and stats.dropped == 2 and stats.written == 0


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
