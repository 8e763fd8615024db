"""Bulk ground truth: `conveyor feedback ingest FILE` and `POST /api/v1/feedback` label logged predictions once per
id and report matched, unmatched, duplicate and conflicting rows; on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import httpx
import pandas as pd

import conveyor as cv
from conveyor.core.entities import PredictionRecord
from conveyor.serve import running_server
from conveyor.server import create_app

ROWS = [("p1", 1), ("p2", 0), ("p2", 0), ("p3", 1), ("p3", 0), ("p5", 1), ("nope", 1)]


def _logged(project: cv.Project) -> None:
    project.stores.predictions.log([PredictionRecord(f"p{i}", "m:1", {"x": i}, {"y": 0}) for i in range(1, 6)])
    project.stores.predictions.add_feedback({"p5": 0})


def _labels(project: cv.Project) -> dict[str, object]:
    return {r.id: r.label for r in project.stores.predictions.recent()}


def test_a_label_file_is_written_once_per_id_with_a_report(tmp_path, db_backend):
    path = tmp_path / "labels.csv"
    pd.DataFrame(ROWS, columns=["prediction", "churned"]).to_csv(path, index=False)
    with cv.Project.init(tmp_path / "p") as project:
        _logged(project)
        seen = []
        report = project.operations.ingest_feedback(path, id_column="prediction", label_column="churned",
                                                    progress=lambda done, total: seen.append((done, total)))
        assert report.as_dict() | {"unmatched_sample": sorted(report.unmatched_sample)} == {
            "rows": 7, "matched": 2, "unmatched": 2, "duplicates": 2, "conflicting": ["p3"],
            "unmatched_sample": ["nope", "p5"]}
        assert _labels(project) == {"p1": 1, "p2": 0, "p3": None, "p4": None, "p5": 0}
        assert seen[-1] == (4, 4)


def test_the_cli_and_the_batch_endpoint(tmp_path, monkeypatch):
    monkeypatch.delenv("CONVEYOR_DB_URL", raising=False)
    root = tmp_path / "p"
    with cv.Project.init(root) as project:
        _logged(project)
    pd.DataFrame(ROWS[:3], columns=["id", "label"]).to_csv(tmp_path / "labels.csv", index=False)
    env = {k: v for k, v in os.environ.items() if k not in ("CONVEYOR_SERVER", "CONVEYOR_TOKEN")}
    done = subprocess.run([sys.executable, "-m", "conveyor", "feedback", "ingest", str(tmp_path / "labels.csv"),
                           "--json"], cwd=root, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["matched"] == 2 and json.loads(done.stdout)["duplicates"] == 1
    with cv.Project.open(root) as project, running_server(create_app(project)) as url:
        answer = httpx.post(url + "/api/v1/feedback", json={"labels": [{"id": "p3", "label": 1},
                                                                       {"id": "p1", "label": 0}]})
        assert answer.status_code == 200, answer.text
        assert (answer.json()["matched"], answer.json()["unmatched"]) == (1, 1)  # p1 was labelled by the file
        assert _labels(project)["p3"] == 1 and _labels(project)["p1"] == 1
        bad = httpx.post(url + "/api/v1/feedback", json={"labels": [{"id": "p4", "label": None}]})
        assert bad.status_code == 422 and bad.json()["field"] == "label"  # the error tree's bad input
