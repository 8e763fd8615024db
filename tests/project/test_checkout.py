"""`conveyor checkout MODEL:N DIR`: the dataset version, the code at the run's commit and the run's full package lock,
so a colleague can rebuild the model."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib import metadata

import pandas as pd
from sklearn.datasets import load_breast_cancer

import conveyor as cv

GIT = ["git", "-c", "core.hooksPath=/dev/null", "-c", "user.name=t", "-c", "user.email=t@example.com"]


def test_checkout_materialises_data_code_and_lock(tmp_path):
    root = tmp_path / "proj"
    root.mkdir()
    (root / "features.py").write_text("VERSION = 'as trained'\n")
    frame = load_breast_cancer(as_frame=True).frame.iloc[:200, [0, 1, 2, -1]]
    frame.columns = ["a", "b", "c", "target"]
    with cv.Project.init(root) as project:
        subprocess.run([*GIT, "init", "-q"], cwd=root, check=True)
        subprocess.run([*GIT, "add", "conveyor.yaml", "features.py"], cwd=root, check=True)
        subprocess.run([*GIT, "commit", "-qm", "first"], cwd=root, check=True)
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True,
                                check=True).stdout.strip()
        version, _ = project.data.ingest(frame, "cancer")
        result = project.training.train(version, "target", max_trials=1, budget=30)
        lock = result.run.tags["packages.lock"].splitlines()
        assert len(lock) > 20 and f"numpy=={metadata.version('numpy')}" in lock  # the full lock, not 8 pins
    (root / "features.py").write_text("VERSION = 'changed later'\n")  # the checkout shows the recorded commit
    subprocess.run([*GIT, "commit", "-qam", "later"], cwd=root, check=True)
    done = subprocess.run([sys.executable, "-m", "conveyor", "checkout", result.model_version.ref,
                           str(tmp_path / "out"), "--project", str(root), "--json"], capture_output=True, text=True,
                          timeout=300, env={**os.environ, "CONVEYOR_USER": "tester"})
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    out = tmp_path / "out"
    assert summary["commit"] == commit and summary["run"] == result.run.id
    assert (out / "code" / "features.py").read_text() == "VERSION = 'as trained'\n"
    restored = pd.read_parquet(out / "data" / "cancer.parquet")
    pd.testing.assert_frame_equal(restored.reset_index(drop=True), frame.reset_index(drop=True),
                                  check_dtype=False)
    assert (out / "requirements.lock").read_text().splitlines() == lock
    assert json.loads((out / "checkout.json").read_text())["model_version"] == result.model_version.ref
    again = subprocess.run([sys.executable, "-m", "conveyor", "checkout", result.model_version.ref, str(out),
                            "--project", str(root)], capture_output=True, text=True, timeout=300)
    assert again.returncode == 2 and "not an empty folder" in again.stderr
