"""The built-in pipeline ``retrain``: the retraining loop of :mod:`conveyor.pipeline.agent` as one uncached step,
so it is listed, run, scheduled and shown like any other pipeline while behaving exactly as `conveyor agent --once`.

Its triggers come from conveyor.yaml: ``retrain.schedule`` (cron or duration) when ``schedule`` is in
``retrain.on``, and the events ``alert`` (on the watched model), ``promotion`` (of ``MODEL@ENVIRONMENT``) and
``webhook`` when listed there. The agent's own checks (drift, performance, new_data and the champion's age) run in
the step; an event that started the run is passed to the agent as a fired trigger of the same name.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from conveyor.pipeline.definition import Pipeline, Step, StepContext

if TYPE_CHECKING:
    from conveyor.pipeline.agent import Agent

__all__ = ["RETRAIN", "retrain_pipeline"]

RETRAIN = "retrain"
EVENT_TRIGGERS = ("alert", "promotion", "webhook")


def retrain_pipeline(make_agent: Callable[[], Agent], *, model: str | None, environment: str, on: list[str],
                     schedule: float | str | None) -> Pipeline:
    """The ``retrain`` pipeline; ``make_agent()`` builds the configured agent when the step runs."""

    def tick(context: StepContext) -> dict[str, Any]:
        event = context.event or {}
        events = {event["event"]: event.get("reason", event["event"])} if event.get("event") in on else {}
        return make_agent().run_once(events=events)

    triggers: list[Any] = []
    for event in EVENT_TRIGGERS:
        if event in on:
            if event == "alert" and model:
                triggers.append({"alert": model})
            elif event == "promotion" and model:
                triggers.append({"promotion": f"{model}@{environment}"})
            elif event == "webhook":
                triggers.append("webhook")
    pipeline = Pipeline(RETRAIN, schedule=schedule if "schedule" in on else None, on=triggers, executor="inline",
                        where="conveyor.yaml (retrain)")
    pipeline.add(Step("tick", tick, outputs={"outcome": "value"}, code="conveyor.pipeline.agent:Agent.run_once",
                      cache=False))
    return pipeline
