"""``project.pipelines``: the project's pipelines (``pipelines/*.py``, ``pipelines/*.yaml`` and the built-in
``retrain``), their runs, the scheduler that starts them on triggers, and views of a run's DAG.

The web UI and the REST API call :meth:`PipelinesAPI.dag` for a run's graph as plain data and
:meth:`PipelinesAPI.queue_webhook` for the webhook trigger; ``/api/v1/jobs`` lists :meth:`PipelinesAPI.runs`.
"""

from __future__ import annotations

import builtins
import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from conveyor.core.entities import now
from conveyor.core.errors import NotFoundError
from conveyor.core.settings import STATE_DIR
from conveyor.pipeline.builtin import RETRAIN, retrain_pipeline
from conveyor.pipeline.definition import Pipeline
from conveyor.pipeline.loader import discover
from conveyor.pipeline.runner import resume_run, run_pipeline
from conveyor.pipeline.triggers import Scheduler, queue_webhook
from conveyor.pipeline.views import dag_view, render_page
from conveyor.project._base import LocalAPI, write_page
from conveyor.project._options import build_agent, retrain_alias
from conveyor.store.pipelines import PipelineRun, StepRecord


class PipelinesAPI(Protocol):
    """Multi-step workflows: define in files, run (cached, resumable), trigger, and look at their runs."""

    def list(self) -> builtins.list[Pipeline]: ...

    def get(self, name: str) -> Pipeline: ...

    def run(self, name: str, *, executor: str | None = None, max_workers: int | None = None,
            resume: str | None = None, use_cache: bool = True) -> PipelineRun: ...

    def runs(self, *, pipeline: str | None = None, status: str | None = None,
             limit: int | None = 50) -> builtins.list[PipelineRun]: ...

    def get_run(self, run_id: str) -> PipelineRun: ...

    def steps(self, run_id: str) -> builtins.list[StepRecord]: ...

    def dag(self, run_id: str) -> dict[str, Any]: ...

    def write_page(self, run_id: str, path: str | Path | None = None) -> Path: ...

    def scheduler(self, *, clock: Callable[[], float] = now, for_agent: bool = False) -> Scheduler: ...

    def user_pipelines(self) -> builtins.list[str]: ...

    def queue_webhook(self, name: str, payload: dict[str, Any] | None = None) -> str: ...


class LocalPipelines(LocalAPI):
    """:class:`PipelinesAPI` on this project's files and stores (steps run on this machine's executors)."""

    def _builtin(self) -> Pipeline:
        retrain = self.config.retrain
        return retrain_pipeline(lambda: build_agent(self._project), model=retrain.model,
                                environment=retrain_alias(self._project), on=list(retrain.on),
                                schedule=retrain.schedule)

    def _all(self) -> dict[str, Pipeline]:
        return discover(self.root, builtins={RETRAIN: self._builtin()})

    def list(self) -> builtins.list[Pipeline]:
        """Every pipeline, the built-in ``retrain`` first, then by file."""
        return builtins.list(self._all().values())

    def get(self, name: str) -> Pipeline:
        found = self._all()
        if name not in found:
            raise NotFoundError.for_name("pipeline", name, found).with_field("pipeline")
        return found[name]

    def run(self, name: str, *, executor: str | None = None, max_workers: int | None = None,
            resume: str | None = None, use_cache: bool = True) -> PipelineRun:
        """Run pipeline ``name`` (unchanged steps come from the cache); ``resume=RUN`` continues that run."""
        pipeline = self.get(name)
        if resume:
            return resume_run(self.stores, pipeline, resume, executor=executor, max_workers=max_workers,
                              use_cache=use_cache)
        return run_pipeline(self.stores, pipeline, executor=executor, max_workers=max_workers, use_cache=use_cache)

    def runs(self, *, pipeline: str | None = None, status: str | None = None,
             limit: int | None = 50) -> builtins.list[PipelineRun]:
        """Runs, newest first."""
        return self.stores.pipelines.runs(pipeline=pipeline, status=status, limit=limit)

    def get_run(self, run_id: str) -> PipelineRun:
        run = self.stores.pipelines.get_run(run_id)
        if run is None:
            known = [r.id[:12] for r in self.stores.pipelines.runs(limit=8)]
            raise NotFoundError.for_name("pipeline run", run_id, known).with_field("run")
        return run

    def steps(self, run_id: str) -> builtins.list[StepRecord]:
        return self.stores.pipelines.steps(self.get_run(run_id).id)

    def dag(self, run_id: str) -> dict[str, Any]:
        """The run's DAG as plain data: nodes (status, cached, duration, attempts, ...) and edges."""
        run = self.get_run(run_id)
        return dag_view(run, self.stores.pipelines.steps(run.id))

    def write_page(self, run_id: str, path: str | Path | None = None) -> Path:
        """An HTML page of the run with its DAG as inline SVG (default .conveyor/reports/pipeline-RUN.html)."""
        view = self.dag(run_id)
        target = Path(path) if path is not None else \
            self.root / STATE_DIR / "reports" / f"pipeline-{view['run'][:12]}.html"
        target.parent.mkdir(parents=True, exist_ok=True)
        return write_page(target, render_page(view))

    def scheduler(self, *, clock: Callable[[], float] = now, for_agent: bool = False) -> Scheduler:
        """The scheduler of every pipeline with triggers (``tick()`` runs what is due, once across agents).
        ``for_agent``: the one `conveyor agent` ticks after its own tick, where the built-in ``retrain`` keeps only
        its event triggers (the agent's tick already checks retrain.schedule)."""
        pipelines = self._all()
        if for_agent and RETRAIN in pipelines:
            retrain = copy.copy(pipelines[RETRAIN])
            retrain.triggers = [t for t in retrain.triggers if t.event != "schedule"]
            pipelines[RETRAIN] = retrain
        return Scheduler(self.stores, pipelines, clock=clock, lease=self.config.retrain.lease)

    def user_pipelines(self) -> builtins.list[str]:
        """The names of the project's own pipelines (every one but the built-in ``retrain``)."""
        return [name for name in self._all() if name != RETRAIN]

    def queue_webhook(self, name: str, payload: dict[str, Any] | None = None) -> str:
        """Queue a run of ``name`` through its webhook trigger (the scheduler's next tick runs it)."""
        return queue_webhook(self.stores, self.get(name), payload)
