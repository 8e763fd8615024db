"""`conveyor server --workers 2`: both worker processes answer, and a job started through one is seen the same
through every request (jobs live in the project, not in one worker's memory)."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import psutil


def test_two_workers_share_jobs(tmp_path: Path, launch, seeded_project) -> None:
    url, pid = launch(seeded_project(tmp_path / "p"), "--workers", "2")
    workers = [p for p in psutil.Process(pid).children(recursive=True) if "resource_tracker" not in " ".join(
        p.cmdline())]
    assert len(workers) == 2
    with httpx.Client(base_url=url + "/api/v1", timeout=30) as http:
        job = http.post("/jobs", json={"kind": "train", "params": {"dataset": "nothing", "target": "y"}}).json()
        deadline = time.monotonic() + 60
        states = set()
        while time.monotonic() < deadline:
            # fresh connections, so the requests spread over the workers
            state = httpx.get(f"{url}/api/v1/jobs/{job['id']}", timeout=30).json()["status"]
            states.add(state)
            if state == "failed":
                break
            time.sleep(0.1)
        assert "failed" in states
        answers = {httpx.get(f"{url}/api/v1/jobs/{job['id']}", timeout=30).json()["status"] for _ in range(10)}
        assert answers == {"failed"}
