"""Tracking the user's own code: params, metrics with steps, artifacts, and their own models, with lineage."""

from __future__ import annotations

import subprocess

import lightgbm as lgb
import numpy as np
import pytest
import xgboost as xgb
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import RandomForestClassifier

from conveyor.core.errors import BadInputError
from conveyor.data.datasets import ingest_frame
from conveyor.registry.models import load_model
from conveyor.train.tracking import start_run


@pytest.fixture(scope="module")
def cancer():
    return load_breast_cancer(as_frame=True).frame


def test_a_run_records_everything_and_its_lineage(stores, cancer, tmp_path):
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    subprocess.run(["git", "-C", str(tmp_path), "-c", "user.email=a@b", "-c", "user.name=a", "commit", "-q",
                    "--allow-empty", "-m", "init"], check=True)
    dataset, _ = ingest_frame(stores, cancer, "cancer")
    X, y = cancer.drop(columns="target"), cancer["target"]
    with start_run(stores, name="mine", dataset=dataset, project_root=tmp_path) as run:
        run.log_params({"n_estimators": 20, "max_depth": 4})
        for step in range(5):
            run.log_metric("loss", 1.0 / (step + 1), step=step)
        run.log_artifact("notes.json", {"why": "a test"})
        model = RandomForestClassifier(n_estimators=20, max_depth=4, random_state=0).fit(X, y)
        run.log_metric("accuracy", model.score(X, y))
        version = run.log_model(model, "forest", input_example=X.head())
    recorded = stores.runs.get(run.id)
    assert recorded.status == "finished"
    assert recorded.params == {"n_estimators": "20", "max_depth": "4"}
    assert recorded.metrics["loss"] == pytest.approx(0.2)
    assert [m.step for m in stores.runs.metric_history(run.id, "loss")] == [0, 1, 2, 3, 4]
    assert "notes.json" in recorded.artifacts
    assert recorded.tags["git.commit"] and len(recorded.tags["git.commit"]) == 40
    assert recorded.tags["pkg.scikit-learn"]
    assert version.run_id == run.id and version.dataset == f"cancer@{dataset.version}"
    assert version.metrics["accuracy"] > 0.9
    assert load_model(stores, "forest:1").predict(X.head(3)).tolist() == model.predict(X.head(3)).tolist()


def test_a_failing_block_marks_the_run_failed(stores):
    with pytest.raises(RuntimeError), start_run(stores, name="boom") as run:
        raise RuntimeError("diverged")
    recorded = stores.runs.get(run.id)
    assert recorded.status == "failed" and "diverged" in recorded.tags["error"]


def test_non_finite_metrics_are_refused(stores):
    with start_run(stores) as run:
        with pytest.raises(BadInputError, match="finite"):
            run.log_metric("loss", float("nan"))
        with pytest.raises(BadInputError, match="must be a number"):
            run.log_metric("loss", "high")


def test_native_lightgbm_and_xgboost_models(stores, cancer):
    X, y = cancer.drop(columns="target"), cancer["target"]
    booster = lgb.train({"objective": "binary", "verbose": -1}, lgb.Dataset(X, y), num_boost_round=10)
    xgb_booster = xgb.train({"objective": "binary:logistic"}, xgb.DMatrix(X, y), num_boost_round=10)
    with start_run(stores) as run:
        lgb_version = run.log_model(booster, "lgb")
        xgb_version = run.log_model(xgb_booster, "xgb")
    assert (lgb_version.flavor, xgb_version.flavor) == ("lightgbm", "xgboost")
    assert lgb_version.signature["task"] == "classification"
    np.testing.assert_allclose(load_model(stores, "lgb:1").predict_proba(X.head())[:, 1], booster.predict(X.head()))
    assert load_model(stores, "xgb:1").predict(X.head()).shape == (5,)


def test_a_nan_metric_on_a_model_is_refused_before_anything_is_written(stores, cancer):
    X, y = cancer.drop(columns="target"), cancer["target"]
    model = RandomForestClassifier(n_estimators=5, random_state=0).fit(X, y)
    with start_run(stores) as run, pytest.raises(BadInputError, match="'r2' is nan"):
        run.log_model(model, "forest", metrics={"r2": float("nan")})
    assert stores.registry.versions() == []
    assert stores.artifacts.digests() == []
