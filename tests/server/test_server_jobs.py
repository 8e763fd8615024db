"""Jobs: started, polled to an end, listed; a job whose work fails ends `failed` with the error tree's body."""

from __future__ import annotations

import time

import httpx

API = "/api/v1"


def _wait(http: httpx.Client, job_id: str) -> dict:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        job = http.get(f"/jobs/{job_id}").json()
        if job["status"] not in ("queued", "running"):
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not end")


def test_a_failing_job_ends_failed_with_the_error_body_and_is_listed(server: str) -> None:
    with httpx.Client(base_url=server + API, timeout=30) as http:
        started = http.post("/jobs", json={"kind": "train", "params": {"dataset": "nosuch", "target": "y"}})
        assert started.status_code == 202
        job = _wait(http, started.json()["id"])
        assert job["status"] == "failed"
        assert job["error"]["error"] == "not_found" and "nosuch" in job["error"]["message"]
        assert started.json()["id"] in [j["id"] for j in http.get("/jobs").json()["items"]]
        log = http.get(f"/jobs/{job['id']}/log").json()
        assert log["log"] == ["training on nosuch"]


def test_a_job_with_an_unknown_parameter_is_refused_by_its_work(server: str) -> None:
    with httpx.Client(base_url=server + API, timeout=30) as http:
        job = _wait(http, http.post("/jobs", json={"kind": "retrain", "params": {"model": "churn"}}).json()["id"])
        assert job["status"] == "failed" and job["error"]["field"] == "params.model"


def test_an_agent_pass_is_a_job(server: str) -> None:
    with httpx.Client(base_url=server + API, timeout=30) as http:
        job = _wait(http, http.post("/jobs", json={"kind": "agent", "params": {"model_name": "nomodel"}}).json()["id"])
        assert job["status"] == "failed" and job["error"]["error"] == "not_found"
        assert "nomodel" in job["error"]["message"]
