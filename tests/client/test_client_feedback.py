"""Bulk labels against a real `conveyor server`: the CLI reads the table and sends it in chunks to
POST /api/v1/feedback; the endpoint's bad input gets 4xx bodies naming the field."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pandas as pd

from conveyor.core.entities import PredictionRecord
from conveyor.project import Project


def test_feedback_ingest_against_the_server(served: tuple[Path, str], tmp_path: Path, user_env) -> None:
    root, url = served
    with Project.open(root) as project:
        project.stores.predictions.log([PredictionRecord(f"r{i}", "churn:1", {}, {}) for i in range(6000)])
    table = pd.DataFrame({"prediction": [f"r{i}" for i in range(6000)] + ["r1", "ghost"],
                          "y": [i % 3 for i in range(6000)] + [2, 1]})
    table.to_csv(tmp_path / "labels.csv", index=False)

    done = subprocess.run([sys.executable, "-m", "conveyor", "feedback", "ingest", str(tmp_path / "labels.csv"),
                           "--id-column", "prediction", "--label-column", "y", "--json"],
                          env={**user_env, "CONVEYOR_SERVER": url}, cwd=tmp_path, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert (report["rows"], report["labelled"], report["not_updated"], report["duplicates"],
            report["conflicting"]) == (6002, 6000, 1, 1, 1)
    assert report["examples"]["not_updated"] == ["ghost"]
    with Project.open(root) as project:
        stored = {p.id: p.label for p in project.stores.predictions.recent() if p.id.startswith("r")}
    assert stored == {f"r{i}": i % 3 for i in range(6000)}


def test_the_feedback_endpoint_refuses_bad_bodies(served: tuple[Path, str]) -> None:
    _root, url = served
    cases = [({"labels": "x"}, 422, "labels"), ({"labels": {"a": 1}, "relabel": "yes"}, 422, "relabel"),
             ({"labels": {"a": 1}, "extra": 1}, 422, "extra"), ({"labels": {"a": {"deep": 1}}}, 422, "label"),
             ({"labels": {f"x{i}": 1 for i in range(10_001)}}, 413, "labels"), ({"labels": {}}, 422, "labels")]
    for body, status, field in cases:
        answer = httpx.post(f"{url}/api/v1/feedback", json=body, timeout=30)
        assert answer.status_code == status, (body if len(str(body)) < 200 else "10001 labels", answer.text)
        assert answer.json()["field"] == field
    unknown = httpx.post(f"{url}/api/v1/feedback", json={"labels": {"never-logged": 1}}, timeout=30).json()
    assert (unknown["labelled"], unknown["not_updated"]) == (0, 1)
