"""``project.training`` against a server: ``train`` runs here, on the server's dataset version and its train:
settings, and logs the run, its artifacts and the model version to the server (whose gates then decide what may be
promoted); ``train_on_server`` and ``retrain`` run there as jobs, polled until they end."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from conveyor.client._base import RemoteAPI
from conveyor.client.data import RemoteData
from conveyor.client.http import error_from
from conveyor.client.models import model_from
from conveyor.client.runs import RemoteRuns
from conveyor.core.entities import DatasetVersion, ModelVersion, Run
from conveyor.core.errors import BadInputError

if TYPE_CHECKING:
    from conveyor.pipeline.retrain import RetrainDecision
    from conveyor.train.trainer import TrainResult

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
              started: float | None = None) -> TrainResult:
        """Train here, with the same trainer as a local project, on the server's dataset version and its data:
        and train: settings (arguments win); the run, its metrics and artifacts and the model version are logged to
        the server as ``project.runs.start()`` logs them. The server's gates were not evaluated on this machine:
        where it sets ``gates:``, the version is registered with a failed ``trained_on_server`` gate (the result's
        ``gates``), so promoting it takes ``--override-gates`` with a reason; ``train_on_server`` evaluates them
        there."""
        from conveyor.train.trainer import train  # deferred: scikit-learn, LightGBM, Optuna

        data = RemoteData(self.connection)
        version = data.get(dataset.ref if isinstance(dataset, DatasetVersion) else dataset)
        settings = self.connection.get("/training/options")
        target = target or settings["target"]
        if not target:
            raise BadInputError("No target column given.", field="target",
                                hint="Pass --target COLUMN or set data.target in the server's conveyor.yaml.")
        frame = data.load_frame(version.ref)
        time_column = settings["time_column"]
        if time_column and time_column in frame.columns:  # it orders rows for retraining; no feature
            frame = frame.drop(columns=[time_column])
        options = {k: settings[k] for k in ("families", "feature_selection", "folds", "ensemble", "sensitive",
                                            "slice_column", "intended_use", "evaluate")}
        options.update({k: v for k, v in {"folds": folds, "evaluate": evaluate}.items() if v is not None})
        result = train(None, version, target, model_name=model_name, frame=frame, task=task or settings["task"],
                       metric=metric or settings["metric"], budget_seconds=self.budget(budget),
                       max_trials=max_trials, search=search or settings["search"], seed=seed, on_trial=on_trial,
                       started=started, runs=RemoteRuns(self.connection), **options)
        result.gates = result.model_version.meta.get("gates")  # the server's word on what was logged
        return result

    def train_on_server(self, dataset: str | DatasetVersion, target: str | None = None, *,
                        model_name: str | None = None, task: str | None = None, metric: str | None = None,
                        budget: str | float | None = None, max_trials: int | None = None, search: str | None = None,
                        seed: int = 0, folds: int | None = None, evaluate: str | None = None) -> RemoteTrainResult:
        """Train on the server as a job (`conveyor train --remote`), under its gates; its budget runs from the
        job's start there."""
        ref = dataset.ref if isinstance(dataset, DatasetVersion) else dataset
        params = {"dataset": ref, "target": target, "model_name": model_name, "task": task, "metric": metric,
                  "budget": budget, "max_trials": max_trials, "search": search, "seed": seed, "folds": folds,
                  "evaluate": evaluate}
        result = self.run_job("train", {k: v for k, v in params.items() if v is not None})
        run = Run(**self.connection.get(f"/runs/{result['run']}"))
        version = model_from(self.connection.get("/models/resolve", ref=result["model_version"]))
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
