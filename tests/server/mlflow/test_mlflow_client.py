"""The real MLflow client (in its own venv, ``conveyor.testing.mlflow_env``) logs a realistic training script into
``conveyor server`` on 127.0.0.1: everything it logged reads back equal through MLflow and through Conveyor's own
API, the registered model is stored untrusted until `models trust`, then served by Conveyor's model server."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from conveyor.core.errors import PermissionDeniedError
from conveyor.project import Project
from conveyor.serve import running_server
from conveyor.serve.app import create_app as create_serve_app
from conveyor.server import create_app
from conveyor.testing.mlflow_env import mlflow_env, mlflow_python

SCRIPT = Path(__file__).with_name("client_script.py")
MODEL = "churn-mlflow"


@pytest.fixture(scope="module")
def tracking(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Project, str]]:
    project = Project.init(tmp_path_factory.mktemp("mlflow-project"), name="mlflow")
    try:
        with running_server(create_app(project)) as url:
            yield project, url
    finally:
        project.close()


def run_script(python: Path, url: str, workdir: Path, model: str) -> dict[str, Any]:
    out = workdir / "out.json"
    done = subprocess.run([str(python), str(SCRIPT), model, str(out)], cwd=workdir, capture_output=True, text=True,
                          timeout=600, env={**mlflow_env(), "MLFLOW_TRACKING_URI": url})
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads(out.read_text())


@pytest.fixture(scope="module")
def logged(tracking: tuple[Project, str], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return run_script(mlflow_python(3), tracking[1], tmp_path_factory.mktemp("mlflow3-script"), MODEL)


def check_read_back(out: dict[str, Any], project: Project, model: str) -> None:
    """What the MLflow client read back equals what it logged, and Conveyor's own API holds the same."""
    assert out["status"] == "FINISHED" and out["run_name"] == "manual"
    assert out["params"] == {"C": "1.0", "solver": "lbfgs", "features": "3"}
    assert out["metrics"] == {"loss": 0.2, "auc": 0.91, "accuracy": 0.88}
    assert out["tags"] == {"team": "risk"}
    assert out["history"] == [[step, 1.0 / (step + 1)] for step in range(5)]
    # MLflow 2 logs the model into the run's artifacts; MLflow 3 into a logged model of its own
    assert out["artifacts"] == (["notes.txt"] if out["mlflow"].startswith("3.") else ["model", "notes.txt"])
    assert out["notes"] == "trained by the MLflow compatibility test\n"
    assert out["auto_params"]["C"] == "0.5" and out["auto_params"]["max_iter"] == "200"
    assert "training_accuracy_score" in out["auto_metrics"]
    assert out["version"] == out["alias_version"] == "1"
    assert out["alias_run"] == out["run_id"]
    assert out["predicted"] == out["expected"]
    assert out["found"] == [out["run_id"]]  # the filter keeps the manual run only
    assert out["all_runs"] == [out["auto_run_id"], out["run_id"]]  # oldest first, the logged model's run left out

    run = project.runs.get(out["run_id"])  # an ordinary Conveyor run
    assert (run.name, run.status, run.experiment) == ("manual", "finished", out["experiment_id"])
    assert run.params == out["params"] and run.metrics == out["metrics"]
    assert [(m.step, m.value) for m in project.runs.metric_history(run.id, "loss")] == \
        [tuple(p) for p in out["history"]]
    assert project.stores.artifacts.get_bytes(run.artifacts["notes.txt"]) == out["notes"].encode()
    listed = {r.id for r in project.runs.list(experiment=model)}  # the script names its experiment after it
    assert {out["run_id"], out["auto_run_id"]} <= listed
    assert out["run_id"] not in {r.id for r in project.runs.list(experiment="Default")}
    version = project.models.get(f"{model}@champion")
    assert (version.version, version.run_id, version.flavor) == (1, out["run_id"], "sklearn")
    assert version.meta["untrusted"] is True
    assert [i["name"] for i in version.signature["inputs"]] == ["age", "income", "tenure"]
    actions = [(e.action, e.subject) for e in project.models.audit()]
    assert ("register", f"{model}:1") in actions and ("promote", f"{model}@champion") in actions
    check_edits(out, project, model)


def check_edits(out: dict[str, Any], project: Project, model: str) -> None:
    """Tags, descriptions, deletes and renames through the client: kept where Conveyor keeps them, refused in
    MLflow's error shape where it does not (an aliased version, a rename), deletes audited."""
    edits = out["edits"]
    assert (edits["model_tags"], edits["model_description"]) == ({"owner": "risk"}, "churn model")
    assert (edits["version_tags"], edits["version_description"]) == ({"validated": "yes"}, "first fit")
    assert edits["second"] == "2" and edits["versions_left"] == ["1"]
    assert edits["copied"] == [f"{model}-copy", "1", out["run_id"]]  # registered again under another name
    assert edits["delete_aliased"] == "INVALID_STATE" and edits["rename"] == "INVALID_STATE"
    assert edits["scratch_after_delete"] == "RESOURCE_DOES_NOT_EXIST"
    assert edits["experiment_deleted"] == "deleted"
    tags = {"stage": "dev"} if out["mlflow"].startswith("3.") else {"k": "v", "stage": "dev"}
    assert edits["experiment"] == [f"{model}-renamed", "active", tags]
    assert project.models.get(f"{model}:2").version == 2  # hidden from MLflow clients, kept by Conveyor
    actions = [(e.action, e.subject) for e in project.models.audit()]
    assert ("version.delete", f"{model}:2") in actions and ("model.delete", f"{model}-scratch") in actions
    assert sum(a == "experiment.delete" for a, _ in actions) >= 1


def test_real_mlflow3_client_logs_registers_loads_and_searches(logged: dict[str, Any],
                                                                 tracking: tuple[Project, str]) -> None:
    assert logged["mlflow"].startswith("3.")
    check_read_back(logged, tracking[0], MODEL)


def test_conveyor_rest_api_lists_the_mlflow_runs_by_experiment(logged: dict[str, Any],
                                                                  tracking: tuple[Project, str]) -> None:
    page = httpx.get(f"{tracking[1]}/api/v1/runs", params={"experiment": "churn-mlflow", "limit": 10}).json()
    ids = [item["id"] for item in page["items"]]
    assert logged["run_id"] in ids and logged["auto_run_id"] in ids
    assert {item["experiment"] for item in page["items"]} == {logged["experiment_id"]}
    listed = subprocess.run([sys.executable, "-m", "conveyor", "runs", "list", "--experiment", "churn-mlflow",
                             "--json", "--project", str(tracking[0].root)], capture_output=True, text=True,
                            timeout=120)
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert {logged["run_id"], logged["auto_run_id"]} <= {r["id"] for r in rows}
    assert {r["experiment"] for r in rows} == {logged["experiment_id"]}


def test_model_from_mlflow_is_untrusted_until_trusted_then_served(logged: dict[str, Any],
                                                                   tracking: tuple[Project, str]) -> None:
    project = tracking[0]
    with pytest.raises(PermissionDeniedError, match="models trust"):
        project.models.load(f"{MODEL}:1")
    project.models.trust(f"{MODEL}:1", reason="logged by our own training script")
    with running_server(create_serve_app(project.stores, f"{MODEL}@champion")) as url:
        answer = httpx.post(f"{url}/invocations", json={"dataframe_split": {
            "columns": ["age", "income", "tenure"], "data": logged["rows"]}})
    assert answer.status_code == 200, answer.text
    assert answer.json()["predictions"] == logged["expected"]


@pytest.mark.slow
def test_real_mlflow2_client(tracking: tuple[Project, str], tmp_path: Path) -> None:
    out = run_script(mlflow_python(2), tracking[1], tmp_path, "churn-mlflow2")
    assert out["mlflow"].startswith("2.")
    check_read_back(out, tracking[0], "churn-mlflow2")


def _conveyor_models(project: Project, *args: str, server: str = "") -> str:
    env = {**os.environ, "COLUMNS": "250"} | ({"CONVEYOR_SERVER": server} if server else {})
    done = subprocess.run([sys.executable, "-m", "conveyor", "models", *args, "--project", str(project.root)],
                          capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_a_version_deleted_through_mlflow_is_marked_deleted_in_conveyor_models_and_the_ui(
        logged: dict[str, Any], tracking: tuple[Project, str]) -> None:
    project, url = tracking
    assert logged["edits"]["second"] == "2"  # the script deleted MODEL:2 through the MLflow client
    rows = {r["model_version"]: r for r in json.loads(_conveyor_models(project, "list", "--json"))}
    assert rows[f"{MODEL}:2"]["deleted"] is True and rows[f"{MODEL}:1"]["deleted"] is False
    cells = [[c.strip() for c in line.split("\u2502")[1:-1]] for line in _conveyor_models(project, "list").splitlines()]
    states = {row[0]: row[1] for row in cells if row and row[0].startswith(f"{MODEL}:")}
    assert states == {f"{MODEL}:1": "active", f"{MODEL}:2": "deleted"}
    assert json.loads(_conveyor_models(project, "show", f"{MODEL}:2", "--json"))["deleted"] is True
    assert "DELETED" in _conveyor_models(project, "show", f"{MODEL}:2")
    assert "DELETED" not in _conveyor_models(project, "show", f"{MODEL}:1")
    # Conveyor's API says it too, and a CLI pointed at the server reads it from there
    assert httpx.get(f"{url}/api/v1/models/deleted", params={"name": MODEL}).json() == {"items": [f"{MODEL}:2"]}
    remote = {r["model_version"]: r["deleted"] for r in json.loads(_conveyor_models(project, "list", "--json",
                                                                                     server=url))}
    assert remote[f"{MODEL}:2"] is True and remote[f"{MODEL}:1"] is False
    assert json.loads(_conveyor_models(project, "show", f"{MODEL}:2", "--json", server=url))["deleted"] is True
    # the web UI: the model page marks the row and leaves it out of the promote form; the version page says it
    page = httpx.get(f"{url}/models/{MODEL}", timeout=30).text
    rows_html = dict(re.findall(r'<tr[^>]*><td><a href="/models/[^/"]+/(\d+)">[^<]+</a>(.*?)</td>', page))
    assert "deleted" in rows_html["2"] and "deleted" not in rows_html["1"]
    form = re.search(r'<select name="version">(.*?)</select>', page, re.S)
    assert form is not None and re.findall(r'<option value="(\d+)"', form.group(1)) == ["1"]
    assert 'id="deleted"' in httpx.get(f"{url}/models/{MODEL}/2", timeout=30).text
    assert 'id="deleted"' not in httpx.get(f"{url}/models/{MODEL}/1", timeout=30).text
    assert "(1 deleted)" in httpx.get(f"{url}/models", timeout=30).text
