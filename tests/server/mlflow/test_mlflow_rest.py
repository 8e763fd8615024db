"""The MLflow routes over HTTP without the MLflow client: MLflow's error shape and codes, the caller the server
authenticated (never MLflow's ``user_id``), soft deletes, search filters and paging, stages, gates on set-alias,
and every route declaring an action of the role check."""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from conveyor.project import Project
from conveyor.security.roles import ACTIONS
from conveyor.serve import running_server
from conveyor.server import create_app
from conveyor.server.mlflow import actions
from conveyor.server.mlflow import artifacts as mlflow_artifacts

API = "/api/2.0/mlflow"
MLMODEL = """flavors:
  sklearn:
    pickled_model: model.pkl
    serialization_format: cloudpickle
signature:
  inputs: '[{"type": "double", "name": "a", "required": true}, {"type": "long", "name": "b", "required": true}]'
"""


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Project, httpx.Client]]:
    root = tmp_path_factory.mktemp("mlflow-rest")
    Project.init(root, name="rest").close()
    with (root / "conveyor.yaml").open("a") as config:
        config.write("\ngates:\n  min:\n    auc: 0.95\n")
    project = Project.open(root)
    try:
        with running_server(create_app(project)) as url, httpx.Client(base_url=url) as client:
            yield project, client
    finally:
        project.close()


def call(client: httpx.Client, method: str, path: str, body: dict[str, Any] | None = None, *,
         status: int = 200, prefix: str = API) -> dict[str, Any]:
    if method == "GET":
        answer = client.get(prefix + path, params=body)
    else:
        answer = client.request(method, prefix + path, json=body)
    assert answer.status_code == status, answer.text
    return answer.json()


def new_run(client: httpx.Client, experiment: str, **fields: Any) -> dict[str, Any]:
    return call(client, "POST", "/runs/create", {"experiment_id": experiment, **fields})["run"]


def test_errors_have_mlflow_shape_and_codes(served: tuple[Project, httpx.Client]) -> None:
    _, client = served
    missing = call(client, "GET", "/runs/get", {"run_id": "0" * 32}, status=404)
    assert missing == {"error_code": "RESOURCE_DOES_NOT_EXIST", "message": f"Run with id={'0' * 32} not found"}
    call(client, "POST", "/experiments/create", {"name": "dupe"})
    again = call(client, "POST", "/experiments/create", {"name": "dupe"}, status=400)
    assert again["error_code"] == "RESOURCE_ALREADY_EXISTS"
    assert call(client, "GET", "/experiments/get-by-name", {"experiment_name": "nope"},
                status=404)["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    assert call(client, "POST", "/runs/create", {"experiment_id": "999"}, status=404)["error_code"] == \
        "RESOURCE_DOES_NOT_EXIST"
    assert call(client, "GET", "/no/such/endpoint", status=404)["error_code"] == "ENDPOINT_NOT_FOUND"
    assert call(client, "POST", "/runs/log-metric", {"run_id": "x" * 32, "key": "k"},
                status=404)["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    bad = client.post(API + "/runs/create", content=b"[1, 2]", headers={"content-type": "application/json"})
    assert (bad.status_code, bad.json()["error_code"]) == (400, "INVALID_PARAMETER_VALUE")


def test_ajax_prefix_serves_the_same_routes(served: tuple[Project, httpx.Client]) -> None:
    _, client = served
    answer = call(client, "GET", "/experiments/get", {"experiment_id": "0"}, prefix="/ajax-api/2.0/mlflow")
    assert answer["experiment"]["name"] == "Default"


def test_user_id_is_never_trusted(served: tuple[Project, httpx.Client], monkeypatch: pytest.MonkeyPatch) -> None:
    project, client = served
    monkeypatch.setenv("CONVEYOR_USER", "alice")  # the server's own (unauthenticated) actor
    run = new_run(client, "0", user_id="mallory", run_name="who")
    assert run["info"]["user_id"] == "alice"
    assert project.runs.get(run["info"]["run_id"]).tags["conveyor.actor"] == "alice"
    refused = call(client, "POST", "/runs/set-tag", {"run_id": run["info"]["run_id"], "key": "conveyor.actor",
                                                    "value": "mallory"}, status=400)
    assert refused["error_code"] == "INVALID_PARAMETER_VALUE"
    assert project.runs.get(run["info"]["run_id"]).tags["conveyor.actor"] == "alice"


def test_params_cannot_change(served: tuple[Project, httpx.Client]) -> None:
    _, client = served
    run_id = new_run(client, "0")["info"]["run_id"]
    call(client, "POST", "/runs/log-parameter", {"run_id": run_id, "key": "lr", "value": "0.1"})
    call(client, "POST", "/runs/log-parameter", {"run_id": run_id, "key": "lr", "value": "0.1"})
    changed = call(client, "POST", "/runs/log-parameter", {"run_id": run_id, "key": "lr", "value": "0.2"},
                   status=400)
    assert changed["error_code"] == "INVALID_PARAMETER_VALUE" and "Changing param values" in changed["message"]


def test_search_filters_orders_pages_and_hides_deleted(served: tuple[Project, httpx.Client]) -> None:
    project, client = served
    experiment = call(client, "POST", "/experiments/create", {"name": "search"})["experiment_id"]
    ids = []
    for i, model in enumerate(["rf", "lr", "rf", "gbm"]):
        run_id = new_run(client, experiment, run_name=f"r{i}", start_time=1_000_000 + i)["info"]["run_id"]
        call(client, "POST", "/runs/log-batch", {"run_id": run_id, "params": [{"key": "model", "value": model}],
                                                 "metrics": [{"key": "auc", "value": 0.7 + i / 10, "step": 0,
                                                              "timestamp": 1}],
                                                 "tags": [{"key": "team", "value": "risk" if i % 2 else "ops"}]})
        ids.append(run_id)

    def search(**fields: Any) -> list[str]:
        return [r["info"]["run_id"] for r in call(client, "POST", "/runs/search",
                                                  {"experiment_ids": [experiment], **fields}).get("runs", [])]

    assert search() == ids[::-1]  # newest first
    assert search(filter="metrics.auc > 0.85") == [ids[3], ids[2]]
    assert search(filter="params.model = 'rf' and metrics.auc >= 0.85") == [ids[2]]
    assert search(filter="tags.team LIKE 'ri%'", order_by=["metrics.auc ASC"]) == [ids[1], ids[3]]
    assert search(filter="attributes.run_name ILIKE 'R0'") == [ids[0]]
    first = call(client, "POST", "/runs/search", {"experiment_ids": [experiment], "max_results": 3})
    rest = call(client, "POST", "/runs/search", {"experiment_ids": [experiment], "max_results": 3,
                                                 "page_token": first["next_page_token"]})
    assert [r["info"]["run_id"] for r in first["runs"] + rest["runs"]] == ids[::-1]
    assert "next_page_token" not in rest
    bad = call(client, "POST", "/runs/search", {"experiment_ids": [experiment], "filter": "metrics.auc >"},
               status=400)
    assert bad["error_code"] == "INVALID_PARAMETER_VALUE"

    call(client, "POST", "/runs/delete", {"run_id": ids[0]})
    assert ids[0] not in search()
    assert search(run_view_type="DELETED_ONLY") == [ids[0]]
    assert project.runs.get(ids[0]).id == ids[0]  # Conveyor keeps it: lineage and audit point at runs
    call(client, "POST", "/runs/restore", {"run_id": ids[0]})
    assert ids[0] in search()


def test_metric_history_pages(served: tuple[Project, httpx.Client]) -> None:
    _, client = served
    run_id = new_run(client, "0")["info"]["run_id"]
    for step in range(5):
        call(client, "POST", "/runs/log-metric", {"run_id": run_id, "key": "loss", "value": step, "step": step,
                                                  "timestamp": 1000 + step})
    first = call(client, "GET", "/metrics/get-history", {"run_id": run_id, "metric_key": "loss", "max_results": 3})
    rest = call(client, "GET", "/metrics/get-history", {"run_id": run_id, "metric_key": "loss", "max_results": 3,
                                                       "page_token": first["next_page_token"]})
    assert [(m["step"], m["value"], m["timestamp"]) for m in first["metrics"] + rest["metrics"]] == \
        [(s, float(s), 1000 + s) for s in range(5)]


def _register(project: Project, client: httpx.Client, name: str, auc: float) -> tuple[str, str]:
    run_id = new_run(client, "0")["info"]["run_id"]
    call(client, "POST", "/runs/log-metric", {"run_id": run_id, "key": "auc", "value": auc, "timestamp": 1})
    model = LogisticRegression().fit(np.array([[0.0, 1], [1.0, 0], [0.5, 1], [0.2, 0]]), [0, 1, 1, 0])
    base = f"{client.base_url}/api/2.0/mlflow-artifacts/artifacts/0/{run_id}/artifacts/model"
    assert httpx.put(f"{base}/MLmodel", content=MLMODEL.encode()).status_code == 200
    assert httpx.put(f"{base}/model.pkl", content=pickle.dumps(model)).status_code == 200
    listed = client.get("/api/2.0/mlflow-artifacts/artifacts", params={"path": f"0/{run_id}/artifacts/model"})
    assert sorted(f["path"] for f in listed.json()["files"]) == ["MLmodel", "model.pkl"]
    if client.get(f"{API}/registered-models/get", params={"name": name}).status_code == 404:
        call(client, "POST", "/registered-models/create", {"name": name})
    version = call(client, "POST", "/model-versions/create", {"name": name, "source": f"runs:/{run_id}/model",
                                                              "run_id": run_id})["model_version"]
    return run_id, version["version"]


def test_set_alias_and_stages_go_through_promote_with_gates(served: tuple[Project, httpx.Client]) -> None:
    project, client = served
    run_id, good = _register(project, client, "gated", auc=0.97)
    registered = project.models.get(f"gated:{good}")
    assert registered.metrics == {"auc": 0.97} and registered.meta["gates"]["passed"] is True
    assert [i["name"] for i in registered.signature["inputs"]] == ["a", "b"]
    assert call(client, "POST", "/registered-models/create", {"name": "gated"}, status=400)["error_code"] == \
        "RESOURCE_ALREADY_EXISTS"
    call(client, "POST", "/registered-models/alias", {"name": "gated", "alias": "champion", "version": good})
    assert project.models.aliases("gated") == {"champion": 1}

    _, bad = _register(project, client, "gated", auc=0.80)  # below gates.min.auc
    refused = call(client, "POST", "/registered-models/alias", {"name": "gated", "alias": "champion",
                                                                "version": bad}, status=409)
    assert refused["error_code"] == "INVALID_PARAMETER_VALUE" and "quality gate" in refused["message"]
    assert project.models.aliases("gated") == {"champion": 1}

    moved = call(client, "POST", "/model-versions/transition-stage", {"name": "gated", "version": good,
                                                                      "stage": "Staging"})["model_version"]
    assert moved["current_stage"] in ("Staging", "Production")
    assert project.models.aliases("gated")["challenger"] == 1
    archived = call(client, "POST", "/model-versions/transition-stage", {"name": "gated", "version": good,
                                                                         "stage": "Archived"}, status=400)
    assert archived["error_code"] == "INVALID_PARAMETER_VALUE"
    by_alias = call(client, "GET", "/registered-models/alias", {"name": "gated", "alias": "champion"})
    assert (by_alias["model_version"]["version"], by_alias["model_version"]["run_id"]) == ("1", run_id)
    call(client, "DELETE", "/registered-models/alias", {"name": "gated", "alias": "challenger"})
    assert "challenger" not in project.models.aliases("gated")
    found = call(client, "GET", "/registered-models/search", {"filter": "name LIKE 'gat%'"})
    assert [m["name"] for m in found["registered_models"]] == ["gated"]
    versions = call(client, "GET", "/model-versions/search", {"filter": "name = 'gated'"})["model_versions"]
    assert sorted(v["version"] for v in versions) == ["1", "2"]


def test_large_artifact_uploads_stream_to_the_store(served: tuple[Project, httpx.Client],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    project, client = served
    monkeypatch.setattr(mlflow_artifacts, "STREAM_ABOVE", 1000)  # this test's files count as large
    run_id = new_run(client, "0")["info"]["run_id"]
    base = f"/api/2.0/mlflow-artifacts/artifacts/0/{run_id}/artifacts"
    sized, unsized = bytes(range(256)) * 200, b"chunked " * 5000
    assert client.put(f"{base}/big.bin", content=sized).status_code == 200
    assert client.put(f"{base}/unsized.txt", content=iter([unsized[:7], unsized[7:]])).status_code == 200
    assert client.get(f"{base}/big.bin").content == sized and client.get(f"{base}/unsized.txt").content == unsized
    artifacts = project.runs.get(run_id).artifacts
    assert project.stores.artifacts.get_bytes(artifacts["big.bin"]) == sized
    missing = client.put(f"/api/2.0/mlflow-artifacts/artifacts/0/{'0' * 32}/artifacts/x.bin", content=sized)
    assert (missing.status_code, missing.json()["error_code"]) == (404, "RESOURCE_DOES_NOT_EXIST")


def _audited(project: Project, action: str) -> list[str]:
    return [e.subject for e in project.stores.registry.audit_log() if e.action == action]


def test_registry_tags_descriptions_and_deletes(served: tuple[Project, httpx.Client]) -> None:
    project, client = served
    made = call(client, "POST", "/registered-models/create", {"name": "noted", "description": "churn",
                                                              "tags": [{"key": "team", "value": "ml"}]})
    assert (made["registered_model"]["description"], made["registered_model"]["tags"]) == \
        ("churn", [{"key": "team", "value": "ml"}])
    assert call(client, "GET", "/registered-models/get", {"name": "noted"})["registered_model"]["latest_versions"] \
        == []  # a registered model without versions is there for MLflow clients
    _register(project, client, "noted", auc=0.97)
    _register(project, client, "noted", auc=0.98)
    call(client, "POST", "/registered-models/set-tag", {"name": "noted", "key": "tier", "value": "1"})
    call(client, "DELETE", "/registered-models/delete-tag", {"name": "noted", "key": "team"})
    updated = call(client, "PATCH", "/registered-models/update", {"name": "noted", "description": "churn v2"})
    assert updated["registered_model"]["description"] == "churn v2"
    got = call(client, "GET", "/registered-models/get", {"name": "noted"})["registered_model"]
    assert (got["description"], got["tags"]) == ("churn v2", [{"key": "tier", "value": "1"}])

    version = {"name": "noted", "version": "1"}
    call(client, "POST", "/model-versions/set-tag", {**version, "key": "checked", "value": "yes"})
    call(client, "POST", "/model-versions/set-tag", {**version, "key": "gone", "value": "soon"})
    call(client, "DELETE", "/model-versions/delete-tag", {**version, "key": "gone"})
    answer = call(client, "PATCH", "/model-versions/update", {**version, "description": "first fit"})
    assert answer["model_version"]["description"] == "first fit"
    got = call(client, "GET", "/model-versions/get", version)["model_version"]
    assert (got["description"], got["tags"]) == ("first fit", [{"key": "checked", "value": "yes"}])
    assert call(client, "POST", "/model-versions/set-tag", {"name": "noted", "version": "9", "key": "k",
                                                            "value": "v"}, status=404)["error_code"] == \
        "RESOURCE_DOES_NOT_EXIST"

    call(client, "POST", "/registered-models/alias", {"name": "noted", "alias": "candidate", "version": "1"})
    held = call(client, "DELETE", "/model-versions/delete", version, status=400)
    assert held["error_code"] == "INVALID_STATE" and "noted@candidate" in held["message"]
    call(client, "DELETE", "/model-versions/delete", {"name": "noted", "version": "2"})
    assert call(client, "GET", "/model-versions/get", {"name": "noted", "version": "2"}, status=404)
    listed = call(client, "GET", "/model-versions/search", {"filter": "name = 'noted'"})["model_versions"]
    assert [v["version"] for v in listed] == ["1"]
    assert project.models.get("noted:2").version == 2  # Conveyor keeps it: lineage and audit name it
    assert _audited(project, "version.delete") == ["noted:2"]

    renamed = call(client, "POST", "/registered-models/rename", {"name": "noted", "new_name": "other"}, status=400)
    assert renamed["error_code"] == "INVALID_STATE" and "does not rename" in renamed["message"]
    assert call(client, "DELETE", "/registered-models/delete", {"name": "noted"}, status=400)["error_code"] == \
        "INVALID_STATE"
    call(client, "DELETE", "/registered-models/alias", {"name": "noted", "alias": "candidate"})
    call(client, "DELETE", "/registered-models/delete", {"name": "noted"})
    assert call(client, "GET", "/registered-models/get", {"name": "noted"}, status=404)
    assert "noted" not in [m["name"] for m in call(client, "GET", "/registered-models/search")["registered_models"]]
    assert _audited(project, "model.delete") == ["noted"]
    again = call(client, "POST", "/registered-models/create", {"name": "noted"})["registered_model"]
    assert (again["latest_versions"], again["tags"], again["description"]) == ([], [], "")


def test_experiments_rename_delete_restore(served: tuple[Project, httpx.Client]) -> None:
    project, client = served
    exp = call(client, "POST", "/experiments/create", {"name": "to-edit", "tags": [{"key": "a", "value": "1"}]})
    exp_id = exp["experiment_id"]
    call(client, "POST", "/experiments/delete-experiment-tag", {"experiment_id": exp_id, "key": "a"})
    call(client, "POST", "/experiments/update", {"experiment_id": exp_id, "new_name": "edited"})
    got = call(client, "GET", "/experiments/get", {"experiment_id": exp_id})["experiment"]
    assert (got["name"], got["tags"], got["artifact_location"]) == ("edited", [], f"mlflow-artifacts:/{exp_id}")
    assert call(client, "GET", "/experiments/get-by-name", {"experiment_name": "to-edit"}, status=404)
    call(client, "POST", "/experiments/create", {"name": "taken"})
    assert call(client, "POST", "/experiments/update", {"experiment_id": exp_id, "new_name": "taken"},
                status=400)["error_code"] == "RESOURCE_ALREADY_EXISTS"

    call(client, "POST", "/experiments/delete", {"experiment_id": exp_id})
    assert call(client, "GET", "/experiments/get", {"experiment_id": exp_id})["experiment"]["lifecycle_stage"] == \
        "deleted"

    def searched(view: str) -> list[str]:
        return [e["name"] for e in call(client, "POST", "/experiments/search", {"view_type": view})["experiments"]]

    assert "edited" not in searched("ACTIVE_ONLY") and "edited" in searched("DELETED_ONLY")
    refused = call(client, "POST", "/runs/create", {"experiment_id": exp_id}, status=400)
    assert "must be in the 'active' state" in refused["message"]
    assert _audited(project, "experiment.delete") == [f"experiment:{exp_id}"]
    call(client, "POST", "/experiments/restore", {"experiment_id": exp_id})
    assert "edited" in searched("ACTIVE_ONLY")
    new_run(client, exp_id)
    assert call(client, "POST", "/experiments/delete", {"experiment_id": "0"}, status=400)["error_code"] == \
        "INVALID_PARAMETER_VALUE"


def test_every_mlflow_route_declares_a_known_action() -> None:
    declared = actions()
    assert len(declared) >= 30
    assert set(declared.values()) <= set(ACTIONS)
    assert declared["POST /runs/log-batch"] == "runs.write"
    assert declared["POST /registered-models/alias"] == "models.promote"
    assert declared["GET /runs/get"] == "read"


