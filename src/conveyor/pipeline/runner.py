"""Running a pipeline: each step's cache key, the cache, the executor, retries with backoff, and resume.

A step's **cache key** is the SHA-256 of its code, its parameters and the content ids of its inputs: a dataset
version's content hash, a model version's artifact digest, a value's JSON hash, or the content id an upstream
step's output had. A step whose key has a succeeded record in any earlier run of the pipeline is not run: its
outputs are taken from that record (``cached``). So a new version of one dataset re-runs exactly the steps
downstream of it whose inputs really changed, and nothing else.

Steps run on an executor of :data:`conveyor.execution.EXECUTORS` (``inline``, ``threads``, ``processes``, ``ray``
or a plug-in's): independent steps run side by side. A step that raises is retried ``retries`` times, waiting
``backoff`` seconds doubled each time. When a step fails for good, the steps after it stay ``pending`` and the run
is ``failed``; ``resume=RUN`` continues that same run, keeping the steps it finished (a crashed run, still
``running``, resumes the same way), and a new run finds them in the cache anyway.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass
from typing import Any

import pandas as pd

from conveyor.core.entities import new_id, now
from conveyor.core.errors import BadInputError, ConveyorError, NotFoundError, first_line
from conveyor.core.refs import DatasetRef
from conveyor.data.datasets import ingest_frame, load_frame
from conveyor.execution import get_executor
from conveyor.pipeline.definition import Pipeline, Step, StepContext
from conveyor.registry.models import load_model, resolve_model
from conveyor.store import Stores
from conveyor.store.pipelines import PipelineRun, StepRecord

__all__ = ["FEATURE_VIEWS", "StepCall", "cache_key", "resume_run", "run_pipeline"]

FeatureViewResolver = Callable[[Stores, str], tuple[str, Callable[[], Any]]]
# The feature store (another module) sets this: name -> (content id of the view's version, loader of its frame).
FEATURE_VIEWS: dict[str, FeatureViewResolver] = {}


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


def cache_key(step: Step, contents: dict[str, str]) -> str:
    """The hash of the step's code, parameters and the content ids of its inputs."""
    return _digest({"code": step.code_hash(), "params": step.params, "inputs": contents})


@dataclass
class StepCall:
    """A step function that travels to other processes by where it is defined, not by value."""

    origin: tuple[str, str, str] | None
    fn: Callable[..., Any] | None

    def __getstate__(self) -> dict[str, Any]:
        return {"origin": self.origin, "fn": None if self.origin else self.fn}

    def load(self) -> Callable[..., Any]:
        if self.fn is None:
            from conveyor.pipeline.loader import load_callable

            assert self.origin is not None
            self.fn = load_callable(self.origin)
        return self.fn


def invoke(call: StepCall, kwargs: dict[str, Any]) -> Any:
    """Run one step (module level, so every executor can send it to a worker)."""
    return call.load()(**kwargs)


def _is_bad_input(error: BaseException) -> bool:
    """A step that raised one of conveyor's bad-input errors (exit 2) is not retried, and the error reaches the
    caller after the failure is recorded."""
    return isinstance(error, ConveyorError) and error.exit_code == 2


class _Input:
    def __init__(self, content: str, load: Callable[[], Any]) -> None:
        self.content, self.load = content, load


def _resolve(stores: Stores, ref: str, done: dict[str, StepRecord]) -> _Input:
    kind, _, rest = ref.partition(":")
    if kind == "dataset":
        parsed = DatasetRef.parse(rest)
        version = stores.datasets.get_version(parsed.name, parsed.version)
        return _Input(f"dataset:{version.version}", lambda: load_frame(stores, version))
    if kind == "model":
        model = resolve_model(stores, rest)
        return _Input(f"model:{model.artifact}", lambda: load_model(stores, model))
    if kind == "value":
        value = json.loads(rest)
        return _Input(f"value:{_digest(value)}", lambda: value)
    if kind == "feature_view":
        if "feature_view" not in FEATURE_VIEWS:
            raise BadInputError(f"Input {ref!r} needs the feature store, which is not available here.",
                                field="inputs", hint="Install the features extra and define the view under "
                                                     "features/.")
        content, loader = FEATURE_VIEWS["feature_view"](stores, rest)
        return _Input(f"feature_view:{content}", loader)
    source, output = ref.split(".", 1)
    produced = done[source].outputs[output]
    return _Input(produced["content"], lambda: _load_output(stores, produced))


def _load_output(stores: Stores, produced: dict[str, Any]) -> Any:
    if produced["kind"] == "dataset":
        parsed = DatasetRef.parse(produced["ref"])
        return load_frame(stores, stores.datasets.get_version(parsed.name, parsed.version))
    if produced["kind"] == "model":
        return load_model(stores, produced["ref"])
    return produced["value"]


def _store_output(stores: Stores, pipeline: str, run_id: str, step: Step, name: str, value: Any) -> dict[str, Any]:
    kind, _, target = step.outputs[name].partition(":")
    where = f"steps.{step.name}.outputs.{name}"
    if kind == "dataset":
        if not isinstance(value, pd.DataFrame):
            raise BadInputError(f"Step {step.name!r} returned {type(value).__name__} for dataset output {name!r}.",
                                field=where, hint="Return a pandas DataFrame.")
        version, _ = ingest_frame(stores, value, target or f"{pipeline}.{step.name}.{name}",
                                  source=f"pipeline {pipeline} run {run_id} step {step.name}")
        return {"kind": "dataset", "ref": version.ref, "content": f"dataset:{version.version}"}
    if kind == "model":
        model = resolve_model(stores, str(value))
        return {"kind": "model", "ref": model.ref, "content": f"model:{model.artifact}"}
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        raise BadInputError(f"Step {step.name!r} returned {type(value).__name__} for value output {name!r}, which "
                            "is not JSON.", field=where, hint="Return numbers, text, lists or dicts, or declare "
                            "the output as a dataset.") from None
    return {"kind": "value", "value": value, "content": f"value:{_digest(value)}"}


def _split(step: Step, result: Any) -> dict[str, Any]:
    if len(step.outputs) == 1:
        return {next(iter(step.outputs)): result}
    if not isinstance(result, dict) or set(result) != set(step.outputs):
        raise BadInputError(f"Step {step.name!r} must return a dict with keys {sorted(step.outputs)}, got "
                            f"{type(result).__name__}.", field=f"steps.{step.name}.outputs")
    return result


class _Run:
    def __init__(self, stores: Stores, pipeline: Pipeline, run: PipelineRun, done: dict[str, StepRecord],
                 executor: str, max_workers: int | None, use_cache: bool, sleep: Callable[[float], None],
                 event: dict[str, Any] | None = None) -> None:
        self.stores, self.pipeline, self.run = stores, pipeline, run
        self.done, self.executor_kind, self.max_workers = done, executor, max_workers
        self.use_cache, self.sleep, self.event = use_cache, sleep, event or {}
        self.records: dict[str, StepRecord] = {r.step: r for r in stores.pipelines.steps(run.id)}

    def record(self, record: StepRecord) -> None:
        self.records[record.step] = record
        self.stores.pipelines.put_step(record)

    def prepare(self, step: Step) -> tuple[StepRecord, dict[str, _Input]]:
        inputs = {key: _resolve(self.stores, ref, self.done) for key, ref in step.inputs.items()}
        contents = {key: value.content for key, value in inputs.items()}
        old = self.records.get(step.name)
        record = StepRecord(self.run.id, step.name, "running", cache_key(step, contents),
                            attempts=old.attempts if old else 0, inputs=contents, pipeline=self.pipeline.name)
        return record, inputs

    def submit(self, pool: Any, step: Step, record: StepRecord, inputs: dict[str, _Input]) -> Future:
        kwargs = {key: value.load() for key, value in inputs.items()}
        kwargs.update(step.params)
        record.attempts += 1
        record.started_at = now()
        record.status, record.error = "running", None
        fn = step.fn
        if fn is not None and "context" in inspect.signature(fn).parameters:
            in_process = self.executor_kind in ("inline", "threads")
            kwargs["context"] = StepContext(self.pipeline.name, self.run.id, step.name, record.attempts,
                                            self.stores if in_process else None, self.run.trigger, self.event)
        self.record(record)
        return pool.submit(invoke, StepCall(step.origin, fn), kwargs)

    def execute(self) -> PipelineRun:
        order = self.pipeline.order()
        pending = [s for s in order if s.name not in self.done]
        running: dict[Future, tuple[Step, StepRecord, dict[str, _Input]]] = {}
        failure: str | None = None
        bad_input: ConveyorError | None = None
        with get_executor(self.executor_kind, self.max_workers, field="executor") as pool:
            while True:
                progressed = True
                while progressed and failure is None:
                    progressed = False
                    for step in list(pending):
                        if not all(up in self.done for up in step.upstream):
                            continue
                        pending.remove(step)
                        progressed = True
                        try:
                            record, inputs = self.prepare(step)
                        except ConveyorError as exc:
                            failure = self._fail(StepRecord(self.run.id, step.name, "failed",
                                                            pipeline=self.pipeline.name), exc)
                            bad_input = exc
                            break
                        hit = None
                        if self.use_cache and step.cache:
                            hit = self.stores.pipelines.find_cached(self.pipeline.name, step.name, record.cache_key)
                        if hit is not None:
                            record.status, record.cached, record.outputs = "succeeded", True, hit.outputs
                            record.started_at = record.ended_at = now()
                            self.record(record)
                            self.done[step.name] = record
                            continue
                        running[self.submit(pool, step, record, inputs)] = (step, record, inputs)
                if not running:
                    break
                finished, _ = wait(list(running), return_when=FIRST_COMPLETED)
                for future in finished:
                    step, record, inputs = running.pop(future)
                    error = future.exception()
                    if error is None:
                        try:
                            values = _split(step, future.result())
                            record.outputs = {name: _store_output(self.stores, self.pipeline.name, self.run.id, step,
                                                                  name, value)
                                              for name, value in values.items()}
                        except ConveyorError as exc:
                            error = exc
                    if error is None:
                        record.status, record.ended_at = "succeeded", now()
                        self.record(record)
                        self.done[step.name] = record
                    elif record.attempts <= step.retries and failure is None and not _is_bad_input(error):
                        record.error = f"{type(error).__name__}: {first_line(error)}"
                        self.record(record)
                        self.sleep(step.backoff * 2 ** (record.attempts - 1))
                        running[self.submit(pool, step, record, inputs)] = (step, record, inputs)
                    else:
                        failure = failure or self._fail(record, error)
                        if isinstance(error, ConveyorError) and _is_bad_input(error) and bad_input is None:
                            bad_input = error
        if bad_input is not None:
            raise bad_input
        return self._end(failure)

    def _fail(self, record: StepRecord, error: BaseException) -> str:
        record.status, record.ended_at = "failed", now()
        record.error = f"{type(error).__name__}: {first_line(error)}"
        self.record(record)
        self.stores.pipelines.update_run(self.run.id, status="failed", ended_at=now(),
                                         error=f"step {record.step} failed: {record.error}")
        return record.step

    def _end(self, failure: str | None) -> PipelineRun:
        if failure is None:
            outputs = {f"{name}.{out}": value for name, rec in self.done.items() for out, value in rec.outputs.items()}
            self.stores.pipelines.update_run(self.run.id, status="succeeded", ended_at=now(), error=None,
                                             outputs=outputs)
        found = self.stores.pipelines.get_run(self.run.id)
        assert found is not None
        return found


def run_pipeline(stores: Stores, pipeline: Pipeline, *, executor: str | None = None, max_workers: int | None = None,
                 trigger: str = "manual", use_cache: bool = True, run_id: str | None = None,
                 event: dict[str, Any] | None = None, sleep: Callable[[float], None] = time.sleep) -> PipelineRun:
    """Run every step of ``pipeline`` (cached steps skipped); returns the run as stored (status ``succeeded`` or
    ``failed``). Bad references, and steps that raise conveyor's bad-input errors (exit 2: a missing setting, an
    unknown dataset), raise that error after the failed step is recorded; they are not retried."""
    order = pipeline.order()
    run = PipelineRun(run_id or new_id(), pipeline.name, trigger=trigger, dag=pipeline.dag(),
                      params={"steps": {s.name: s.params for s in order}, "event": event or {}})
    stores.pipelines.add_run(run)
    for step in order:
        stores.pipelines.put_step(StepRecord(run.id, step.name, pipeline=pipeline.name))
    return _Run(stores, pipeline, run, {}, executor or pipeline.executor or "inline", max_workers, use_cache,
                sleep, event).execute()


def resume_run(stores: Stores, pipeline: Pipeline, run_id: str, *, executor: str | None = None,
               max_workers: int | None = None, use_cache: bool = True,
               sleep: Callable[[float], None] = time.sleep) -> PipelineRun:
    """Continue run ``run_id`` (failed, or left ``running`` by a crash): its succeeded steps are kept, the rest run."""
    run = stores.pipelines.get_run(run_id)
    if run is None or run.pipeline != pipeline.name:
        known = [r.id[:12] for r in stores.pipelines.runs(pipeline=pipeline.name, limit=8)]
        raise NotFoundError.for_name(f"run of pipeline {pipeline.name!r}", run_id, known).with_field("--resume")
    if run.status == "succeeded":
        raise BadInputError(f"Pipeline run {run.id} succeeded already; there is nothing to resume.",
                            field="--resume", hint=f"Start a new run: conveyor pipelines run {pipeline.name}.")
    done = {r.step: r for r in stores.pipelines.steps(run.id) if r.status == "succeeded" and r.step in pipeline.steps}
    stores.pipelines.update_run(run.id, status="running", ended_at=None, error=None)
    return _Run(stores, pipeline, run, done, executor or pipeline.executor or "inline", max_workers, use_cache,
                sleep, run.params.get("event")).execute()
