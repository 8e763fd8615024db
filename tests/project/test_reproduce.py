"""`conveyor reproduce RUN`: a run trained with a fixed trial count reproduces its holdout metrics exactly."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from sklearn.datasets import load_breast_cancer

import conveyor as cv


def test_a_fixed_trial_run_reproduces_exactly(tmp_path):
    frame = load_breast_cancer(as_frame=True).frame.iloc[:300, [0, 1, 2, 3, -1]]
    frame.columns = ["a", "b", "c", "d", "target"]
    with cv.Project.init(tmp_path) as project:
        version, _ = project.data.ingest(frame, "cancer")
        result = project.training.train(version, "target", max_trials=2, budget=120, seed=3)
    done = subprocess.run([sys.executable, "-m", "conveyor", "reproduce", result.run.id[:12], "--json",
                           "--project", str(tmp_path)], capture_output=True, text=True, timeout=600,
                          env={**os.environ, "CONVEYOR_USER": "tester"})
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert found["fixed_trials"] == 2 and found["dataset"] == f"cancer@{version.version}"
    assert found["original"] == result.model_version.metrics and found["reproduced"] == found["original"]
    assert found["equal"] is True and set(found["difference"].values()) == {0.0}
    assert found["reproduced_run"] != result.run.id and found["reproduced_version"] == "cancer-reproduced:1"
