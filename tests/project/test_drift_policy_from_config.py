"""The drift policy comes from conveyor.yaml for every verb: with `monitor.thresholds` set so that numeric columns
never drift, `data diff`, `monitor`, `retrain`'s drift note and the agent all flag only the categorical shift (under
the default policy they also flag the numeric one, so a verb that ignored the file would disagree)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import conveyor as cv

INPUTS = ["x", "y", "plan", "city"]


def window(n: int, seed: int, *, drift: bool) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "x": rng.normal(1.0 if drift else 0.0, 1.0, n),
        "y": rng.normal(5.0, 2.0, n),
        "plan": rng.choice(["basic", "plus", "pro"], n, p=[0.2, 0.3, 0.5] if drift else [0.6, 0.3, 0.1]),
        "city": rng.choice(["oslo", "lima", "pune"], n, p=[0.5, 0.3, 0.2]),
    })
    frame["t"] = (frame["y"] + rng.normal(0, 1, n) > 5).astype(int)
    return frame


@pytest.mark.slow
@pytest.mark.parametrize(("monitor", "expected"), [
    ({}, {"x", "plan"}),
    ({"thresholds": {"ks": 1e-300, "wasserstein": 100.0}}, {"plan"}),  # numeric tests that never fire
], ids=["default", "from-conveyor.yaml"])
def test_every_verb_reads_the_drift_policy_of_the_project_file(tmp_path, monitor, expected):
    with cv.Project.init(tmp_path) as project:
        if monitor:
            project.configure("monitor", **monitor)
        reference, _ = project.data.ingest(window(3000, 0, drift=False), "d")
        trained = project.training.train(reference, "t", model_name="m", max_trials=1, budget=60)
        project.models.promote(trained.model_version.ref, alias="champion")
        current, _ = project.data.ingest(window(400, 1, drift=True), "d")

        diff = project.data.diff(reference.ref, current.ref)
        by_diff = {c["column"] for c in diff["columns"] if c["column"] in INPUTS and c["drifted"]}
        report = project.monitoring.monitor("m@champion", current=current.ref, record=False)
        by_monitor = {c.column for c in report.drift.columns if c.drifted}
        agent = project.monitoring.agent("m")
        _, checks = agent.check_triggers(project.models.get("m@champion"))
        decision = project.training.retrain("m", max_trials=1)

    assert by_diff == by_monitor == set(checks["drifted"]) == set(decision.drifted_columns) == expected
