"""Windows over the prediction log by count and by time, per model version, and the stored time series of a check."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from conveyor.core.entities import PredictionRecord, new_id
from conveyor.core.errors import BadInputError
from conveyor.data.datasets import ingest_frame
from conveyor.monitor.monitoring import monitor_frame, reference_stats, window_frame
from conveyor.registry.models import register_model


@pytest.fixture
def model(stores):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(0, 1, 2000)})
    frame["y"] = (frame["x"] > 0).astype(int)
    version, _ = ingest_frame(stores, frame, "d")
    signature = {"inputs": [{"name": "x", "dtype": "float64", "kind": "numeric"}], "task": "classification",
                 "classes": [0, 1], "target": "y"}
    fitted = LogisticRegression().fit(frame[["x"]], frame["y"])
    return register_model(stores, fitted, "d", signature=signature, dataset=f"d@{version.version}")


def test_windows_by_count_and_time(stores, model):
    t = time.time()
    old = [PredictionRecord(new_id(), model.ref, {"x": 5.0}, {"prediction": 1}, at=t - 7200 + i) for i in range(50)]
    new = [PredictionRecord(new_id(), model.ref, {"x": 0.1}, {"prediction": 1}, at=t - 60 + i) for i in range(30)]
    other = [PredictionRecord(new_id(), "d:9", {"x": 0.0}, {"prediction": 0}, at=t)]  # a canary's traffic
    stores.predictions.log(old + new + other)
    frame, records = window_frame(stores, model, since=3600)
    assert len(frame) == 30 and {r.id for r in records} == {r.id for r in new}
    frame, _ = window_frame(stores, model, window=40)
    assert len(frame) == 40 and (frame["x"] == 5.0).sum() == 10
    frame, _ = window_frame(stores, model, window=10, since=3600)
    assert len(frame) == 10
    with pytest.raises(BadInputError, match="in this window"):
        window_frame(stores, model, since=1)
    with pytest.raises(BadInputError, match="positive"):
        window_frame(stores, model, since=-5)


def test_reference_is_computed_once_and_checks_become_time_series(stores, model):
    first = reference_stats(stores, model)
    assert first["dataset"].startswith("d@") and first["prediction"]["kind"] == "categorical"
    assert stores.monitoring.get_reference_stats(model.ref) == first
    report = monitor_frame(stores, model, pd.DataFrame({"x": np.linspace(3, 4, 500)}), "shifted")
    assert report.drift.drift and report.quality["out_of_range_max"] > 0.1
    series = {s.series: s.value for s in report.samples()}
    assert series["drift.share"] == 1.0 and series["drift.x"] < 0.05 and "quality.out_of_range_max" in series


def test_a_live_metrics_interval_becomes_two_series_so_a_chart_draws_its_band():
    from conveyor.monitor.monitoring import MonitorReport
    from conveyor.stats import DriftReport

    drift = DriftReport(columns=[], drift=False, share_drifted=0.0, reference_rows=10, current_rows=10)
    report = MonitorReport("m:1", "d@1", "window", drift,
                           performance={"labelled": 40, "accuracy": 0.9, "accuracy_ci95": [0.77, 0.96]})
    series = {s.series: s.value for s in report.samples()}
    assert (series["live.accuracy"], series["live.accuracy_low"], series["live.accuracy_high"]) == (0.9, 0.77, 0.96)
