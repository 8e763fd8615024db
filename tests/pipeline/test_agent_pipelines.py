"""`conveyor agent` runs the pipelines whose triggers are due, once per event, also with two agent processes on one
PostgreSQL store; without a model to look after it only runs pipelines; the built-in retrain keeps its event
triggers there but not its schedule (the agent's own tick checks that)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import conveyor as cv

FLOWS = '''\
from conveyor.pipeline import Pipeline

nightly = Pipeline("nightly", on=["webhook", "new_data: events"])


@nightly.step(cache=False)
def work(context):
    return context.trigger
'''


def agent(root: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "conveyor", "agent", "--once", "--json", "--project", str(root)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(process: subprocess.Popen) -> dict:
    out, err = process.communicate(timeout=180)
    assert process.returncode == 0, err
    return json.loads(out)


def make_project(root: Path) -> None:
    with cv.Project.init(root, name="flows") as project:
        (project.root / "pipelines").mkdir()
        (project.root / "pipelines" / "flows.py").write_text(FLOWS)
        project.data.ingest(pd.DataFrame({"x": [1, 2]}), "events")


@pytest.mark.slow  # three CLI processes
def test_the_agent_runs_each_due_pipeline_event_once(tmp_path):
    root = tmp_path / "p"
    make_project(root)
    first = finish(agent(root))
    assert first["model"] is None and first["pipelines"] == []  # the first sighting of events: nothing new
    with cv.Project.open(root) as project:
        project.pipelines.queue_webhook("nightly", {"sha": "abc"})
        project.data.ingest(pd.DataFrame({"x": [1, 2, 3]}), "events")
    second = finish(agent(root))
    assert sorted(i["trigger"] for i in second["pipelines"]) == ["new_data", "webhook"]
    assert all(i["status"] == "succeeded" for i in second["pipelines"])
    assert finish(agent(root))["pipelines"] == []  # each event ran once
    with cv.Project.open(root) as project:
        runs = project.pipelines.runs(pipeline="nightly")
        assert sorted(r.trigger for r in runs) == ["new_data", "webhook"]
    text = subprocess.run([sys.executable, "-m", "conveyor", "agent", "--once", "--project", str(root)],
                          capture_output=True, text=True, timeout=120, check=True).stdout
    assert "no pipeline due" in text


@pytest.mark.slow
def test_two_agent_processes_on_postgresql_never_run_an_event_twice(tmp_path, postgres_db_url, monkeypatch):
    monkeypatch.setenv("CONVEYOR_DB_URL", postgres_db_url)  # this process and both agents share the store
    root = tmp_path / "pg"
    make_project(root)
    finish(agent(root))  # the first sighting of events
    with cv.Project.open(root) as project:
        assert project.stores.url.startswith("postgresql")
        keys = {project.pipelines.queue_webhook("nightly", {"n": i}) for i in range(4)}
        project.data.ingest(pd.DataFrame({"x": [4, 5, 6]}), "events")
    both = [agent(root), agent(root)]
    ran = [item for process in both for item in finish(process)["pipelines"]]
    ran_keys = [item["key"] for item in ran]
    assert len(ran_keys) == len(set(ran_keys)) == 5  # 4 webhooks and 1 new version, each on one agent
    assert keys <= set(ran_keys)
    with cv.Project.open(root) as project:
        runs = project.pipelines.runs(pipeline="nightly")
        assert len(runs) == 5 and all(r.status == "succeeded" for r in runs)


def test_the_agents_scheduler_leaves_the_retrain_schedule_to_the_agent(tmp_path):
    with cv.Project.init(tmp_path / "p") as project:
        project.configure("retrain", model="churn", on=["schedule", "webhook"], schedule="1h")
        own = project.pipelines.scheduler().pipelines["retrain"].triggers
        agents = project.pipelines.scheduler(for_agent=True).pipelines["retrain"].triggers
        assert sorted(t.event for t in own) == ["schedule", "webhook"]
        assert [t.event for t in agents] == ["webhook"]
        assert [t.event for t in project.pipelines.get("retrain").triggers] == ["webhook", "schedule"]
        assert project.pipelines.user_pipelines() == []
