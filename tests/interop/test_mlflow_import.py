"""`conveyor import mlflow`: a store the real MLflow client logged (experiments, runs with metric history, artifacts,
a registered model with two versions, aliases and a stage) reads back equal in Conveyor; a second import adds
nothing; a bad --from exits 2 with a clear message."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conveyor.interop.mlflow.importer import import_mlflow
from conveyor.project import Project
from conveyor.store import Stores

pytestmark = pytest.mark.slow  # the real MLflow client logs a store, then two imports read it

MLFLOW_READ = """
import json, os, sys, tempfile, warnings
warnings.filterwarnings("ignore")
from mlflow.tracking import MlflowClient
client = MlflowClient(tracking_uri=sys.argv[1], registry_uri=sys.argv[1])
out = {"runs": {}, "versions": {}, "aliases": {}}
for exp in client.search_experiments():
    for run in client.search_runs([exp.experiment_id], max_results=1000):
        rid = run.info.run_id
        files = {}
        with tempfile.TemporaryDirectory() as tmp:
            if client.list_artifacts(rid):
                client.download_artifacts(rid, "", tmp)
            for root, _, names in os.walk(tmp):
                for name in names:
                    path = os.path.join(root, name)
                    files[os.path.relpath(path, tmp)] = open(path).read()
        out["runs"][rid] = {
            "experiment": exp.name, "name": run.info.run_name, "status": run.info.status,
            "start_time": run.info.start_time, "end_time": run.info.end_time,
            "params": run.data.params, "tags": run.data.tags, "artifacts": files,
            "metrics": {k: [[m.value, m.step, m.timestamp] for m in client.get_metric_history(rid, k)]
                        for k in run.data.metrics}}
for mv in client.search_model_versions("name = 'churn-model'"):
    out["versions"][mv.version] = mv.run_id
out["aliases"] = client.get_registered_model("churn-model").aliases
print(json.dumps(out))
"""


def conveyor(*args: str, cwd: Path, code: int = 0) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "conveyor", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == code, done.stderr[-3000:]
    return done


@pytest.fixture(scope="module")
def expected(run_in_mlflow, mlflow_store) -> dict:
    """What the MLflow client reads from its own store."""
    return json.loads(run_in_mlflow(MLFLOW_READ, mlflow_store["uri"], cwd=mlflow_store["folder"]).splitlines()[-1])


@pytest.fixture(scope="module")
def imported(mlflow_python, mlflow_store, tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("project")
    conveyor("init", str(root), cwd=root)
    args = ("import", "mlflow", "--from", mlflow_store["uri"], "--mlflow-python", str(mlflow_python), "--json")
    first = json.loads(conveyor(*args, cwd=root).stdout)
    before = counts(root)
    second = conveyor(*args[:-1], cwd=root)  # the summary table this time
    return {"root": root, "first": first, "before": before, "after": counts(root), "second": second.stdout}


def counts(root: Path) -> dict[str, int]:
    """Rows of every kind an import writes."""
    with Project.open(root) as project:
        stores = project.stores
        runs = stores.runs.search()
        return {"runs": len(runs), "params": sum(len(r.params) for r in runs),
                "tags": sum(len(r.tags) for r in runs), "artifacts": sum(len(r.artifacts) for r in runs),
                "metric values": sum(len(stores.runs.metric_history(r.id, k)) for r in runs for k in r.metrics),
                "versions": len(stores.registry.versions()), "audit": len(stores.registry.audit_log()),
                "alias changes": sum(len(stores.registry.alias_history("churn-model", a))
                                     for a in stores.registry.aliases("churn-model"))}


def test_runs_read_back_equal_with_full_metric_history_and_artifacts(imported, expected, mlflow_store):
    with Project.open(imported["root"]) as project:
        stores = project.stores
        runs = {r.id: r for r in stores.runs.search()}
        assert set(runs) == set(expected["runs"]) and mlflow_store["deleted"][0] not in runs
        for rid, want in expected["runs"].items():
            run = runs[rid]
            assert (run.name, run.status) == (want["name"], want["status"].lower())
            assert round(run.started_at * 1000) == want["start_time"]
            assert round(run.ended_at * 1000) == want["end_time"]
            assert run.params == want["params"]
            assert {k: run.tags[k] for k in want["tags"]} == want["tags"]
            assert stores.runs.get_experiment(run.experiment).name == want["experiment"]
            for key, history in want["metrics"].items():
                got = [[m.value, m.step, round(m.timestamp * 1000)] for m in stores.runs.metric_history(rid, key)]
                assert got == history, (rid, key)
            assert {name: stores.artifacts.get_bytes(digest).decode() for name, digest in run.artifacts.items()} \
                == want["artifacts"]
        assert sum(len(h) for want in expected["runs"].values() for h in want["metrics"].values()) \
            == imported["first"]["added"]["metric values"] > len(expected["runs"])
        assert any(len(h) > 2 for want in expected["runs"].values() for h in want["metrics"].values())


def test_model_versions_keep_their_run_their_aliases_and_arrive_untrusted(imported, expected, mlflow_python):
    root = imported["root"]
    assert imported["first"]["versions"] == {"churn-model/1": "churn-model:1", "churn-model/2": "churn-model:2"}
    with Project.open(root) as project:
        versions = {v.version: v for v in project.stores.registry.versions("churn-model")}
        assert {str(n): v.run_id for n, v in versions.items()} == expected["versions"]  # lineage run -> version
        assert all(v.meta["untrusted"] and v.flavor == "sklearn" for v in versions.values())
        assert project.stores.registry.aliases("churn-model") == {
            **{alias: int(n) for alias, n in expected["aliases"].items()}, "challenger": 1}  # Staging -> challenger
        (note,) = project.stores.registry.notes("churn-model")  # MLflow clients of Conveyor read them back
        assert (note.version, note.description, note.tags) == (0, "churn, from MLflow", {"team": "risk"})
        with pytest.raises(Exception, match="models trust churn-model:2"):
            project.models.load("churn-model:2")
    conveyor("models", "trust", "churn-model:2", "--reason", "our own MLflow store", cwd=root)
    with Project.open(root) as project:
        model = project.models.load("churn-model:2").model
        assert list(model.predict(np.array([[0.0, 1.0], [1.0, 0.0]]))) == [0, 1]


def test_a_second_import_adds_nothing(imported):
    first = imported["first"]
    assert all(n > 0 for n in first["added"].values()), first["added"]
    assert imported["after"] == imported["before"]
    assert imported["before"]["metric values"] == first["added"]["metric values"]
    with Project.open(imported["root"]) as project:
        assert project.stores.runs.experiment_by_name("empty-one") is not None
    rows = {line.split("│")[1].strip(): [c.strip() for c in line.split("│")[2:4]]
            for line in imported["second"].splitlines() if line.count("│") >= 4}
    assert rows["metric values"] == ["0", str(first["added"]["metric values"])]
    assert rows["runs"] == ["0", str(first["added"]["runs"])]


@pytest.fixture(scope="module")
def empty_project(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("empty")
    conveyor("init", str(root), cwd=root)
    return root


@pytest.mark.parametrize(("source", "message"), [
    ("sqlite:///nowhere/mlflow.db", "No MLflow database at nowhere/mlflow.db"),
    ("ftp://example.com/store", "Unknown MLflow store 'ftp://example.com/store'"),
    ("not-a-folder", "No MLflow store at 'not-a-folder'"),
    (".", "is not an MLflow file store"),
])
def test_a_bad_from_exits_2_with_a_clear_message(empty_project, source, message):
    done = conveyor("import", "mlflow", "--from", source, cwd=empty_project, code=2)
    assert message in done.stderr and "Traceback" not in done.stderr


FILE_STORE = """
import os, mlflow, warnings
warnings.filterwarnings("ignore")
os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
mlflow.set_tracking_uri("./mlruns")
mlflow.set_experiment("fs-exp")
with mlflow.start_run(run_name="fs-run") as run:
    mlflow.log_param("p", "1")
    mlflow.log_metric("m", 1.0, step=0, timestamp=1000)
    mlflow.log_metric("m", 2.0, step=1, timestamp=2000)
    open("a.txt", "w").write("hello")
    mlflow.log_artifact("a.txt")
print(run.info.run_id)
"""


def test_a_file_store_folder_imports_too(run_in_mlflow, mlflow_python, tmp_path):
    run_id = run_in_mlflow(FILE_STORE, cwd=tmp_path).split()[-1]
    stores = Stores.in_memory()
    summary = import_mlflow(stores, str(tmp_path / "mlruns"), python=str(mlflow_python))
    assert summary.added["runs"] == 1
    run = stores.runs.get(run_id)
    assert (run.name, run.params, stores.runs.get_experiment(run.experiment).name) == ("fs-run", {"p": "1"},
                                                                                         "fs-exp")
    assert [(m.value, m.step, m.timestamp) for m in stores.runs.metric_history(run_id, "m")] == [(1.0, 0, 1.0),
                                                                                                  (2.0, 1, 2.0)]
    assert stores.artifacts.get_bytes(run.artifacts["a.txt"]) == b"hello"


def test_with_authentication_on_a_viewer_may_not_import(tmp_path, mlflow_store, mlflow_python):
    env = {k: v for k, v in os.environ.items() if k not in ("CONVEYOR_TOKEN", "CONVEYOR_BOOTSTRAP_TOKEN_FILE")}

    def cli(*args: str, token: str | None = None, code: int = 0) -> subprocess.CompletedProcess:
        done = subprocess.run([sys.executable, "-m", "conveyor", *args], cwd=tmp_path, capture_output=True, text=True,
                              timeout=600, env={**env, **({"CONVEYOR_TOKEN": token} if token else {})})
        assert done.returncode == code, done.stderr[-2000:]
        return done

    cli("init", str(tmp_path))
    admin = json.loads(cli("users", "add", "ana", "--role", "admin", "--json").stdout)["token"]
    viewer = cli("users", "add", "bob", "--role", "viewer", token=admin).stdout.strip()
    refused = cli("import", "mlflow", "--from", mlflow_store["uri"], "--mlflow-python", str(mlflow_python),
                  token=viewer, code=2)
    assert "'bob' (viewer) may not do runs.write" in refused.stderr
    with Project.open(tmp_path) as project:
        assert project.stores.runs.search() == [] and project.stores.registry.versions() == []
