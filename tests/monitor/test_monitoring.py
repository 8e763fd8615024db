"""Monitoring a registered model: drift of a dataset or of the logged prediction window, live accuracy,
and the HTML report."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from conveyor.core.entities import PredictionRecord, new_id
from conveyor.core.errors import BadInputError
from conveyor.data.datasets import ingest_frame
from conveyor.monitor.monitoring import monitor_frame, window_frame
from conveyor.monitor.report import render_html
from conveyor.registry.models import register_model
from conveyor.store import Stores


@pytest.fixture
def setup(tmp_path):
    stores = Stores.open(f"sqlite:///{tmp_path / 'm.db'}", str(tmp_path / "art"))
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(0, 1, 3000), "kind": rng.choice(["a", "b", "c"], 3000)})
    frame["y"] = (frame["x"] > 0).astype(int)
    version, _ = ingest_frame(stores, frame, "d")
    uses_x = ColumnTransformer([("x", "passthrough", ["x"])])  # "kind" is an input the model ignores
    model = make_pipeline(uses_x, LogisticRegression()).fit(frame[["x", "kind"]], frame["y"])
    signature = {"inputs": [{"name": "x", "dtype": "float64", "kind": "numeric"},
                            {"name": "kind", "dtype": "str", "kind": "categorical"}],
                 "task": "classification", "classes": [0, 1], "target": "y"}
    mv = register_model(stores, model, "d", signature=signature, dataset=f"d@{version.version}")
    yield stores, mv, rng
    stores.close()


def test_dataset_drift_and_report(setup):
    stores, mv, rng = setup
    current = pd.DataFrame({"x": rng.normal(1.5, 1, 2000), "kind": rng.choice(["a", "b", "c"], 2000)})
    report = monitor_frame(stores, mv, current, "shifted")
    verdict = {c.column: c.drifted for c in report.drift.columns}
    assert verdict == {"x": True, "kind": False}
    page = render_html(report)
    assert page.startswith("<!doctype html>") and "drift found" in page
    assert not re.search(r"(src|href)=\"https?://", page)  # self-contained: works offline
    assert page.count('class="cv-chart"') == 2
    assert report.performance == {}  # no target column in the new data: nothing to score


def test_labelled_new_data_is_scored_too(setup):
    stores, mv, rng = setup
    x = rng.normal(0, 1, 1000)
    flipped = pd.DataFrame({"x": x, "kind": rng.choice(["a", "b", "c"], 1000), "y": (x < 0).astype(int)})
    report = monitor_frame(stores, mv, flipped, "flipped")
    assert report.performance["labelled"] == 1000
    assert report.performance["accuracy"] < 0.1  # the concept flipped: the model is now almost always wrong


def test_window_of_logged_predictions_with_labels(setup):
    stores, mv, rng = setup
    records = []
    for i in range(200):
        x = float(rng.normal(0, 1))
        records.append(PredictionRecord(new_id(), mv.ref, {"x": x, "kind": "a"}, {"prediction": int(x > 0)},
                                        at=1000.0 + i, label=int(x > 0) if i % 2 else int(x <= 0)))
    stores.predictions.log(records)
    stores.predictions.log([PredictionRecord(new_id(), "d:7", {"x": 9.0, "kind": "z"}, {"prediction": 1},
                                                      at=5000.0)])  # another version's traffic is not this window
    frame, found = window_frame(stores, mv, 100)
    assert len(frame) == 100 and list(frame.columns) == ["x", "kind"]
    report = monitor_frame(stores, mv, frame, "last 100", found)
    assert report.performance["labelled"] == 100
    assert report.performance["accuracy"] == pytest.approx(0.5)
    low, high = report.performance["accuracy_ci95"]
    assert low < 0.5 < high
    assert {c.column: c.drifted for c in report.drift.columns}["kind"] is True  # only "a" was sent


def test_empty_window_says_how_to_fill_it(setup):
    stores, _mv, _rng = setup
    with pytest.raises(BadInputError, match="No logged predictions"):
        window_frame(stores, _mv, 10)
