"""`conveyor demo`, the main job: the whole loop on real data, leaving a project the other verbs can read."""

from __future__ import annotations

import json
import subprocess
import sys

import yaml


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
