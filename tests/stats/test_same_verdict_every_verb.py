"""The same window gets the same verdict from every verb: one reference and one current window, run through the
paths of `conveyor data diff` (profile vs profile), `conveyor monitor` (reference statistics vs rows), the drift
note of `conveyor retrain` (training profile vs the newest rows) and the agent's drift trigger, give the same
per-column verdicts, under the default policy and under a policy that names other tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.dummy import DummyClassifier

from conveyor.data.datasets import ingest_frame, load_frame
from conveyor.data.diff import diff_versions
from conveyor.monitor.monitoring import monitor_frame
from conveyor.pipeline.agent import Agent, Policy
from conveyor.pipeline.retrain import drift_note
from conveyor.registry.models import promote, register_model
from conveyor.stats import DriftPolicy

INPUTS = ["x", "y", "k", "plan", "city", "flag"]
DRIFTING = {"x", "plan"}


def window(n: int, seed: int, *, drift: bool) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "x": rng.normal(1.0 if drift else 0.0, 1.0, n),  # moves by one std
        "y": rng.normal(5.0, 2.0, n),
        "k": rng.poisson(3.0, n),
        "plan": rng.choice(["basic", "plus", "pro"], n, p=[0.2, 0.3, 0.5] if drift else [0.6, 0.3, 0.1]),
        "city": rng.choice(["oslo", "lima", "pune", "kyiv", "rome"], n, p=[0.3, 0.25, 0.2, 0.15, 0.1]),
        "flag": rng.random(n) < 0.3,
    })
    frame["t"] = (frame["x"] > 0).astype(int)
    return frame


NUMBERS_NEVER_DRIFT = DriftPolicy(thresholds={"ks": 0.0, "wasserstein": 100.0})


@pytest.mark.parametrize(("policy", "drifting"), [
    (DriftPolicy(), DRIFTING),
    (DriftPolicy(numeric_method="psi", categorical_method="psi"), DRIFTING),
    (NUMBERS_NEVER_DRIFT, {"plan"}),  # every verb must read the policy for x to stay quiet
], ids=["auto", "psi", "overrides"])
@pytest.mark.parametrize("rows", [400, 2500])
def test_one_window_one_verdict_from_every_verb(stores, rows, policy, drifting):
    reference, _ = ingest_frame(stores, window(3000, 0, drift=False), "d")
    current, _ = ingest_frame(stores, window(rows, 1, drift=True), "d")
    signature = {"inputs": [{"name": c} for c in INPUTS], "task": "classification", "classes": [0, 1], "target": "t"}
    fitted = DummyClassifier().fit(load_frame(stores, reference)[INPUTS], load_frame(stores, reference)["t"])
    model = register_model(stores, fitted, "m", signature=signature, dataset=reference.ref)
    promote(stores, model.ref, "champion")
    rows_now = load_frame(stores, current)

    diff = diff_versions(reference, current, policy=policy)
    by_diff = {c["column"]: (c["method"], c["drifted"]) for c in diff["columns"] if c["column"] in INPUTS}
    monitored = monitor_frame(stores, model, rows_now, current.ref, policy=policy).drift
    by_monitor = {c.column: (c.method, c.drifted) for c in monitored.columns}
    note = drift_note(reference, rows_now, INPUTS, policy=policy)
    by_retrain = {c.column: (c.method, c.drifted) for c in note.columns}
    _, checks = Agent(stores, Policy(model="m", triggers=["drift"]), drift_policy=policy).check_triggers(model)

    assert by_diff == by_monitor == by_retrain
    assert set(by_monitor) == set(INPUTS)
    assert {c for c, (_, drifted) in by_monitor.items() if drifted} == drifting
    assert set(checks["drifted"]) == drifting and checks["window"] == current.ref
    expected = ({"x": "psi", "plan": "psi"} if policy.numeric_method == "psi"
                else {"x": "ks", "plan": "chi2"} if rows < 1000 else {"x": "wasserstein", "plan": "jensenshannon"})
    assert {c: by_monitor[c][0] for c in DRIFTING} == expected
