"""The `conveyor` command as users and scripts call it: real subprocesses, exit codes, --json, clear errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from sklearn.datasets import load_breast_cancer


def conveyor(*args: str, cwd: Path, check_code: int | None = 0) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "conveyor", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300, env={**os.environ, "CONVEYOR_USER": "tester"})
    if check_code is not None:
        assert done.returncode == check_code, f"exit {done.returncode}\nstdout: {done.stdout}\nstderr: {done.stderr}"
    return done


def as_json(done: subprocess.CompletedProcess):
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = tmp_path_factory.mktemp("proj")
    conveyor("init", str(root), cwd=root)
    frame = load_breast_cancer(as_frame=True).frame
    frame.columns = [c.replace(" ", "_") for c in frame.columns]
    frame.to_csv(root / "cancer.csv", index=False)
    # new data that drifts (mean_radius) and whose labels mean the opposite: the champion is now wrong, so a
    # challenger trained on it must win and be promoted
    shifted = frame.assign(mean_radius=frame["mean_radius"] * 1.6, target=1 - frame["target"])
    shifted.to_csv(root / "shifted.csv", index=False)
    return root


def test_init_takes_the_folder_as_path_or_project(tmp_path):
    created = as_json(conveyor("init", "--project", str(tmp_path / "a"), "--name", "first", "--json", cwd=tmp_path))
    assert created["root"] == str(tmp_path / "a") and (tmp_path / "a" / "conveyor.yaml").is_file()
    twice = conveyor("init", str(tmp_path / "b"), "--project", str(tmp_path / "c"), cwd=tmp_path, check_code=2)
    assert "Give the folder once" in twice.stderr and not (tmp_path / "b").exists()


def test_a_mistake_in_conveyor_yaml_exits_2_naming_the_key(tmp_path):
    conveyor("init", str(tmp_path), cwd=tmp_path)
    (tmp_path / "conveyor.yaml").write_text("name: p\ntrain: {budjet: 60s}\n")
    done = conveyor("models", "list", "--json", cwd=tmp_path, check_code=2)
    assert as_json(done)["field"] == "train.budjet"
    assert done.stderr.strip() == "error: Unknown key train.budjet in conveyor.yaml. Did you mean train.budget?"
    (tmp_path / "conveyor.yaml").write_text("name: p\npolicy: {window: 300}\n")
    moved = conveyor("models", "list", cwd=tmp_path)
    assert moved.stderr.strip() == ("warning: conveyor.yaml: policy.window is deprecated; write monitor.window "
                                    "instead (policy.window stops working in 0.3).")


def test_version_is_fast_and_plain(tmp_path):
    done = conveyor("--version", cwd=tmp_path)
    assert done.stdout.startswith("conveyor ")


def test_the_loop_through_the_cli(project):
    first = as_json(conveyor("data", "ingest", "cancer.csv", "--name", "cancer", "--json", cwd=project))
    assert first["name"] == "cancer" and len(first["version"]) == 64 and first["created"] is True
    again = as_json(conveyor("data", "ingest", "cancer.csv", "--name", "cancer", "--json", cwd=project))
    assert again["version"] == first["version"] and again["created"] is False

    trained = as_json(conveyor("train", "cancer", "--target", "target", "--trials", "3", "--budget", "60s",
                               "--json", cwd=project))
    assert trained["model_version"] == "cancer:1" and trained["metrics"]["roc_auc"] > 0.9
    runs = as_json(conveyor("runs", "list", "--json", cwd=project))
    assert runs[0]["id"] == trained["run"] and runs[0]["dataset"] == f"cancer@{first['version']}"

    promoted = as_json(conveyor("models", "promote", "cancer:1", "--alias", "champion", "--json", cwd=project))
    assert promoted == {"model": "cancer", "alias": "champion", "version": 1, "previous": None}
    shown = as_json(conveyor("models", "show", "cancer@champion", "--json", cwd=project))
    assert shown["lineage"]["run"] == trained["run"] and shown["aliases"] == ["champion"]

    scored_path = project / "scored.csv"
    conveyor("score", "cancer@champion", "cancer.csv", str(scored_path), cwd=project)
    scored = pd.read_csv(scored_path)
    assert {"prediction", "proba_0", "proba_1"} <= set(scored.columns)
    assert np.allclose(scored["proba_0"] + scored["proba_1"], 1.0)

    conveyor("data", "ingest", "shifted.csv", "--name", "cancer", cwd=project)
    report = as_json(conveyor("monitor", "cancer@champion", "--current", "cancer@latest", "--json", cwd=project))
    assert report["drift"] is True and report["columns"]["mean_radius"]["drifted"] is True
    assert report["columns"]["mean_texture"]["drifted"] is False
    failed = conveyor("monitor", "cancer@champion", "--current", "cancer@latest", "--fail-on-drift", "--json",
                      cwd=project, check_code=1)
    assert as_json(failed)["drift"] is True  # still exactly one JSON document on stdout
    assert "Drift found" in failed.stderr and "mean_radius" in failed.stderr

    decision = as_json(conveyor("retrain", "cancer", "--trials", "2", "--json", cwd=project))
    assert decision["decision"] == "promoted" and decision["reason"]
    assert decision["challenger_score"] > 0.9 > 0.1 > decision["champion_score"]
    assert as_json(conveyor("models", "show", "cancer@champion", "--json", cwd=project))["model_version"] == "cancer:2"

    listed = as_json(conveyor("models", "list", "--json", cwd=project))
    assert [m["model_version"] for m in listed] == ["cancer:1", "cancer:2"]
    audit = as_json(conveyor("models", "audit", "--json", cwd=project))
    assert audit["verified"] is True and {e["actor"] for e in audit["entries"]} == {"tester"}

    human = conveyor("models", "list", cwd=project)
    assert "cancer:1" in human.stdout and "Traceback" not in human.stderr


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["data", "ingest", "missing.csv", "--name", "x"], "File not found"),
        (["data", "show", "nope"], "Unknown dataset 'nope'"),
        (["models", "show", "ghost@champion"], "Unknown model 'ghost'"),
        (["train", "cancer", "--target", "no_such_column", "--trials", "1"], "Unknown target column"),
        (["train", "cancer", "--target", "target", "--metric", "rmse", "--trials", "1"], "does not fit"),
        (["train", "cancer", "--target", "target", "--budget", "forever"], "Invalid budget"),
        (["runs", "show", "0000000000"], "Unknown run"),
        (["models", "promote", "cancer:99", "--alias", "champion"], "no version 99"),
        (["monitor", "cancer@champion", "--current", "cancer@zzzz"], "no version 'zzzz'"),
        (["score", "cancer@champion", "cancer.csv", "out.xlsx"], "unknown extension"),
        (["data", "list", "--bogus-flag"], "No such option"),
        (["data", "list", "--project", "/nonexistent/project"], "No project folder"),
    ],
)
def test_bad_input_exits_2_with_one_clear_line(project, args, needle):
    conveyor("data", "ingest", "cancer.csv", "--name", "cancer", cwd=project)
    done = conveyor(*args, cwd=project, check_code=2)
    assert needle in done.stderr
    assert "Traceback" not in done.stderr


def test_errors_with_json_are_a_json_document_too(project):
    done = conveyor("models", "show", "ghost", "--json", cwd=project, check_code=2)
    assert as_json(done) == {"error": "not_found", "message": done.stderr.strip().removeprefix("error: "),
                             "exit_code": 2}


def test_usage_errors_with_json_are_a_json_document_too(project):
    done = conveyor("data", "ingest", "--json", cwd=project, check_code=2)
    assert as_json(done)["error"] == "usage" and "source" in done.stderr.lower()


def test_empty_file_is_refused_and_nothing_is_written(project):
    (project / "empty.csv").write_text("")
    before = as_json(conveyor("data", "list", "--json", cwd=project))
    done = conveyor("data", "ingest", "empty.csv", "--name", "empty", cwd=project, check_code=2)
    assert "is empty" in done.stderr
    assert as_json(conveyor("data", "list", "--json", cwd=project)) == before


def test_an_edited_or_removed_newest_audit_row_fails_verification(tmp_path):
    conveyor("init", str(tmp_path), cwd=tmp_path)
    frame = load_breast_cancer(as_frame=True).frame.iloc[:, [0, 1, 2, -1]]
    frame.columns = ["a", "b", "c", "target"]
    frame.to_csv(tmp_path / "d.csv", index=False)
    conveyor("data", "ingest", "d.csv", "--name", "d", cwd=tmp_path)
    conveyor("train", "d", "--target", "target", "--trials", "1", cwd=tmp_path)
    conveyor("models", "promote", "d:1", "--alias", "champion", cwd=tmp_path)
    engine = sa.create_engine(f"sqlite:///{tmp_path / '.conveyor' / 'conveyor.db'}")
    with engine.begin() as conn:
        newest = conn.execute(sa.text("SELECT * FROM audit ORDER BY seq DESC LIMIT 1")).mappings().one()
        conn.execute(sa.text("DELETE FROM audit WHERE seq = :seq"), {"seq": newest["seq"]})
    removed = conveyor("models", "audit", cwd=tmp_path, check_code=1)
    assert "d@champion" in removed.stderr and "never recorded" in removed.stderr
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO audit VALUES (:seq, :at, :actor, :action, :subject, :details, :prev_hash, "
                             ":hash, :keyed)"), dict(newest))
        conn.execute(sa.text("UPDATE audit SET actor = 'mallory' WHERE seq = 1"))
    engine.dispose()
    done = conveyor("models", "audit", cwd=tmp_path, check_code=1)
    assert "Audit row 1" in done.stderr and "altered" in done.stderr
