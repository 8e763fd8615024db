"""An environment's gates beyond recorded metrics: beat the holder on the newest labelled data, a latency budget, and
a shadow period judged on the traffic a real serving process logged (requests, errors, prediction drift). A refusal
names the gate, the measured value and the limit."""

from __future__ import annotations

import httpx
import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.linear_model import LogisticRegression

import conveyor as cv
from conveyor.core.entities import AliasChange
from conveyor.core.errors import BadInputError, CheckFailedError
from conveyor.project._options import serving_target
from conveyor.registry.environment_gates import SHADOW_ERRORS
from conveyor.registry.models import build_signature, register_model
from conveyor.serve import running_server


def _project(root, environments):
    root.mkdir(parents=True, exist_ok=True)
    (root / "conveyor.yaml").write_text(yaml.safe_dump({"name": "p", "environments": environments},
                                                       sort_keys=False))
    return cv.Project.open(root)


def _frame(seed: int, label: str, columns=("a", "b")) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({c: rng.normal(size=200) for c in columns})
    frame["y"] = (frame[label] > 0).astype(int)
    return frame


def _register(project, frame: pd.DataFrame, label: str, recorded: float, dataset: str = "churn@1",
              flip: bool = False) -> str:
    """A logistic regression that learned ``y = label > 0`` (``flip``: the opposite) on ``frame``'s inputs."""
    X = frame.drop(columns=["y"])
    y = (X[label] > 0).astype(int)
    model = LogisticRegression().fit(X, 1 - y if flip else y)
    signature = build_signature(model, "sklearn", X.head(), task="classification", target="y")
    return register_model(project.stores, model, "churn", signature=signature, dataset=dataset,
                          metrics={"roc_auc": recorded}, meta={"metric": "roc_auc"}).ref


def test_beat_on_the_newest_data_scores_both_versions_again(tmp_path):
    envs = {"prod": {"requires_previous": False, "gates": {"beat": {"alias": "prod", "on": "newest",
                                                                    "margin": 0.05}}}}
    with _project(tmp_path / "p", envs) as project:
        first = project.data.ingest(_frame(0, "a"), "churn")[0].ref
        old = _register(project, _frame(0, "a"), "a", recorded=0.99, dataset=first)
        newest = project.data.ingest(_frame(1, "b"), "churn")[0].ref  # the concept moved: the label follows b
        new = _register(project, _frame(1, "b"), "b", recorded=0.90, dataset=newest)
        project.models.promote_to(old, "prod")  # nothing to beat yet
        # recorded metrics say the old one is better; on the newest labelled rows the new one wins
        change = project.models.promote_to(new, "prod")
        assert isinstance(change, AliasChange) and project.models.aliases("churn")["prod"] == 2
        again = _register(project, _frame(0, "a"), "a", recorded=0.99, dataset=first)
        with pytest.raises(CheckFailedError) as refused:
            project.models.promote_to(again, "prod")
        message = refused.value.message
        assert "prod.beat.prod" in message and "vs @prod (churn:2)" in message
        assert f"must be > 0.05 (on the same 40 held-out rows of {newest})" in message
        gain = float(message.split("gain ")[1].split(" ")[0])
        assert gain < -0.3  # the old concept's model is far worse on the new data
        assert project.models.aliases("churn")["prod"] == 2


def test_a_latency_budget_is_measured_on_single_row_predictions(tmp_path):
    envs = {"staging": {"gates": {"max_latency_ms": 1e-6}}, "prod": {"gates": {"max_latency_ms": 10_000}}}
    with _project(tmp_path / "p", envs) as project:
        data = project.data.ingest(_frame(0, "a"), "churn")[0].ref
        v1 = _register(project, _frame(0, "a"), "a", recorded=0.9, dataset=data)
        with pytest.raises(CheckFailedError, match=rf"staging.max_latency_ms \(p95 latency [0-9.]+ ms of 40 "
                                                   rf"single-row predictions on {data} must be <= 1e-06 ms\)"):
            project.models.promote_to(v1, "staging")
        project.models.promote_to(v1, "staging", override_gates=True, reason="test the next environment")
        project.models.promote_to(v1, "prod")
        detail = project.models.audit()[-1].details
        assert detail["environment_gates"] == [{"rule": "prod.max_latency_ms", "passed": True}]


def test_gates_on_data_need_a_training_dataset(tmp_path):
    envs = {"prod": {"gates": {"max_latency_ms": 100}}}
    with _project(tmp_path / "p", envs) as project:
        frame = _frame(0, "a")
        X = frame.drop(columns=["y"])
        model = LogisticRegression().fit(X, frame["y"])
        ref = register_model(project.stores, model, "churn", input_example=X.head()).ref
        with pytest.raises(BadInputError, match="churn:1 records no training dataset to measure it on"):
            project.models.promote_to(ref, "prod")


SHADOW = {"staging": {}, "prod": {"shadow": "staging",
                                   "gates": {"shadow": {"requests": 3, "max_errors": 0, "max_prediction_drift": 0.2}}}}


def _serve_prod_with_staging_shadow(project, bodies: list[list[dict]]) -> None:
    """`conveyor serve churn --env prod` (prod's `shadow: staging` scores churn@staging beside it) under real HTTP:
    one request per body."""
    model, options = serving_target(project, "churn", "prod")
    assert (model, options) == ("churn@prod", {"shadow": "churn@staging"})
    app = project.serving_app(model, **options)
    with running_server(app) as url, httpx.Client(base_url=url) as http:
        for rows in bodies:
            response = http.post("/invocations", json={"dataframe_records": rows})
            assert response.status_code == 200, response.text
            assert response.headers["X-Model-Version"] == project.models.get("churn@prod").ref
    # leaving the context stopped the server: the shadow finished and every log record is written


def _requests(n: int, seed: int = 5, columns=("a", "b")) -> list[list[dict]]:
    rows = _frame(seed, "a", columns).drop(columns=["y"])
    return [rows.iloc[4 * i:4 * i + 4].to_dict("records") for i in range(n)]


def _to_staging(project, ref: str) -> None:
    project.models.promote_to(ref, "staging")


def test_a_shadow_period_on_logged_traffic_allows_prod(tmp_path):
    with _project(tmp_path / "p", SHADOW) as project:
        project.data.ingest(_frame(0, "a"), "churn")
        v1 = _register(project, _frame(0, "a"), "a", recorded=0.9)
        _to_staging(project, v1)
        project.models.promote_to(v1, "prod")  # nothing to shadow yet
        v2 = _register(project, _frame(1, "a"), "a", recorded=0.91)  # same concept, slightly different fit
        _to_staging(project, v2)
        with pytest.raises(CheckFailedError) as refused:
            project.models.promote_to(v2, "prod")
        message = refused.value.message
        assert ("prod.shadow.period (churn:2 shadowing churn:1 (@prod): 0 shadowed requests over 0.0 minutes; the "
                "period needs 3 requests)") in message
        assert "prod.shadow.prediction_drift" in message and "undefined on 0 paired rows must be <= 0.2" in message
        _serve_prod_with_staging_shadow(project, _requests(2))
        with pytest.raises(CheckFailedError, match=r"2 shadowed requests .* needs 3 requests"):
            project.models.promote_to(v2, "prod")
        _serve_prod_with_staging_shadow(project, _requests(1, seed=6))
        change = project.models.promote_to(v2, "prod")
        assert isinstance(change, AliasChange) and project.models.aliases("churn")["prod"] == 2
        rules = project.models.audit()[-1].details["environment_gates"]
        assert rules == [{"rule": "prod.shadow.period", "passed": True}, {"rule": "prod.shadow.errors", "passed": True},
                         {"rule": "prod.shadow.prediction_drift", "passed": True}]


def test_a_shadow_that_disagrees_or_fails_is_refused(tmp_path):
    with _project(tmp_path / "p", SHADOW) as project:
        project.data.ingest(_frame(0, "a"), "churn")
        v1 = _register(project, _frame(0, "a"), "a", recorded=0.9)
        _to_staging(project, v1)
        project.models.promote_to(v1, "prod")
        flipped = _register(project, _frame(0, "a"), "a", recorded=0.9, flip=True)  # answers the other class
        _to_staging(project, flipped)
        _serve_prod_with_staging_shadow(project, _requests(3))
        with pytest.raises(CheckFailedError) as refused:
            project.models.promote_to(flipped, "prod")
        assert "failed 1 quality gate(s): prod.shadow.prediction_drift (churn:2 shadowing churn:1 (@prod): " \
               "prediction drift (share of rows whose class differs) 1.0000 on 12 paired rows must be <= 0.2)" \
               in refused.value.message
        # a candidate that needs a column the requests lack fails on every shadowed request: counted, refused
        wider = _register(project, _frame(0, "a", ("a", "b", "c")), "a", recorded=0.9)
        _to_staging(project, wider)
        _serve_prod_with_staging_shadow(project, _requests(3))
        errors = project.stores.monitoring.samples(wider, series=SHADOW_ERRORS)
        assert len(errors) == 3
        with pytest.raises(CheckFailedError) as refused:
            project.models.promote_to(wider, "prod")
        message = refused.value.message
        assert "prod.shadow.errors (churn:3 shadowing churn:1 (@prod): 3 shadow failure(s) must be <= 0)" in message
        assert "0 shadowed requests" in message
        assert project.models.aliases("churn")["prod"] == 1


def test_check_runs_the_gates_of_the_environment_the_candidate_enters_next(tmp_path):
    from conveyor.project.checks import run_checks

    envs = {"dev": {"gates": {"max_latency_ms": 1e-6}}, "staging": {"gates": {"min": {"roc_auc": 0.95}}},
            "prod": {}}
    with _project(tmp_path / "p", envs) as project:
        data = project.data.ingest(_frame(0, "a"), "churn")[0].ref
        v1 = _register(project, _frame(0, "a"), "a", recorded=0.9, dataset=data)
        report = run_checks(project, model=v1)
        cases = {c.name: c for c in report.cases}
        assert cases["gates.dev.max_latency_ms"].status == "failed" and not report.passed
        assert "must be <= 1e-06 ms" in cases["gates.dev.max_latency_ms"].detail
        assert 'failures="1"' in report.junit() and "| `gates.dev.max_latency_ms` | ❌ FAIL |" in report.markdown()
        project.models.promote_to(v1, "dev", override_gates=True, reason="on to staging")
        report = run_checks(project, model=v1)  # dev holds it now: staging is next
        cases = {c.name: c for c in report.cases}
        assert [n for n in cases if n.startswith("gates.")] == ["gates.staging.min.roc_auc"]
        assert cases["gates.staging.min.roc_auc"].status == "failed"
        assert cases["gates.staging.min.roc_auc"].detail == "recorded holdout roc_auc 0.9000 must be >= 0.95"
        assert project.models.aliases("churn") == {"dev": 1}  # a check moves nothing
        chosen = run_checks(project, model=v1, env="prod")
        assert not [c for c in chosen.cases if c.name.startswith("gates.")] and chosen.passed


def test_a_shadow_period_of_minutes_counts_from_the_first_shadowed_request_to_the_last(tmp_path):
    from conveyor.core.entities import PredictionRecord, new_id, now

    envs = {"staging": {}, "prod": {"gates": {"shadow": {"minutes": 30}}}}
    with _project(tmp_path / "p", envs) as project:
        v1 = _register(project, _frame(0, "a"), "a", recorded=0.9)
        _to_staging(project, v1)
        project.models.promote_to(v1, "prod")
        v2 = _register(project, _frame(1, "a"), "a", recorded=0.9)
        _to_staging(project, v2)

        def request(at: float) -> None:  # what a serving process logs for one request
            rid, row = new_id(), {"a": 0.3, "b": -0.1}
            project.stores.predictions.log([
                PredictionRecord(new_id(), v1, row, {"prediction": 1}, at=at, role="primary", request_id=rid),
                PredictionRecord(new_id(), v2, row, {"prediction": 1}, at=at, role="shadow",
                                 request_id=rid)])

        start = now() - 3600
        request(start)
        request(start + 29 * 60)
        with pytest.raises(CheckFailedError, match=r"2 shadowed requests over 29.0 minutes; the period needs 30 "
                                                   r"minutes"):
            project.models.promote_to(v2, "prod")
        request(start + 31 * 60)
        project.models.promote_to(v2, "prod")
        assert project.models.aliases("churn")["prod"] == 2
