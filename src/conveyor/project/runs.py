"""``project.runs``: tracked runs, as `conveyor runs ...` and `conveyor report` work with them."""

from __future__ import annotations

import builtins
import json
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from conveyor.core.entities import DatasetVersion, Metric, Run
from conveyor.core.errors import BadInputError, NotFoundError
from conveyor.project._base import LocalAPI, write_page

if TYPE_CHECKING:  # the tracking, registry and report stacks (pandas) load when a verb needs them, not to list runs
    from conveyor.train.tracking import ActiveRun


class RunsAPI(Protocol):
    """Tracked runs: your own training code's (:meth:`start`) and those of `conveyor train`."""

    def start(self, *, name: str | None = None, dataset: DatasetVersion | str | None = None,
              tags: dict[str, Any] | None = None) -> ActiveRun: ...

    def get(self, run_id: str) -> Run: ...

    def list(self, *, order_by_metric: str | None = None, ascending: bool = False, dataset: str | None = None,
             limit: int | None = None, experiment: str | None = None) -> builtins.list[Run]: ...

    def compare(self, run_ids: Sequence[str]) -> builtins.list[Run]: ...

    def metric_history(self, run_id: str, key: str) -> builtins.list[Metric]: ...

    def resolve(self, ref: str) -> Run: ...

    def evaluation(self, ref: str) -> dict[str, Any]: ...

    def report(self, ref: str, path: str | Path) -> Path: ...


class LocalRuns(LocalAPI):
    """:class:`RunsAPI` on this project's stores."""

    def start(self, *, name: str | None = None, dataset: DatasetVersion | str | None = None,
              tags: dict[str, Any] | None = None) -> ActiveRun:
        """A tracked run for your own training code: ``with project.runs.start(dataset=ds) as run: ...``."""
        from conveyor.data import datasets
        from conveyor.train.tracking import start_run

        if isinstance(dataset, str):
            found = datasets.resolve(self.stores, dataset)
            dataset = f"{found.name}@{found.version}"
        return start_run(self.stores, name=name, dataset=dataset, project_root=self.root, tags=tags)

    def get(self, run_id: str) -> Run:
        """The run with this id (or a unique prefix of it)."""
        return self.stores.runs.get(run_id)

    def compare(self, run_ids: Sequence[str]) -> builtins.list[Run]:
        """Several runs, in the order given, to put side by side."""
        return [self.get(run_id) for run_id in run_ids]

    def metric_history(self, run_id: str, key: str) -> builtins.list[Metric]:
        """Every logged value of one metric of a run (id or unique prefix), oldest first."""
        return self.stores.runs.metric_history(self.get(run_id).id, key)

    def resolve(self, ref: str) -> Run:
        """The run ``ref`` names: a run id (or prefix), or a model ``MODEL[@ALIAS|:N]``, which resolves to the run
        that produced it."""
        from conveyor.registry import models

        if "@" not in ref and ":" not in ref:
            try:
                return self.get(ref)
            except NotFoundError as missing_run:
                try:
                    version = models.resolve_model(self.stores, ref)
                except (NotFoundError, BadInputError):
                    raise missing_run from None
        else:
            version = models.resolve_model(self.stores, ref)
        if not version.run_id:
            raise BadInputError(f"Model {version.ref} records no run (it was imported), so it has no report.",
                                field="ref", hint="Give a training run id, or a model trained by `conveyor train`.")
        return self.get(version.run_id)

    def evaluation(self, ref: str) -> dict[str, Any]:
        """The evaluation a training run stored (metrics, curves, fairness, importance, leaderboard); ``ref`` is a
        run or a model, as for :meth:`resolve`."""
        run = self.resolve(ref)
        if "evaluation.json" not in run.artifacts:
            raise BadInputError(f"Run {run.id} has no evaluation: only `conveyor train` runs have one.",
                                field="run", hint="See `conveyor runs list` for training runs.")
        return json.loads(self.stores.artifacts.get_bytes(run.artifacts["evaluation.json"]))

    def report(self, ref: str, path: str | Path) -> Path:
        """Write the self-contained HTML report (works offline) of a run, or of the run that produced a model
        ``MODEL[@ALIAS|:N]``, to ``path``, atomically."""
        from conveyor.train.report import render_report

        run = self.resolve(ref)
        return write_page(path, render_report(run, self.evaluation(run.id)))

    def list(self, *, order_by_metric: str | None = None, ascending: bool = False, dataset: str | None = None,
             limit: int | None = None, experiment: str | None = None) -> builtins.list[Run]:
        """Runs, newest first (or best first by ``order_by_metric``); of one ``experiment`` (its name or id, as
        MLflow clients create them) when given."""
        experiment_id = None if experiment is None else self.stores.runs.find_experiment(experiment).id
        return self.stores.runs.search(order_by_metric=order_by_metric, ascending=ascending,
                                       dataset_name=dataset, limit=limit, experiment=experiment_id)

    def __call__(self, **kwargs: Any) -> builtins.list[Run]:
        warnings.warn("project.runs(...) is deprecated; use project.runs.list(...).", DeprecationWarning,
                      stacklevel=2)
        return self.list(**kwargs)
