"""Bulk ground truth (`conveyor feedback ingest`): a labels table joined to the prediction log by id, write-once,
with a report of what happened to every row; on SQLite through the CLI and on the real PostgreSQL."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from conveyor.core.entities import PredictionRecord
from conveyor.core.errors import BadInputError, PermissionDeniedError
from conveyor.project import Project
from conveyor.security import add_identity


def log_predictions(project: Project, count: int, prefix: str = "p") -> list[str]:
    ids = [f"{prefix}{i:03d}" for i in range(count)]
    project.stores.predictions.log([PredictionRecord(pid, "churn:1", {"x": i}, {"y": 0}) for i, pid in
                                    enumerate(ids)])
    return ids


def labels(project: Project) -> dict[str, object]:
    return {p.id: p.label for p in project.stores.predictions.recent() if p.labeled_at is not None}


def conveyor(*args: str, cwd: Path, code: int = 0, env: dict[str, str] | None = None
             ) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([sys.executable, "-m", "conveyor", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120, env=env)
    assert done.returncode == code, done.stderr
    return done


def test_a_labels_file_is_joined_by_id_and_every_row_is_accounted_for(tmp_path: Path) -> None:
    with Project.init(tmp_path / "p") as project:
        ids = log_predictions(project, 5)
        project.stores.predictions.add_feedback({ids[4]: 1})  # labelled before: stays as it is
    pd.DataFrame({"pid": [ids[0], ids[1], ids[1], ids[2], ids[2], "nope", ids[3], ids[4], ""],
                  "outcome": [1, 0, 0, 1, 0, 1, None, 0, 1]}).to_csv(tmp_path / "labels.csv", index=False)

    done = conveyor("feedback", "ingest", str(tmp_path / "labels.csv"), "--id-column", "pid", "--label-column",
                    "outcome", "--json", "--project", str(tmp_path / "p"), cwd=tmp_path)
    report = json.loads(done.stdout)
    assert {k: report[k] for k in ("rows", "labelled", "not_updated", "duplicates", "conflicting",
                                   "missing_label")} == {"rows": 9, "labelled": 3, "not_updated": 2,
                                                         "duplicates": 2, "conflicting": 1, "missing_label": 2}
    assert sorted(report["examples"]["not_updated"]) == sorted(["nope", ids[4]])
    assert report["examples"]["conflicting"] == [ids[2]]
    with Project.open(tmp_path / "p") as project:
        assert labels(project) == {ids[0]: 1, ids[1]: 0, ids[2]: 1, ids[4]: 1}  # the first row of an id wins

    again = json.loads(conveyor("feedback", "ingest", str(tmp_path / "labels.csv"), "--id-column", "pid",
                                "--label-column", "outcome", "--json", "--project", str(tmp_path / "p"),
                                cwd=tmp_path).stdout)
    assert (again["labelled"], again["not_updated"]) == (0, 5)  # written once


def test_the_table_for_people_counts_the_rows(tmp_path: Path) -> None:
    with Project.init(tmp_path / "p") as project:
        ids = log_predictions(project, 3)
    pd.DataFrame({"id": [*ids, "ghost"], "label": ["a", "b", "c", "d"]}).to_parquet(tmp_path / "labels.parquet")
    done = conveyor("feedback", "ingest", str(tmp_path / "labels.parquet"), "--project", str(tmp_path / "p"),
                    cwd=tmp_path)
    assert "Labels from labels.parquet" in done.stdout
    assert "not updated: ghost" in done.stdout
    with Project.open(tmp_path / "p") as project:
        assert labels(project) == dict(zip(ids, ["a", "b", "c"], strict=True))


def test_ids_that_look_like_numbers_stay_text(tmp_path: Path) -> None:
    with Project.init(tmp_path / "p") as project:
        project.stores.predictions.log([PredictionRecord("007", "churn:1", {}, {})])
        (tmp_path / "labels.csv").write_text("id,label\n007,1\n")
        assert project.feedback.ingest(tmp_path / "labels.csv").labelled == 1
        assert labels(project) == {"007": 1}


@pytest.mark.parametrize(("content", "args", "expected"), [
    ("pid,label\np000,1\n", (), "The labels file has no column 'id'"),
    ("id,label\np000,1\n", ("--label-column", "y"), "no column 'y'"),
    ("", (), "empty"),
    ("id,label\n", (), "no rows"),
    ("id,label\np000,1\n", ("--id-column", "label"), "name the same column"),
])
def test_bad_labels_files_exit_2_and_change_nothing(tmp_path: Path, content: str, args: tuple[str, ...],
                                                    expected: str) -> None:
    with Project.init(tmp_path / "p") as project:
        log_predictions(project, 1)
    (tmp_path / "labels.csv").write_text(content)
    done = conveyor("feedback", "ingest", str(tmp_path / "labels.csv"), *args, "--project", str(tmp_path / "p"),
                    cwd=tmp_path, code=2)
    assert expected in done.stderr
    assert "Traceback" not in done.stderr
    with Project.open(tmp_path / "p") as project:
        assert labels(project) == {}


def test_a_missing_file_names_the_path(tmp_path: Path) -> None:
    Project.init(tmp_path / "p").close()
    done = conveyor("feedback", "ingest", str(tmp_path / "nothere.csv"), "--project", str(tmp_path / "p"),
                    cwd=tmp_path, code=2)
    assert "nothere.csv" in done.stderr


def test_relabel_needs_an_approver_once_authentication_is_on(tmp_path: Path, monkeypatch) -> None:
    with Project.init(tmp_path / "p") as project:
        ids = log_predictions(project, 2)
        project.feedback.add({ids[0]: 1, ids[1]: 1})
        scientist = add_identity(project.stores, "sam", "scientist", actor="test").secret
        approver = add_identity(project.stores, "ann", "approver", actor="test").secret

        monkeypatch.setenv("CONVEYOR_TOKEN", scientist)
        with pytest.raises(PermissionDeniedError, match=r"feedback\.relabel"):
            project.feedback.add({ids[0]: 0}, relabel=True)
        assert labels(project) == {ids[0]: 1, ids[1]: 1}

        monkeypatch.setenv("CONVEYOR_TOKEN", approver)
        assert project.feedback.add({ids[0]: 0}, relabel=True).labelled == 1
        assert labels(project) == {ids[0]: 0, ids[1]: 1}
        entry = project.models.audit()[-1]
        assert (entry.actor, entry.action, entry.details) == ("ann", "feedback.relabel", {"rows": 1, "labelled": 1})


def test_labels_must_be_scalars(tmp_path: Path) -> None:
    with Project.init(tmp_path / "p") as project:
        ids = log_predictions(project, 1)
        with pytest.raises(BadInputError, match="number, text or true/false"):
            project.feedback.add({ids[0]: [1, 2]})
        with pytest.raises(BadInputError, match="No labels"):
            project.feedback.add({})
        assert labels(project) == {}


def test_bulk_labels_on_postgresql(postgres_db_url: str, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("CONVEYOR_DB_URL", postgres_db_url)
    with Project.init(tmp_path / "pg") as project:
        ids = log_predictions(project, 120, prefix="pg")
        table = pd.DataFrame({"id": ids + ids[:10] + ["ghost"], "label": [i % 2 for i in range(131)]})
        seen: list[int] = []
        report = project.feedback.ingest(table, on_rows=seen.append)
        assert (report.rows, report.labelled, report.duplicates, report.not_updated) == (131, 120, 10, 1)
        assert seen[-1] == 131
        assert labels(project) == {pid: i % 2 for i, pid in enumerate(ids)}
