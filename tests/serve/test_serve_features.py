"""`conveyor serve` joins online features for a model whose lineage names feature views: the request carries
entity keys only, the server reads the online store (SQLite, a real Redis), and the model sees exactly the columns
and values the offline join gives at the same time, ``<view>__found`` included; unknown entities score with null
features as in training. Real HTTP servers on 127.0.0.1."""

from __future__ import annotations

import sys
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest

import conveyor as cv
from conveyor.serve.runner import running_server
from conveyor.testing.online_store_contract import redis_server

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "features"))
from test_feature_store import T0, VIEW_PY, VIEW_YAML, entity_rows, transactions

AT = T0 + pd.Timedelta("40D")
KEYS = [f"c{i}" for i in range(0, 34, 3)] + ["c99"]  # c30..c99: never seen


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("serve-features") / "p"
    with cv.Project.init(root, name="shop") as proj:
        (proj.root / "features").mkdir()
        (proj.root / "features" / "customer_stats.yaml").write_text(VIEW_YAML)
        (proj.root / "features" / "spending.py").write_text(VIEW_PY)
        proj.data.ingest(transactions(n=1500), "transactions")
        labels = entity_rows(300)
        joined = proj.features.join(labels, ["customer_stats", "spending:big"])
        signal = joined["amount_last"].fillna(0) + 40 * joined["big"].fillna(0)
        labels["label"] = (signal > signal.median()).astype(int)  # a label the features explain
        proj.data.ingest(labels, "labels")
        proj.features.join_to_dataset("labels", ["customer_stats", "spending:big"], "training")
        result = proj.training.train("training", "label", max_trials=1, budget=60)
    return root, result.model_version.ref


def offline_expected(proj, model_ref):
    rows = pd.DataFrame({"customer_id": KEYS, "ts": [AT] * len(KEYS)})
    offline = proj.features.join(rows, ["customer_stats", "spending:big"])
    loaded = proj.models.load(model_ref)
    return offline, loaded.predict_proba(offline[loaded.input_names])


def score(url, model_ref, records):
    return httpx.post(f"{url}/invocations", json={"dataframe_records": records}, timeout=30)


def check_served(proj, model_ref):
    proj.features.materialize("customer_stats", at=AT.isoformat())
    proj.features.materialize("spending", at=AT.isoformat())
    offline, expected = offline_expected(proj, model_ref)
    assert offline["customer_stats__found"].any() and not offline["customer_stats__found"].all()
    records = [{"customer_id": k, "ts": AT.isoformat()} for k in KEYS]
    with running_server(proj.serving_app(model_ref)) as url:
        answer = score(url, model_ref, records)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        got = np.array([[row[str(c)] for c in (0, 1)] for row in body["probabilities"]])
        assert np.allclose(got, expected, atol=1e-9)
        missing = score(url, model_ref, [{"ts": AT.isoformat()}])
        assert missing.status_code == 422 and "customer_id" in missing.json()["message"]
        v2 = httpx.post(f"{url}/v2/models/{model_ref.partition(':')[0]}/infer", timeout=30, json={"inputs": [
            {"name": "customer_id", "shape": [2], "datatype": "BYTES", "data": KEYS[:2]},
            {"name": "ts", "shape": [2], "datatype": "BYTES", "data": [AT.isoformat()] * 2}]})
        assert v2.status_code == 200, v2.text
    # the log holds what the model saw: the online values and the found flags
    logged = {r.id: r.inputs for r in proj.stores.predictions.recent(limit=100)}
    seen = [logged[i] for i in body["ids"]]
    for row, (_, want) in zip(seen, offline.iterrows(), strict=True):
        assert row["customer_id"] == want["customer_id"]
        for name in ("customer_stats__found", "spending__found"):
            assert bool(row[name]) == bool(want[name])
        for name in ("amount_last", "amount_sum_7d", "big"):
            if pd.isna(want[name]):
                assert row[name] is None
            else:
                assert row[name] == pytest.approx(float(want[name]))
    assert seen[-1]["customer_stats__found"] is False and seen[-1]["amount_last"] is None  # c99, kept


@pytest.mark.slow  # trains a model, starts a server
def test_serve_joins_online_features_from_sqlite(trained):
    root, model_ref = trained
    with cv.Project.open(root) as proj:
        version = proj.models.get(model_ref)
        assert {"amount_last", "customer_stats__found", "big", "spending__found"} <= {
            c["name"] for c in version.signature["inputs"]}
        check_served(proj, model_ref)
        assert (root / ".conveyor" / "online.db").is_file()


@pytest.mark.slow
def test_serve_joins_online_features_from_a_real_redis(trained, tmp_path):
    root, model_ref = trained
    with redis_server(tmp_path) as redis_url, cv.Project.open(root) as proj:
        proj.configure("features", online_store="redis", online_url=redis_url)
        try:
            check_served(proj, model_ref)
            assert proj.features.get("customer_stats", [(KEYS[0],)])[0] is not None  # it was Redis that answered
        finally:
            proj.configure("features", online_store="sqlite", online_url=None)


@pytest.mark.slow
def test_serving_warns_when_the_online_values_come_from_another_definition(trained, caplog):
    root, model_ref = trained
    with cv.Project.open(root) as proj:
        proj.features.materialize("customer_stats", at=AT.isoformat())
        with caplog.at_level("WARNING", logger="conveyor.serve.features"):
            proj.serving_app(model_ref)
        assert not [r for r in caplog.records if "materialised from version" in r.getMessage()]
        view_file = root / "features" / "customer_stats.yaml"
        view_file.write_text(VIEW_YAML.replace("ttl: 30d", "ttl: 20d"))  # the view changes after training
        proj.features.materialize("customer_stats", at=AT.isoformat())
        with caplog.at_level("WARNING", logger="conveyor.serve.features"):
            proj.serving_app(model_ref)
        warned = [r.getMessage() for r in caplog.records if "materialised from version" in r.getMessage()]
        assert len(warned) == 1 and "customer_stats" in warned[0] and model_ref in warned[0]
        view_file.write_text(VIEW_YAML)
