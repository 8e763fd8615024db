"""`conveyor assess`: projects built to each maturity level get that level, with the evidence and next steps."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.linear_model import LogisticRegression

import conveyor as cv
from conveyor.core.entities import PredictionRecord, Run, new_id
from conveyor.project import _options
from conveyor.project.assess import assess
from conveyor.project.ci import write_ci
from conveyor.registry.models import register_model

FRAME = pd.DataFrame({"a": np.arange(40.0), "b": np.arange(40.0) % 5, "y": (np.arange(40) > 19).astype(int)})


def _write(root, config):
    (root / "conveyor.yaml").write_text(yaml.safe_dump({"name": "p", **config}, sort_keys=False))


def build(root, level: int) -> None:
    """A project with exactly the evidence of ``level``."""
    root.mkdir(parents=True, exist_ok=True)
    config: dict = {}
    if level >= 1:
        config["gates"] = {"min": {"roc_auc": 0.6}}
    if level >= 2:
        config["environments"] = {"dev": {}, "prod": {"approval": True}}
    if level >= 3:
        config["alerts"] = {"rules": [{"name": "drift", "signal": "drift.share", "threshold": 0.3}]}
        config["retrain"] = {"model": "churn"}
    _write(root, config)
    with cv.Project.init(root) as project:
        if level >= 1:
            version, _ = project.data.ingest(FRAME, "churn")
            project.data.contract(version.ref)
            project.stores.runs.create(Run(new_id(), "train", dataset=version.ref))
        if level >= 2:
            write_ci(root, "github", "churn", ["dev", "prod"])
            model = LogisticRegression().fit(FRAME[["a", "b"]], FRAME["y"])
            for _ in range(2):
                register_model(project.stores, model, "churn", input_example=FRAME[["a", "b"]].head())
            project.stores.predictions.log([PredictionRecord(new_id(), "churn:1", {"a": 1.0, "b": 2.0},
                                                             {"prediction": 0})])
        if level >= 3:
            for ref in ("churn:1", "churn:2"):
                project.models.promote_to(ref, "dev")
            project.models.rollback("churn", "dev", reason="drill")


@pytest.mark.parametrize("level", [0, 1, 2, 3])
def test_each_level_is_recognised(tmp_path, monkeypatch, level):
    monkeypatch.setattr(_options, "authentication_on", lambda _project: level >= 3)
    build(tmp_path / "p", level)
    with cv.Project.open(tmp_path / "p") as project:
        maturity = assess(project)
    assert maturity.level == level
    by_id = {c.id: c for c in maturity.criteria}
    assert all(c.passed for c in maturity.criteria if c.level <= level)
    if level < 3:
        missing = [c for c in maturity.criteria if c.level == level + 1]
        assert any(not c.passed for c in missing)
        assert {c.fix for c in maturity.next_steps} >= {c.fix for c in missing if not c.passed}
    if level >= 2:
        assert by_id["ci.workflow"].evidence == ".github/workflows/conveyor.yml runs `conveyor check`"
    if level >= 3:
        assert by_id["rollback.exercised"].evidence == "1 rollback(s) in the audit trail"


def test_one_missing_criterion_holds_the_level_back(tmp_path, monkeypatch):
    monkeypatch.setattr(_options, "authentication_on", lambda _project: False)  # no users: no access control
    build(tmp_path / "p", 3)
    with cv.Project.open(tmp_path / "p") as project:
        maturity = assess(project)
    assert maturity.level == 2
    assert [c.id for c in maturity.next_steps] == ["access.control"]


def test_the_cli_prints_json_and_a_page(tmp_path):
    build(tmp_path / "p", 1)
    done = subprocess.run([sys.executable, "-m", "conveyor", "assess", "--json", "--html", "maturity.html"],
                          cwd=tmp_path / "p", capture_output=True, text=True, timeout=300,
                          env={**os.environ, "CONVEYOR_USER": "tester"})
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["level"] == 1 and {"level", "criteria"} <= set(report)
    assert {c["id"] for c in report["criteria"] if not c["passed"]} >= {"ci.workflow", "environments"}
    page = (tmp_path / "p" / "maturity.html").read_text()
    assert "MLOps maturity: level 1 (pipeline automation)" in page and "conveyor ci github" in page
