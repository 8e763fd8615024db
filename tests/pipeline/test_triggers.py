"""Triggers and schedules under an injected clock (no sleeps): cron and duration schedules, new data, alerts,
promotions and webhooks each start a pipeline exactly once, also with two agents on one PostgreSQL store."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterator

import pandas as pd
import pytest

from conveyor.core.entities import Alert, new_id
from conveyor.core.errors import BadInputError
from conveyor.core.schedules import parse_schedule
from conveyor.data.datasets import ingest_frame
from conveyor.pipeline import Pipeline
from conveyor.pipeline.triggers import Scheduler, queue_webhook
from conveyor.store import Stores
from conveyor.testing.store_records import model


def utc(text: str) -> float:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.timezone.utc).timestamp()


class Clock:
    def __init__(self, at: float) -> None:
        self.at = at

    def __call__(self) -> float:
        return self.at


def counted(name: str, calls: list[str], **triggers) -> Pipeline:
    pipeline = Pipeline(name, **triggers)

    @pipeline.step(cache=False)
    def work(context) -> str:
        calls.append(context.event.get("event", "manual"))
        return context.trigger

    return pipeline


def test_cron_fires_once_per_due_tick_and_collapses_missed_ones(stores: Stores) -> None:
    calls: list[str] = []
    clock = Clock(utc("2026-01-01T00:30:00"))
    scheduler = Scheduler(stores, {"hourly": counted("hourly", calls, schedule="0 * * * *")}, clock=clock)
    assert scheduler.tick() == []  # first seen at 00:30: the next tick is 01:00
    clock.at = utc("2026-01-01T00:59:59")
    assert scheduler.tick() == []
    clock.at = utc("2026-01-01T01:00:00")
    (started,) = scheduler.tick()
    assert started["key"] == f"pipeline:hourly:schedule:{int(utc('2026-01-01T01:00:00'))}"
    assert started["status"] == "succeeded" and calls == ["schedule"]
    assert scheduler.tick() == []  # the same tick never runs twice
    clock.at = utc("2026-01-01T03:30:00")  # 02:00 and 03:00 were missed: one run, for 03:00
    (late,) = scheduler.tick()
    assert late["key"].endswith(str(int(utc("2026-01-01T03:00:00"))))
    assert calls == ["schedule", "schedule"]
    runs = stores.pipelines.runs(pipeline="hourly")
    assert [r.trigger for r in runs] == ["schedule", "schedule"]


def test_a_duration_schedule_fires_every_period(stores: Stores) -> None:
    calls: list[str] = []
    clock = Clock(1_000_000.0)
    scheduler = Scheduler(stores, {"p": counted("p", calls, schedule="2h")}, clock=clock)
    assert scheduler.tick() == []
    clock.at += 7199
    assert scheduler.tick() == []
    clock.at += 1
    assert len(scheduler.tick()) == 1 and scheduler.tick() == []
    clock.at += 7200
    assert len(scheduler.tick()) == 1 and len(calls) == 2


def test_schedules_parse_cron_and_durations() -> None:
    assert parse_schedule("90m").every == 5400.0
    hourly = parse_schedule("0 * * * *")
    assert hourly.next_after(utc("2026-01-01T00:30:00")) == utc("2026-01-01T01:00:00")
    assert hourly.due(utc("2026-01-01T00:30:00"), utc("2026-01-01T00:59:00")) is None
    for bad in ("0 25 * * *", "* * *", "soon"):
        with pytest.raises(BadInputError) as caught:
            parse_schedule(bad, "pipelines/p.yaml:schedule")
        assert caught.value.field == "pipelines/p.yaml:schedule"


def test_new_data_runs_once_per_new_version(stores: Stores) -> None:
    calls: list[str] = []
    ingest_frame(stores, pd.DataFrame({"x": [1, 2]}), "sales")
    scheduler = Scheduler(stores, {"p": counted("p", calls, on=["new_data: sales"])}, clock=Clock(time.time()))
    assert scheduler.tick() == []  # the version there when the trigger was first seen counts as seen
    newer, _ = ingest_frame(stores, pd.DataFrame({"x": [1, 2, 3]}), "sales")
    (started,) = scheduler.tick()
    assert started["key"] == f"pipeline:p:new_data:sales@{newer.version}" and calls == ["new_data"]
    assert scheduler.tick() == []
    run = stores.pipelines.get_run(started["run"])
    assert run is not None and run.params["event"]["dataset"] == f"sales@{newer.version}"


def test_alerts_promotions_and_webhooks_each_run_once(stores: Stores) -> None:
    calls: list[str] = []
    clock = Clock(time.time())
    pipeline = counted("p", calls, on=["alert: churn", "promotion: churn@champion", "webhook"])
    scheduler = Scheduler(stores, {"p": pipeline}, clock=clock)
    assert scheduler.tick() == []
    clock.at += 10
    stores.monitoring.add_alert(Alert(new_id(), "drift", "churn:1", "drift.share", 0.5, 0.2, "drifted",
                                      fired_at=clock.at - 1))
    stores.monitoring.add_alert(Alert(new_id(), "drift", "fraud:1", "drift.share", 0.5, 0.2, "other model",
                                      fired_at=clock.at - 1))
    version = stores.registry.create_version(model("churn"))
    stores.registry.set_alias("churn", "champion", version.version)
    clock.at = time.time() + 20
    key = queue_webhook(stores, pipeline, {"sha": "abc"})
    started = scheduler.tick()
    assert sorted(s["trigger"] for s in started) == ["alert", "promotion", "webhook"]
    assert sorted(calls) == ["alert", "promotion", "webhook"]
    assert scheduler.tick() == []
    job = stores.leases.get(key)
    assert job is not None and job.status == "done" and job.result["event"]["payload"] == {"sha": "abc"}
    with pytest.raises(Exception, match="no webhook trigger"):
        queue_webhook(stores, counted("q", calls))


@pytest.fixture
def two_agents(postgres_db_url: str, tmp_path) -> Iterator[tuple[Stores, Stores]]:
    first = Stores.open(postgres_db_url, str(tmp_path / "artifacts"))
    second = Stores.open(postgres_db_url, str(tmp_path / "artifacts"))
    yield first, second
    first.close()
    second.close()


def test_two_agents_on_postgresql_never_run_a_trigger_twice(two_agents: tuple[Stores, Stores]) -> None:
    calls: list[str] = []
    lock = threading.Lock()
    pipeline = Pipeline("shared", schedule="*/5 * * * *", on=["webhook"])

    @pipeline.step(cache=False)
    def work(context) -> int:
        with lock:
            calls.append(context.event["event"])
        return 1

    clock = Clock(utc("2026-03-01T10:01:00"))
    agents = [Scheduler(stores, {"shared": pipeline}, clock=clock, holder=f"agent-{i}")
              for i, stores in enumerate(two_agents)]
    for minute in range(0, 60, 3):  # 20 ticks of both agents at once, 10:02 to 10:59
        clock.at = utc("2026-03-01T10:01:00") + minute * 60 + 60
        if minute % 9 == 0:
            queue_webhook(two_agents[0], pipeline)
        barrier = threading.Barrier(2)
        results: list[list[dict]] = [[], []]

        def tick(i: int, barrier: threading.Barrier = barrier, results: list[list[dict]] = results) -> None:
            barrier.wait()
            results[i] = agents[i].tick()

        threads = [threading.Thread(target=tick, args=(i,)) for i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        keys = [s["key"] for r in results for s in r]
        assert len(keys) == len(set(keys))  # no key ran on both agents
    schedule_runs = [c for c in calls if c == "schedule"]
    assert len(schedule_runs) == 11  # 10:05, 10:10, ... 10:55: each due once, after the first sighting at 10:02
    assert calls.count("webhook") == 7
    runs = two_agents[1].pipelines.runs(pipeline="shared")
    assert len(runs) == len(calls) and all(r.status == "succeeded" for r in runs)


def test_a_crashed_agents_job_is_taken_over_and_its_run_resumed(stores: Stores) -> None:
    calls: list[str] = []
    broken = {"b": True}
    pipeline = Pipeline("p", schedule="1h")

    @pipeline.step(outputs={"x": "value"})
    def a() -> int:
        calls.append("a")
        return 1

    @pipeline.step(inputs={"x": "a.x"})
    def b(x: int) -> int:
        calls.append("b")
        if broken["b"]:
            raise RuntimeError("the agent died here")
        return x + 1

    clock = Clock(1_000_000.0)
    live = Scheduler(stores, {"p": pipeline}, clock=clock, holder="live", lease=600)
    assert live.tick() == []
    clock.at += 3600
    (due,) = live.due()
    # another agent claimed this tick, started its run, and died after step a (its lease is never renewed)
    assert stores.leases.claim(due.key, "dead", lease_seconds=600, at=clock.at) is not None
    stores.leases.update(due.key, result={"event": due.event, "run": "crashedrun"}, holder="dead", at=clock.at)
    crashed = run_pipeline_as(stores, pipeline, "crashedrun")
    assert crashed.status == "failed" and calls == ["a", "b"]
    broken["b"] = False
    clock.at += 300
    assert live.tick() == []  # the dead agent's lease has not run out yet
    clock.at += 301
    (taken,) = live.tick()
    assert (taken["run"], taken["status"]) == ("crashedrun", "succeeded")
    assert calls == ["a", "b", "b"]  # a finished before the crash and is not redone
    job = stores.leases.get(due.key)
    assert job is not None and (job.status, job.attempts, job.holder) == ("done", 2, "live")


def run_pipeline_as(stores: Stores, pipeline: Pipeline, run_id: str):
    from conveyor.pipeline.runner import run_pipeline

    return run_pipeline(stores, pipeline, run_id=run_id, trigger="schedule")
