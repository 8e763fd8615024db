"""The self-healing loop with real training, a real SQLite store and real subprocesses: drift -> retrain ->
promoted; a challenger that is not better -> kept; a live regression after a promotion -> rolled back; an agent
killed mid-retrain -> restarted -> one promotion, never two."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest
import yaml

from conveyor.core.config import ProjectConfig
from conveyor.core.config.sections.monitor import MonitorSection
from conveyor.core.config.sections.retrain import RetrainSection
from conveyor.core.entities import PredictionRecord, new_id
from conveyor.core.errors import BadInputError
from conveyor.pipeline.agent import policy_from_config
from conveyor.project import Project


def world(seed: int, flip: bool, rows: int = 1500) -> pd.DataFrame:
    """y follows x1 before the change and its opposite after it (concept drift), and x1 shifts (data drift)."""
    rng = np.random.default_rng(seed)
    x1 = rng.normal(1.0 if flip else 0.0, 1.0, rows)
    x2 = rng.normal(0.0, 1.0, rows)
    logit = (-2.5 if flip else 2.5) * x1 + 0.5 * x2
    y = (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(int)
    return pd.DataFrame({"x1": x1, "x2": x2, "colour": rng.choice(["red", "blue"], rows), "y": y})


def make_project(root, *, triggers: list[str], window: int | None = None, rollback_drop: float | None = None,
                 **retrain) -> Project:
    project = Project.init(root, name="heal")
    project.configure("train", budget="60s")
    project.configure("retrain", model="w", max_trials=3, min_labels=50, on=triggers, **retrain)
    if window is not None:
        project.configure("monitor", window=window)
    if rollback_drop is not None:
        project.configure("retrain", rollback={"max_drop": rollback_drop})
    first, _ = project.data.ingest(world(0, flip=False), "w")
    trained = project.training.train(first, "y", max_trials=3)
    project.models.promote(trained.model_version.ref, "champion")
    return project


def decisions(project: Project, action: str = "retrain_decision") -> list[dict]:
    return [e.details for e in project.models.audit() if e.action == action]


def test_drift_then_retrain_then_promoted(tmp_path):
    with make_project(tmp_path, triggers=["drift"]) as project:
        project.data.ingest(world(1, flip=True), "w")
        outcome = project.monitoring.agent().run_once()
        assert set(outcome["triggers"]) == {"drift"} and "x1" in outcome["triggers"]["drift"]
        decision = outcome["decision"]
        assert decision["decision"] == "promoted" and decision["challenger"] == "w:2"
        assert decision["challenger_score"] > decision["champion_score"]
        assert project.models.get("w@champion").ref == "w:2"
        job = project.stores.leases.jobs()[0]
        assert job.status == "watching" and job.result["watch"]["previous"] == "w:1"
        assert decisions(project)[-1]["decision"] == "promoted"
        assert decisions(project, "agent_retrain")[-1]["triggers"].keys() == {"drift"}
        drift_series = project.stores.monitoring.samples("w:1", series="drift.share")
        assert drift_series and drift_series[-1].value >= 0.2  # the check is kept as a time series

        again = project.monitoring.agent().run_once()  # the new champion was trained on the newest data: nothing to do
        assert again["decision"] is None and again["watches"][0]["watch"] == "watching"
        assert [m.ref for m in project.models.list("w")] == ["w:1", "w:2"]


def test_a_challenger_that_is_not_better_is_kept(tmp_path):
    with make_project(tmp_path, triggers=["new_data"], min_improvement=0.05) as project:
        project.data.ingest(world(2, flip=False), "w")  # more of the same world: nothing to gain
        outcome = project.monitoring.agent().run_once()
        assert set(outcome["triggers"]) == {"new_data"}
        assert outcome["decision"]["decision"] == "kept" and "not better by more than" in outcome["decision"]["reason"]
        assert project.models.get("w@champion").ref == "w:1"
        assert project.stores.leases.jobs()[0].status == "done"
        assert project.monitoring.agent().run_once()["decision"] is None  # the same trigger is not worked twice


def test_promoted_then_live_regression_then_rolled_back(tmp_path):
    with make_project(tmp_path, triggers=["new_data"], rollback_drop=0.05) as project:
        project.data.ingest(world(1, flip=True), "w")
        assert project.monitoring.agent().run_once()["decision"]["decision"] == "promoted"
        # Live traffic follows the old world after all: the new champion's labelled predictions show it worse.
        live = world(7, flip=False, rows=300)
        new_champion = project.models.load("w@champion")
        predicted = new_champion.predict(live[["x1", "x2", "colour"]])
        records = [PredictionRecord(new_id(), "w:2", row, {"prediction": int(p)}, at=time.time())
                   for row, p in zip(live[["x1", "x2", "colour"]].to_dict("records"), predicted, strict=True)]
        project.stores.predictions.log(records)
        project.stores.predictions.add_feedback({r.id: int(y) for r, y in zip(records, live["y"], strict=True)})

        outcome = project.monitoring.agent().run_once()
        watch = outcome["watches"][0]
        assert watch["watch"] == "rolled_back" and watch["live_previous"] - watch["live_new"] > 0.05
        assert project.models.get("w@champion").ref == "w:1"
        rolled = decisions(project)[-1]
        assert rolled["decision"] == "rolled_back" and rolled["labelled"] == 300 and rolled["serving"] == "w:1"
        assert project.stores.leases.jobs()[0].status == "rolled_back"
        assert project.models.verify() > 0  # the registry still matches its audit trail


def _agent(root) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "conveyor", "agent", "--once", "--json"], cwd=root,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "CONVEYOR_USER": "agent"})


def test_agent_killed_mid_retrain_restarts_consistently(tmp_path):
    with make_project(tmp_path, triggers=["new_data"], lease="2s") as project:
        project.data.ingest(world(1, flip=True), "w")
        project.configure("retrain", max_trials=10_000, budget="120s")  # long enough to be killed in the middle
    child = _agent(tmp_path)
    try:
        with Project.open(tmp_path) as watcher:
            deadline = time.time() + 120
            while time.time() < deadline:
                running = watcher.stores.leases.jobs("running")
                if running and running[0].heartbeat_at > running[0].created_at + 0.5:  # trials are under way
                    break
                assert child.poll() is None, child.communicate()[1]
                time.sleep(0.2)
            os.kill(child.pid, signal.SIGKILL)
            child.communicate(timeout=30)  # reaps it and closes its pipes
            assert watcher.models.get("w@champion").ref == "w:1"
            [job] = watcher.stores.leases.jobs()
            assert job.status == "running" and job.attempts == 1  # orphaned, its heartbeat going stale
            assert len(watcher.models.list("w")) == 1  # killed before a challenger was registered
    finally:
        if child.poll() is None:
            child.kill()
            child.communicate()
    time.sleep(2.5)
    config = yaml.safe_load((tmp_path / "conveyor.yaml").read_text())
    config["retrain"].update(max_trials=3, budget="60s")
    (tmp_path / "conveyor.yaml").write_text(yaml.safe_dump(config))
    restarted = _agent(tmp_path)
    out, err = restarted.communicate(timeout=300)
    assert restarted.returncode == 0, err
    decision = json.loads(out)["decision"]
    assert decision["decision"] == "promoted" and decision["attempt"] == 2
    third = _agent(tmp_path)
    out, err = third.communicate(timeout=300)
    assert third.returncode == 0, err
    assert json.loads(out)["decision"] is None
    with Project.open(tmp_path) as project:
        history = project.stores.registry.alias_history("w", "champion")
        assert [c.version for c in history] == [1, int(decision["challenger"].split(":")[1])]  # promoted once
        [job] = project.stores.leases.jobs()
        assert job.status == "watching" and job.attempts == 2
        assert [d["decision"] for d in decisions(project)] == ["promoted"]
        assert project.models.verify() > 0


def test_the_policy_comes_from_the_retrain_and_monitor_sections():
    with pytest.raises(BadInputError, match="No model") as caught:
        policy_from_config(RetrainSection(), MonitorSection())
    assert caught.value.field == "retrain.model"
    config = ProjectConfig.parse({"retrain": {"model": "w", "watch": "2h", "on": ["drift"], "environment": "prod",
                                              "rollback": {"max_drop": 0.1}}, "monitor": {"window": 300}})
    policy = policy_from_config(config.retrain, config.monitor)
    assert (policy.model, policy.alias, policy.watch, policy.triggers, policy.rollback_drop, policy.window) == \
        ("w", "prod", 7200, ["drift"], 0.1, 300)
    assert policy_from_config(config.retrain, config.monitor, "other").model == "other"


def test_the_agent_judges_drift_with_the_monitor_sections_tests(tmp_path):
    """The agent and `conveyor monitor` read one monitor: section (the agent used to ignore numeric_method)."""
    with make_project(tmp_path, triggers=["drift"]) as project:
        project.configure("monitor", numeric_method="wasserstein", categorical_method="psi")
        project.data.ingest(world(1, flip=True), "w")
        champion = project.models.get("w@champion")
        project.monitoring.agent().check_triggers(champion)  # checks the newest version; stores its scores
        stored = {s.series: s.value for s in project.stores.monitoring.samples(champion.ref)}
        report = project.monitoring.monitor("w@champion", current="w@latest", record=False)
        assert {c.column: c.method for c in report.drift.columns} == {"x1": "wasserstein", "x2": "wasserstein",
                                                                       "colour": "psi"}
        for column in report.drift.columns:  # the agent scored the same window with the same tests
            assert stored[f"drift.{column.column}"] == pytest.approx(column.score)


def test_performance_and_schedule_triggers(tmp_path):
    with make_project(tmp_path, triggers=["performance", "schedule"], schedule="1s", window=200) as project:
        champion = project.models.get("w@champion")
        live = world(8, flip=False, rows=150)
        records = [PredictionRecord(new_id(), champion.ref, row, {"prediction": 1 - int(y)}, at=time.time())
                   for row, y in zip(live[["x1", "x2", "colour"]].to_dict("records"), live["y"], strict=True)]
        project.stores.predictions.log(records)  # every answer wrong, as the labels will show
        project.stores.predictions.add_feedback({r.id: int(y) for r, y in zip(records, live["y"], strict=True)})
        time.sleep(1.1)
        fired, checks = project.monitoring.agent().check_triggers(champion)
        assert set(fired) == {"performance", "schedule"}
        assert checks["live_accuracy"] == 0.0 and checks["holdout_accuracy"] > 0.8
        assert project.stores.monitoring.samples(champion.ref, series="live.accuracy")[-1].value == 0.0


def test_a_crash_between_deciding_and_promoting_is_finished_once(tmp_path):
    with make_project(tmp_path, triggers=["new_data"], lease="1s") as project:
        newest, _ = project.data.ingest(world(1, flip=True), "w")
        challenger = project.training.train(newest, "y", max_trials=1).model_version  # trained, decided, never promoted
        key = f"retrain:w:1:{newest.version}"
        leases = project.stores.leases
        leases.claim(key, "crashed-agent", lease_seconds=1, at=time.time() - 60)
        leases.update(key, result={"model": "w", "champion": "w:1", "triggers": {"new_data": "x"},
                                      "promoting": challenger.ref}, at=time.time() - 60)
        outcome = project.monitoring.agent().run_once()
        assert outcome["decision"]["decision"] == "promoted" and outcome["decision"]["resumed"] is True
        assert project.models.get("w@champion").ref == challenger.ref
        assert project.monitoring.agent().run_once()["decision"] is None
        assert [c.version for c in project.stores.registry.alias_history("w", "champion")] == [1, challenger.version]
        [job] = leases.jobs()
        assert (job.status, job.attempts, job.result["watch"]["previous"]) == ("watching", 2, "w:1")
        assert len(project.models.list("w")) == 2  # nothing was trained again


def test_a_cron_schedule_fires_once_a_tick_has_passed_since_the_champion(tmp_path):
    with make_project(tmp_path, triggers=["schedule"], schedule="0 * * * *") as project:
        champion = project.models.get("w@champion")
        agent = project.monitoring.agent()
        assert agent.policy.schedule == "0 * * * *"
        hour_old = dataclasses.replace(champion, created_at=time.time() - 3700)  # an hour mark has passed since
        fired, _ = agent.check_triggers(hour_old)
        assert set(fired) == {"schedule"} and "0 * * * *" in fired["schedule"]
        # yearly, on the first of the month six months from now: its last tick was about half a year ago, whatever
        # today is (a fixed "0 0 1 1 *" fired when the suite ran in the first hour of New Year's Day)
        month = (time.gmtime().tm_mon + 5) % 12 + 1
        project.configure("retrain", schedule=f"0 0 1 {month} *")
        assert project.monitoring.agent().check_triggers(hour_old)[0] == {}


def test_the_builtin_retrain_pipeline_is_the_agent_tick_started_by_its_events(tmp_path):
    with make_project(tmp_path, triggers=["webhook"]) as project:
        retrain = project.pipelines.get("retrain")
        assert [t.event for t in retrain.triggers] == ["webhook"]
        assert project.pipelines.scheduler().tick() == []
        project.pipelines.queue_webhook("retrain", {"reason": "ci"})
        (started,) = project.pipelines.scheduler().tick()
        assert (started["pipeline"], started["trigger"], started["status"]) == ("retrain", "webhook", "succeeded")
        outcome = project.pipelines.get_run(started["run"]).outputs["tick.outcome"]["value"]
        assert outcome["triggers"] == {"webhook": "webhook call"}
        assert outcome["decision"]["decision"] == "kept" and "no new data" in outcome["decision"]["reason"]
        assert decisions(project)[-1]["reason"] == outcome["decision"]["reason"]  # the agent's own audit row
        manual = project.pipelines.run("retrain")  # by hand: the agent's own checks, here none fires
        assert manual.outputs["tick.outcome"]["value"]["triggers"] == {}
        assert project.pipelines.dag(manual.id)["nodes"][0]["cached"] is False
