"""The REST API on a real server: each domain's endpoints answer with what the project's sub-APIs hold."""

from __future__ import annotations

import json

import httpx
import pytest

from conveyor.project import Project

API = "/api/v1"


@pytest.fixture
def http(server: str):
    with httpx.Client(base_url=server + API, timeout=30) as client:
        yield client


def test_health_and_whoami(http: httpx.Client) -> None:
    assert http.get("/health").json()["status"] == "ok"
    who = http.get("/whoami").json()
    assert who["actor"].startswith("local:") and who["authenticated"] is False


def test_openapi_lists_every_domain(http: httpx.Client) -> None:
    paths = http.get("/openapi.json").json()["paths"]
    for path in ("/api/v1/datasets", "/api/v1/runs", "/api/v1/models", "/api/v1/alerts", "/api/v1/audit",
                 "/api/v1/uploads", "/api/v1/jobs", "/api/v1/monitoring/samples", "/api/v1/predictions"):
        assert path in paths


def test_datasets(http: httpx.Client, project: Project) -> None:
    listed = http.get("/datasets", params={"name": "churn"}).json()
    assert [v["version"] for v in listed["items"]] == [v.version for v in project.data.list("churn")]
    assert "profile" not in listed["items"][0]
    latest = http.get("/datasets/churn@latest").json()
    assert latest["version"] == project.data.get("churn@latest").version
    assert latest["profile"]  # show includes the profile
    first, second = (v.ref for v in project.data.list("churn"))
    diff = http.get("/datasets/diff", params={"a": first, "b": second}).json()
    assert diff == json.loads(json.dumps(project.data.diff(first, second)))
    assert http.get(f"/datasets/{second}/lineage").json()["runs"] == project.data.lineage(second)["runs"]
    log = http.get("/datasets/churn/log").json()["items"]
    assert len(log) == 2


def test_runs_search_show_history_compare(http: httpx.Client, project: Project) -> None:
    best = http.get("/runs", params={"order_by": "score", "limit": 3}).json()["items"]
    assert [r["id"] for r in best] == [r.id for r in project.runs.list(order_by_metric="score", limit=3)]
    run = best[0]
    assert http.get(f"/runs/{run['id'][:10]}").json()["id"] == run["id"]
    history = http.get(f"/runs/{run['id']}/metrics/score").json()["items"]
    assert [m["step"] for m in history] == [0, 1]
    compared = http.get("/runs/compare", params=[("ids", best[1]["id"]), ("ids", best[0]["id"])]).json()
    assert [r["id"] for r in compared] == [best[1]["id"], best[0]["id"]]


def test_models_promote_rollback_history_and_audit(http: httpx.Client, project: Project) -> None:
    assert http.get("/models/churn/aliases").json() == {"champion": 1}
    moved = http.post("/models/churn/aliases/champion", json={"version": 2, "reason": "better"})
    assert moved.status_code == 200 and moved.json()["version"] == 2 and moved.json()["previous"] == 1
    assert project.models.aliases("churn")["champion"] == 2  # the store moved, not a copy
    back = http.post("/models/churn/aliases/champion/rollback", json={"reason": "oops"}).json()
    assert back["version"] == 1
    history = http.get("/models/churn/aliases/champion/history").json()["items"]
    assert [h["version"] for h in history] == [1, 2, 1]
    assert http.get("/models/resolve", params={"ref": "churn@champion"}).json()["version"] == 1
    audit = http.get("/audit", params={"limit": 500}).json()["items"]
    assert [a["action"] for a in audit][-1] == project.models.audit()[-1].action
    assert http.post("/audit/verify").json()["verified"] == len(project.models.audit())


def test_model_package_download_matches_its_hash(http: httpx.Client, project: Project) -> None:
    from conveyor.store.hashing import digest_bytes

    data = http.get("/models/churn/versions/1/file").content
    assert digest_bytes(data) == project.models.get("churn:1").artifact


def test_pages_walk_every_run_once(http: httpx.Client, project: Project) -> None:
    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": 5, **({"cursor": cursor} if cursor else {})}
        answer = http.get("/runs", params=params).json()
        seen += [r["id"] for r in answer["items"]]
        pages += 1
        cursor = answer["next"]
        if cursor is None:
            break
    assert seen == [r.id for r in project.runs.list()]
    assert len(seen) == len(set(seen)) and pages == -(-len(seen) // 5)
