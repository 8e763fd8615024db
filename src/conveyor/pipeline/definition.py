"""What a pipeline is: named steps with typed inputs and outputs, wired into a DAG.

Declared in Python (a :class:`Pipeline` and its ``@pipeline.step`` decorator, in ``pipelines/*.py``) or in YAML
(``pipelines/*.yaml``, read by :mod:`conveyor.pipeline.loader`); both build the same objects.

* An **input** is a reference: ``dataset:NAME@VERSION`` (``latest`` allowed; the step gets a DataFrame),
  ``model:NAME:N`` or ``model:NAME@ALIAS`` (the step gets the loaded model), ``feature_view:NAME`` (through the
  feature store), ``value:<json>`` (a constant) or ``STEP.OUTPUT`` (another step's output, which makes the edge).
* An **output** has a kind: ``dataset`` (the step returns a DataFrame, stored as a content-addressed dataset version;
  ``dataset:NAME`` names it), ``model`` (the step returns a model reference it registered, ``NAME:N``), ``value``
  (anything JSON). A step with one output returns it; with several, a dict by output name.
* ``params`` are plain keyword arguments; ``cache: false`` runs a step every time (it reads something no input
  names); a step function that takes ``context`` gets a :class:`StepContext`.
"""

from __future__ import annotations

import hashlib
import inspect
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from conveyor.core.durations import parse_duration
from conveyor.core.errors import BadInputError
from conveyor.core.refs import check_name

__all__ = ["INPUT_KINDS", "OUTPUT_KINDS", "Pipeline", "Step", "StepContext", "Trigger"]

INPUT_KINDS = ("dataset", "model", "feature_view", "value")
OUTPUT_KINDS = ("dataset", "model", "value")
EVENTS = ("schedule", "new_data", "alert", "promotion", "webhook")


@dataclass(frozen=True)
class Trigger:
    """What starts a pipeline: ``schedule`` (cron or duration in ``target``), ``new_data`` (a dataset name),
    ``alert`` (a subject, or any), ``promotion`` (``MODEL@ALIAS``, or any), ``webhook`` (a call to it)."""

    event: str
    target: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"event": self.event, "target": self.target}


@dataclass
class StepContext:
    """What a step function that asks for ``context`` gets: where it runs, and (in this process) the stores."""

    pipeline: str
    run_id: str
    step: str
    attempt: int
    stores: Any = None  # the project's Stores when the step runs in the runner's process, else None
    trigger: str = "manual"
    event: dict[str, Any] = field(default_factory=dict)  # what started the run (a trigger's details)

    def __getstate__(self) -> dict[str, Any]:  # stores stay behind when the step runs in another process
        return {**self.__dict__, "stores": None}


@dataclass
class Step:
    name: str
    fn: Callable[..., Any] | None
    inputs: dict[str, str] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    retries: int = 0
    backoff: float = 1.0
    origin: tuple[str, str, str] | None = None  # ("file", path, attr) | ("module", module, attr)
    code: str = ""
    cache: bool = True  # False: the step runs every time (it reads state no input names, e.g. the live champion)

    @property
    def upstream(self) -> list[str]:
        """The steps whose outputs this one reads."""
        return sorted({ref.split(".", 1)[0] for ref in self.inputs.values() if _is_step_ref(ref)})

    def code_hash(self) -> str:
        return hashlib.sha256(self.code.encode()).hexdigest()

    def output_kind(self, output: str) -> str:
        return self.outputs[output].split(":", 1)[0]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "inputs": dict(self.inputs), "outputs": dict(self.outputs),
                "params": dict(self.params), "after": self.upstream, "retries": self.retries}


def _is_step_ref(ref: str) -> bool:
    return ":" not in ref.split(".", 1)[0] and "." in ref


def source_of(fn: Callable[..., Any]) -> str:
    """The text the cache key hashes for a step function: its source, else its bytecode."""
    try:
        return inspect.getsource(fn)
    except (OSError, TypeError):
        code = getattr(fn, "__code__", None)
        return repr(code.co_code) if code is not None else repr(fn)


class Pipeline:
    """A named DAG of steps. ``schedule`` is a cron expression or a duration; ``on`` lists event triggers
    (``"new_data: churn"``, ``"alert"``, ``"promotion: churn@champion"``, ``"webhook"``)."""

    def __init__(self, name: str, *, schedule: str | float | None = None, on: list[Any] | None = None,
                 executor: str | None = None, where: str = "pipeline") -> None:
        self.name = check_name(name, "pipeline name")
        self.where = where  # the file (and key) named in errors
        self.steps: dict[str, Step] = {}
        self.executor = executor
        self.triggers: list[Trigger] = parse_triggers(on or [], f"{where}:on")
        self.schedule = schedule
        if schedule is not None:
            from conveyor.core.schedules import parse_schedule

            parse_schedule(schedule, f"{where}:schedule")
            self.triggers.append(Trigger("schedule", str(schedule)))

    def __repr__(self) -> str:
        return f"<Pipeline {self.name!r}: {', '.join(self.steps)}>"

    def add(self, step: Step, where: str | None = None) -> Step:
        where = where or f"{self.where}:steps.{step.name}"
        check_name(step.name, "step name")
        if step.name in self.steps:
            raise BadInputError(f"Pipeline {self.name!r} has two steps named {step.name!r}.", field=where,
                                hint="Give every step its own name.")
        for key, ref in step.inputs.items():
            check_input(ref, f"{where}.inputs.{key}")
        for key, kind in step.outputs.items():
            if kind.split(":", 1)[0] not in OUTPUT_KINDS:
                raise BadInputError(f"Output {key!r} of step {step.name!r} has an unknown kind {kind!r}.",
                                    field=f"{where}.outputs.{key}", hint=f"Use one of {', '.join(OUTPUT_KINDS)}.")
        if step.retries < 0:
            raise BadInputError(f"retries of step {step.name!r} must be 0 or more, got {step.retries}.",
                                field=f"{where}.retries")
        self.steps[step.name] = step
        return step

    def step(self, fn: Callable[..., Any] | None = None, *, name: str | None = None,
             inputs: dict[str, str] | None = None, outputs: dict[str, str] | None = None,
             params: dict[str, Any] | None = None, retries: int = 0, backoff: str | float = "1s",
             cache: bool = True) -> Any:
        """Decorator: ``@pipeline.step(inputs={"raw": "dataset:churn@latest"}, outputs={"clean": "dataset"})``.
        The function is returned unchanged, so it stays importable (other processes load it by name)."""

        def wrap(func: Callable[..., Any]) -> Callable[..., Any]:
            path = inspect.getsourcefile(func) or ""
            origin = ("file", path, func.__name__) if path else ("module", func.__module__, func.__name__)
            self.add(Step(name or func.__name__, func, dict(inputs or {}), dict(outputs or {"result": "value"}),
                          dict(params or {}), retries, parse_duration(backoff, "backoff"), origin, source_of(func),
                          cache))
            return func

        return wrap(fn) if fn is not None else wrap

    def order(self) -> list[Step]:
        """The steps in an order where each comes after the steps it reads (checked: unknown steps or outputs
        and cycles are errors naming the step)."""
        for step in self.steps.values():
            for key, ref in step.inputs.items():
                if not _is_step_ref(ref):
                    continue
                source, output = ref.split(".", 1)
                where = f"{self.where}:steps.{step.name}.inputs.{key}"
                if source not in self.steps:
                    raise BadInputError(f"Step {step.name!r} reads {ref!r}, but there is no step {source!r}.",
                                        field=where, hint=f"Steps: {', '.join(self.steps)}.")
                if output not in self.steps[source].outputs:
                    raise BadInputError(f"Step {step.name!r} reads {ref!r}, but step {source!r} has no output "
                                        f"{output!r}.", field=where,
                                        hint=f"Its outputs: {', '.join(self.steps[source].outputs)}.")
        done: list[Step] = []
        state: dict[str, int] = {}

        def visit(name: str, path: list[str]) -> None:
            if state.get(name) == 2:
                return
            if state.get(name) == 1:
                cycle = " -> ".join([*path[path.index(name):], name])
                raise BadInputError(f"Pipeline {self.name!r} has a cycle: {cycle}.",
                                    field=f"{self.where}:steps.{name}.inputs", hint="A step cannot read its own "
                                    "output, directly or through other steps.")
            state[name] = 1
            for up in self.steps[name].upstream:
                visit(up, [*path, name])
            state[name] = 2
            done.append(self.steps[name])

        for name in self.steps:
            visit(name, [])
        return done

    def dag(self) -> dict[str, Any]:
        """The graph as plain data (what a run records)."""
        return {"pipeline": self.name, "steps": [s.to_dict() for s in self.order()],
                "triggers": [t.to_dict() for t in self.triggers]}


def check_input(ref: Any, where: str) -> str:
    if not isinstance(ref, str) or not ref:
        raise BadInputError(f"Input {ref!r} is not a reference.", field=where,
                            hint="Write dataset:NAME@VERSION, model:NAME@ALIAS, feature_view:NAME, value:JSON or "
                                 "STEP.OUTPUT.")
    if _is_step_ref(ref):
        return ref
    kind, _, rest = ref.partition(":")
    if kind not in INPUT_KINDS or not rest:
        raise BadInputError(f"Input {ref!r} has no known kind.", field=where,
                            hint=f"Start it with one of {', '.join(k + ':' for k in INPUT_KINDS)} or name another "
                                 "step's output as STEP.OUTPUT.")
    if kind == "value":
        try:
            json.loads(rest)
        except ValueError:
            raise BadInputError(f"Input {ref!r} is not value:<JSON>.", field=where,
                                hint='Write value:3 or value:"text".') from None
    return ref


def parse_triggers(raw: Any, where: str) -> list[Trigger]:
    """``[new_data: churn, alert, {promotion: churn@champion}, webhook]`` -> triggers."""
    if not isinstance(raw, list):
        raise BadInputError(f"Triggers must be a list, got {raw!r}.", field=where,
                            hint="Write on: [new_data: churn, alert, webhook].")
    found = []
    for i, item in enumerate(raw):
        if isinstance(item, dict) and len(item) == 1:
            event, target = next(iter(item.items()))
        elif isinstance(item, str):
            event, _, target = (part.strip() for part in item.partition(":"))
        else:
            raise BadInputError(f"Trigger {item!r} is neither EVENT nor 'EVENT: TARGET'.", field=f"{where}[{i}]",
                                hint=f"Events: {', '.join(e for e in EVENTS if e != 'schedule')}.")
        if event not in EVENTS or event == "schedule":
            raise BadInputError(f"Unknown trigger event {event!r}.", field=f"{where}[{i}]",
                                hint=f"Events: {', '.join(e for e in EVENTS if e != 'schedule')} (a schedule is "
                                     "the schedule key).")
        if event == "new_data" and not target:
            raise BadInputError("Trigger new_data needs a dataset name.", field=f"{where}[{i}]",
                                hint="Write new_data: churn.")
        if event == "promotion" and (not target or "@" not in str(target)):
            raise BadInputError("Trigger promotion needs the alias it watches, MODEL@ALIAS.", field=f"{where}[{i}]",
                                hint="Write promotion: churn@champion.")
        found.append(Trigger(str(event), str(target) if target else None))
    return found
