"""``project.training`` against a server: training and retraining run there as jobs; this polls until one ends."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from conveyor.client._base import RemoteAPI
from conveyor.client.http import error_from
from conveyor.core.entities import DatasetVersion, ModelVersion, Run

if TYPE_CHECKING:
    from conveyor.pipeline.retrain import RetrainDecision

OnTrial = Callable[..., None]
POLL_S = 0.5


@dataclass
class RemoteTrainResult:
    """What `conveyor train` reports of a training the server ran (the shape of TrainResult's fields it reads)."""

    run: Run
    model_version: ModelVersion
    automl: Any
    metrics: dict[str, float] = field(default_factory=dict)
    gates: dict[str, Any] | None = None

    @property
    def failed_gates(self) -> list[dict[str, Any]]:
        return [r for r in (self.gates or {}).get("rules", []) if not r["passed"]]


class RemoteTraining(RemoteAPI):
    """:class:`~conveyor.project.training.TrainingAPI` over a server."""

    def train(self, dataset: str | DatasetVersion, target: str | None = None, *, model_name: str | None = None,
              task: str | None = None, metric: str | None = None, budget: str | float | None = None,
              max_trials: int | None = None, search: str | None = None, seed: int = 0,
              on_trial: OnTrial | None = None, folds: int | None = None, evaluate: str | None = None,
              started: float | None = None) -> RemoteTrainResult:
        """Train on the server as a job. Its budget runs from the job's start there (``started``, a moment on this
        machine's clock, does not carry over)."""
        ref = dataset.ref if isinstance(dataset, DatasetVersion) else dataset
        params = {"dataset": ref, "target": target, "model_name": model_name, "task": task, "metric": metric,
                  "budget": budget, "max_trials": max_trials, "search": search, "seed": seed, "folds": folds,
                  "evaluate": evaluate}
        result = self.run_job("train", {k: v for k, v in params.items() if v is not None})
        run = Run(**self.connection.get(f"/runs/{result['run']}"))
        version = ModelVersion(**self.connection.get("/models/resolve", ref=result["model_version"]))
        automl = SimpleNamespace(
            family=result["family"], task=result["task"], metric=result["metric"], validation=result["validation"],
            validation_score=result["validation_score"], params=result["params"], ensemble=result["ensemble"],
            dropped=result["dropped_columns"], refit=result.get("refit"), timings=result.get("timings", {}),
            trials=[SimpleNamespace(state=s) for s in result["trial_states"]],
            selection=[SimpleNamespace(column=c, why=w, kept=False)
                       for c, w in result["features_dropped_by_selection"].items()])
        return RemoteTrainResult(run, version, automl, result["metrics"], result["gates"])

    def retrain(self, model_name: str, *, budget: str | float | None = None, max_trials: int | None = None,
                seed: int = 0, on_trial: OnTrial | None = None) -> RetrainDecision:
        from conveyor.pipeline.retrain import RetrainDecision  # deferred: the training stack

        params = {"model_name": model_name, "budget": budget, "max_trials": max_trials, "seed": seed}
        return RetrainDecision(**self.run_job("retrain", {k: v for k, v in params.items() if v is not None}))

    def budget(self, budget: str | float | None = None, *, retrain: bool = False) -> float:
        given = None if budget is None else str(budget)
        return float(self.connection.get("/training/budget", budget=given, retrain=retrain)["seconds"])

    def run_job(self, kind: str, params: dict[str, Any], *, poll: float = POLL_S) -> dict[str, Any]:
        """Start a job on the server and wait for it; its result, or its error raised as the error tree's."""
        job = self.connection.post("/jobs", {"kind": kind, "params": params})
        while job["status"] in ("queued", "running"):
            time.sleep(poll)
            job = self.connection.get(f"/jobs/{job['id']}")
        if job["status"] != "done":
            raise error_from(409, job.get("error") or {"error": "conveyor_error", "message": f"Job {job['id']} "
                                                                                            f"{job['status']}."})
        return job["result"]
