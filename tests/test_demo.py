"""`conveyor demo`, the main job: the whole loop on real data, leaving a project the other verbs can read."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import yaml

from conveyor.store.s3 import S3ArtifactStore


def test_demo_runs_the_whole_loop_and_leaves_an_inspectable_project(tmp_path):
    keep = tmp_path / "demo"
    done = subprocess.run([sys.executable, "-m", "conveyor", "demo", "--fast", "--json", "--keep", str(keep)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert {"datasets", "champion", "drift", "decision", "reason", "seconds"} <= set(summary)
    assert summary["drift"] is True and "temp" in summary["drifted_columns"]  # winter -> summer weather
    # summer weather makes the winter model worse on the newest flights than one trained on summer (ROC AUC 0.67 vs
    # 0.69 with --fast, 0.66 vs 0.79 without): the data decides, and it decides promotion
    assert summary["decision"] == "promoted" and summary["reason"]
    assert summary["challenger_score"] > summary["champion_score"]
    assert summary["requests_rows"] == 400
    assert summary["datasets"]["early"] != summary["datasets"]["late"]

    config = yaml.safe_load((keep / "conveyor.yaml").read_text())
    assert config["data"] == {"target": "delayed", "time_column": "time_hour"}  # later verbs see what the demo did
    assert (keep / "drift-report.html").read_text().count('class="cv-chart"') >= 10

    listed = subprocess.run([sys.executable, "-m", "conveyor", "models", "list", "--json", "--project", str(keep)],
                            capture_output=True, text=True, timeout=120, check=True)
    versions = json.loads(listed.stdout)
    champion = [v["model_version"] for v in versions if "champion" in v["aliases"]]
    assert champion == [summary["champion"]]
    assert summary["champion"] == "flights:2"
    # the demo ends with its own maturity level, the one `conveyor assess` finds in the project it leaves
    assessed = subprocess.run([sys.executable, "-m", "conveyor", "assess", "--json", "--project", str(keep)],
                              capture_output=True, text=True, timeout=120, check=True)
    assert json.loads(assessed.stdout)["level"] == summary["maturity"]


@pytest.mark.slow
def test_demo_runs_with_its_artifacts_on_s3(tmp_path, s3_env):
    """The whole loop with CONVEYOR_ARTIFACTS=s3://... on a real S3-compatible server (moto's, a subprocess)."""
    bucket = s3_env.bucket("demo")
    env = {**os.environ, "CONVEYOR_ARTIFACTS": f"s3://{bucket}/artifacts"}
    keep = tmp_path / "demo"
    done = subprocess.run([sys.executable, "-m", "conveyor", "demo", "--fast", "--json", "--keep", str(keep)],
                          capture_output=True, text=True, timeout=900, env=env)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["decision"] == "promoted" and summary["requests_rows"] == 400
    assert not list((keep / ".conveyor").glob("artifacts/*/*"))  # nothing was written to the local folder
    # the datasets and models the demo versioned are objects in the bucket, and a later verb reads them back
    stored = S3ArtifactStore(f"s3://{bucket}/artifacts").digests()
    assert len(stored) >= 4
    listed = subprocess.run([sys.executable, "-m", "conveyor", "models", "list", "--json", "--project", str(keep)],
                            capture_output=True, text=True, timeout=120, check=True, env=env)
    assert [v["model_version"] for v in json.loads(listed.stdout) if "champion" in v["aliases"]] == ["flights:2"]
    shown = subprocess.run([sys.executable, "-m", "conveyor", "data", "list", "--json", "--project", str(keep)],
                           capture_output=True, text=True, timeout=120, env=env)
    assert shown.returncode == 0, shown.stderr
