"""``/api/v1/pipelines`` and pipeline runs in ``/api/v1/jobs`` over a real server on 127.0.0.1: the webhook route
queues a run that the next scheduler tick runs once; the run shows up as a job and its DAG as data; mistakes are
4xx with the error tree's body."""

from __future__ import annotations

import httpx

API = "/api/v1"

FLOWS = '''\
from conveyor.pipeline import Pipeline

hooked = Pipeline("hooked", on=["webhook"])


@hooked.step(outputs={"sha": "value"}, cache=False)
def build(context):
    return context.event["payload"]["sha"]


@hooked.step(inputs={"sha": "build.sha"}, outputs={"tag": "value"})
def tag(sha):
    return "v-" + sha
'''


def test_a_webhook_call_queues_one_run_listed_as_a_job_with_its_dag(server, project) -> None:
    (project.root / "pipelines").mkdir(exist_ok=True)
    (project.root / "pipelines" / "hooked.py").write_text(FLOWS)
    with httpx.Client(base_url=server + API, timeout=30) as http:
        listed = {p["name"]: p for p in http.get("/pipelines").json()["items"]}
        assert listed["hooked"]["steps"] == ["build", "tag"]
        assert listed["hooked"]["triggers"] == [{"event": "webhook", "target": None}]
        queued = http.post("/pipelines/hooked/webhook", json={"sha": "abc123"})
        assert queued.status_code == 202 and queued.json()["queued"].startswith("pipeline:hooked:webhook:")
        done = project.pipelines.scheduler().tick()  # what the agent's next tick does
        assert [(d["pipeline"], d["status"]) for d in done] == [("hooked", "succeeded")]
        assert project.pipelines.scheduler().tick() == []  # once
        run_id = done[0]["run"]
        job = http.get(f"/jobs/{run_id}").json()
        assert job["kind"] == "pipeline" and job["status"] == "done"
        assert job["params"]["pipeline"] == "hooked" and job["params"]["trigger"] == "webhook"
        assert job["result"]["outputs"]["tag.tag"]["value"] == "v-abc123"  # the payload reached the step
        assert run_id in [j["id"] for j in http.get("/jobs").json()["items"]]
        runs = http.get("/pipelines/runs", params={"pipeline": "hooked"}).json()["items"]
        assert [r["id"] for r in runs] == [run_id] and runs[0]["trigger"] == "webhook"
        dag = http.get(f"/pipelines/runs/{run_id}").json()
        assert [(n["step"], n["status"]) for n in dag["nodes"]] == [("build", "succeeded"), ("tag", "succeeded")]
        assert dag["edges"] == [{"from": "build", "to": "tag", "via": "sha"}]


def test_pipeline_mistakes_are_4xx_with_the_error_body(server, project) -> None:
    with httpx.Client(base_url=server + API, timeout=30) as http:
        unknown = http.post("/pipelines/nosuch/webhook", json={})
        assert unknown.status_code == 404 and unknown.json()["error"] == "not_found"
        assert "nosuch" in unknown.json()["message"]
        no_hook = http.post("/pipelines/retrain/webhook", json={})
        assert no_hook.status_code == 404 and "no webhook trigger" in no_hook.json()["message"]
        bad_body = http.post("/pipelines/retrain/webhook", content=b"[1]", headers={"content-type": "application/json"})
        assert bad_body.status_code == 422 and bad_body.json()["field"] == "body"
        missing = http.get("/pipelines/runs/ffffffff")
        assert missing.status_code == 404 and missing.json()["error"] == "not_found"
        assert http.get("/jobs/ffffffff").status_code == 404
