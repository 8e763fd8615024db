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
