"""The monitor's JSON and HTML carry the one result shape of conveyor.stats, for every kind of reference."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from conveyor.monitor.monitoring import MonitorReport
from conveyor.monitor.reference import build_reference
from conveyor.monitor.report import render_html
from conveyor.stats import compare


def test_a_reference_with_pooled_categories_reports_and_renders():
    rng = np.random.default_rng(0)
    ids = [f"u{i}" for i in range(1500)]  # more than the 1000 categories a sketch names: the rest are pooled
    reference = build_reference(pd.DataFrame({"user": rng.choice(ids, 20_000), "x": rng.normal(0, 1, 20_000)}),
                                ["user", "x"], dataset="d@1")
    assert reference["columns"]["user"]["complete"] is False
    window = pd.DataFrame({"user": rng.choice(ids, 500), "x": rng.normal(0, 1, 500)})
    drift = compare(reference, window)
    report = MonitorReport("m:1", "d@1", "window", drift, reference_profile=reference, current_frame=window)
    body = json.loads(json.dumps(report.to_dict(), allow_nan=False))
    user = body["columns"]["user"]
    assert {"method", "score", "threshold", "drifted", "effect"} <= set(user) and user["unseen"] is None
    page = render_html(report)
    assert "effect" in page and "<h1>Drift report for m:1" in page


def test_scores_on_the_training_data_are_not_called_live_performance():
    from conveyor.stats import DriftReport

    drift = DriftReport(columns=[], drift=False, share_drifted=0.0, reference_rows=50, current_rows=50)
    performance = {"labelled": 50, "roc_auc": 0.882}
    own = render_html(MonitorReport("m:1", "d@0123456789ab", "d@0123456789ab", drift, performance=performance))
    assert "Performance on the training data (not live)" in own and "Live performance" not in own
    newer = render_html(MonitorReport("m:1", "d@0123456789ab", "d@ba9876543210", drift, performance=performance))
    assert "<h2>Live performance</h2>" in newer and "labels from d@ba9876543210" in newer and "not live" not in newer
