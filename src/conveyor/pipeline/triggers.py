"""Triggers and schedules: what starts a pipeline without a person, run at most once across agents.

:meth:`Scheduler.tick` (what ``conveyor pipelines schedule`` runs in a loop, or once with ``--once``) finds, for each
pipeline, the events due at ``clock()`` and turns each into a job key of the lease store
(:mod:`conveyor.store.leases`): whichever agent claims the key runs the pipeline; the others skip it. Keys:

* ``pipeline:NAME:schedule:<tick>`` — the newest cron tick (or duration period) since the schedule was first seen
  (missed ticks collapse into one run, as cron's catch-up would);
* ``pipeline:NAME:new_data:DATASET@VERSION`` — each new version of the dataset, once (the version current when
  the trigger is first seen counts as seen);
* ``pipeline:NAME:alert:ID`` — each alert whose subject starts with the trigger's target (any alert without one),
  fired after the trigger was first seen;
* ``pipeline:NAME:promotion:MODEL@ALIAS:N:<at>`` — each move of that alias after the trigger was first seen;
* ``pipeline:NAME:webhook:ID`` — each call of :func:`queue_webhook` (the server's webhook route calls it): queued
  as a job whose lease has already run out, so exactly one agent takes it over.

What a trigger "first saw" is itself a lease job (``pipeline:NAME:seen:<event>``), so agents agree on it. A job
records the run it started; an agent that takes over a crashed holder's job resumes that run.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from conveyor.core.entities import new_id, now
from conveyor.core.errors import ConveyorError, NotFoundError
from conveyor.core.schedules import parse_schedule
from conveyor.pipeline.definition import Pipeline, Trigger
from conveyor.pipeline.runner import resume_run, run_pipeline
from conveyor.store import Stores
from conveyor.store.pipelines import PipelineRun

__all__ = ["Due", "Scheduler", "queue_webhook"]


@dataclass(frozen=True)
class Due:
    pipeline: str
    key: str
    event: dict[str, Any]


def queue_webhook(stores: Stores, pipeline: Pipeline, payload: dict[str, Any] | None = None) -> str:
    """Queue one run of ``pipeline`` for the next scheduler tick (the webhook trigger); returns the job key."""
    if not any(t.event == "webhook" for t in pipeline.triggers):
        raise NotFoundError(f"Pipeline {pipeline.name!r} has no webhook trigger.", field="pipeline",
                            hint="Add webhook to its on: list.")
    key = f"pipeline:{pipeline.name}:webhook:{new_id()}"
    stores.leases.claim(key, "webhook", lease_seconds=0, at=0.0)  # a lease that ran out long ago: queued
    stores.leases.update(key, result={"event": {"event": "webhook", "reason": "webhook call",
                                                "payload": payload or {}}}, at=0.0)
    return key


@dataclass
class Scheduler:
    stores: Stores
    pipelines: dict[str, Pipeline]
    clock: Callable[[], float] = now
    lease: float = 600.0
    holder: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}")
    runner: Callable[..., PipelineRun] = run_pipeline

    def _seen(self, pipeline: str, event: str, value: Any) -> Any:
        """What this trigger first saw (the first agent to look records it; the others read it)."""
        key = f"pipeline:{pipeline}:seen:{event}"
        if self.stores.leases.claim(key, self.holder, lease_seconds=1e18, at=self.clock()) is not None:
            self.stores.leases.update(key, status="done", result={"value": value})
            return value
        job = self.stores.leases.get(key)
        return job.result.get("value", value) if job is not None and "value" in job.result else value

    def due(self) -> list[Due]:
        """The events due now, for every pipeline with triggers (nothing is claimed yet)."""
        at, found = self.clock(), []
        queued = {j.key: j for j in self.stores.leases.jobs("running") if ":webhook:" in j.key}
        for pipeline in self.pipelines.values():
            for trigger in pipeline.triggers:
                found.extend(self._due(pipeline, trigger, at))
            prefix = f"pipeline:{pipeline.name}:webhook:"
            found.extend(Due(pipeline.name, key, job.result.get("event", {})) for key, job in queued.items()
                         if key.startswith(prefix) and job.heartbeat_at < at - self.lease)
        return found

    def _due(self, pipeline: Pipeline, trigger: Trigger, at: float) -> list[Due]:
        name = pipeline.name
        if trigger.event == "schedule":
            schedule = parse_schedule(trigger.target, f"{pipeline.where}:schedule")
            since = float(self._seen(name, f"schedule:{schedule.text}", at))
            tick = schedule.due(since, at)
            if tick is None:
                return []
            return [Due(name, f"pipeline:{name}:schedule:{int(tick)}",
                        {"event": "schedule", "reason": f"schedule {schedule.text} at {int(tick)}", "at": tick})]
        if trigger.event == "new_data":
            try:
                version = self.stores.datasets.get_version(str(trigger.target), "latest").version
            except ConveyorError:
                return []
            if self._seen(name, f"new_data:{trigger.target}", version) == version:
                return []
            ref = f"{trigger.target}@{version}"
            return [Due(name, f"pipeline:{name}:new_data:{ref}",
                        {"event": "new_data", "reason": f"new data version {ref}", "dataset": ref})]
        if trigger.event == "alert":
            since = float(self._seen(name, f"alert:{trigger.target or '*'}", at))
            return [Due(name, f"pipeline:{name}:alert:{a.id}",
                        {"event": "alert", "reason": f"alert {a.rule} on {a.subject}: {a.message}", "alert": a.id})
                    for a in self.stores.monitoring.alerts()
                    if a.fired_at > since and (not trigger.target or a.subject.startswith(str(trigger.target)))]
        if trigger.event == "promotion":
            model, _, alias = str(trigger.target).partition("@")
            since = float(self._seen(name, f"promotion:{trigger.target}", at))
            return [Due(name, f"pipeline:{name}:promotion:{trigger.target}:{c.version}:{c.at}",
                        {"event": "promotion", "reason": f"{model}@{alias} moved to {model}:{c.version}",
                         "model": f"{model}:{c.version}"})
                    for c in self.stores.registry.alias_history(model, alias) if c.at > since and c.version]
        return []  # webhook: queued jobs, found in due()

    def tick(self) -> list[dict[str, Any]]:
        """Run every due event this agent wins; returns what it did (one entry per run)."""
        done: list[dict[str, Any]] = []
        for due in self.due():
            job = self.stores.leases.claim(due.key, self.holder, lease_seconds=self.lease, at=self.clock())
            if job is None:
                continue  # another agent has it, or it ran already
            pipeline = self.pipelines[due.pipeline]
            earlier = job.result.get("run")
            event = job.result.get("event") or due.event
            run_id = new_id()
            if earlier and (old := self.stores.pipelines.get_run(earlier)) is not None and old.status != "succeeded":
                self.stores.leases.update(due.key, result={**job.result, "event": event}, holder=self.holder)
                run = resume_run(self.stores, pipeline, earlier)
            else:
                self.stores.leases.update(due.key, result={**job.result, "event": event, "run": run_id},
                                          holder=self.holder)
                try:
                    run = self.runner(self.stores, pipeline, trigger=event.get("event", "event"), run_id=run_id,
                                      event=event)
                except ConveyorError as exc:
                    self.stores.leases.update(due.key, status="failed", result={"event": event, "run": run_id,
                                                                                "error": str(exc)})
                    done.append({"pipeline": due.pipeline, "key": due.key, "run": run_id, "status": "failed",
                                 "error": str(exc)})
                    continue
            self.stores.leases.update(due.key, status="done" if run.status == "succeeded" else "failed",
                                      result={"event": event, "run": run.id, "status": run.status})
            done.append({"pipeline": due.pipeline, "key": due.key, "run": run.id, "status": run.status,
                         "trigger": event.get("event")})
        return done
