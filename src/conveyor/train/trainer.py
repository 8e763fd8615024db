"""`conveyor train`: AutoML on a dataset version, recorded as a run with its lineage, ending in a model version."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from conveyor.core.entities import DatasetVersion, ModelVersion, Run
from conveyor.data.datasets import load_frame
from conveyor.registry.packaging import infer_inputs
from conveyor.store import Stores
from conveyor.train.automl import AutoMLResult, TrialResult, run_automl
from conveyor.train.tracking import start_run


@dataclass
class TrainResult:
    run: Run
    model_version: ModelVersion
    automl: AutoMLResult

    @property
    def metrics(self) -> dict[str, float]:
        return self.automl.holdout_metrics


def train(stores: Stores, dataset: DatasetVersion, target: str, *, model_name: str | None = None,
          task: str = "auto", metric: str | None = None, budget_seconds: float = 60.0,
          max_trials: int | None = None, search: str = "bayesian", seed: int = 0,
          frame: pd.DataFrame | None = None, holdout: pd.DataFrame | None = None, project_root: Path | None = None,
          on_trial: Callable[[TrialResult, float | None, float], None] | None = None,
          tags: dict[str, str] | None = None) -> TrainResult:
    """``frame`` (rows of ``dataset``) and ``holdout`` let a caller fix the split, e.g. a common recent holdout."""
    frame = load_frame(stores, dataset) if frame is None else frame
    result = run_automl(frame, target, task=task, metric=metric, budget_seconds=budget_seconds,
                        max_trials=max_trials, search=search, seed=seed, holdout=holdout, on_trial=on_trial)
    name = model_name or dataset.name
    with start_run(stores, name=f"train-{name}", dataset=dataset, project_root=project_root,
                   tags={"kind": "automl", **(tags or {})}) as run:
        run.log_params({"task": result.task, "target": target, "metric": result.metric, "search": search,
                        "budget_seconds": budget_seconds, "max_trials": max_trials, "seed": seed,
                        "family": result.family, **{f"model.{k}": v for k, v in result.params.items()}})
        run.log_batch([("trial_score", t.score, t.number) for t in result.trials if t.score is not None])
        run.log_metrics({f"validation_{result.metric}": result.validation_score})
        run.log_metrics(result.holdout_metrics)
        run.log_artifact("trials.json", {"trials": [t.__dict__ for t in result.trials],
                                         "dropped_columns": result.dropped})
        signature = {"inputs": infer_inputs(frame[result.features], None), "task": result.task,
                     "classes": result.classes, "target": target}
        version = run.log_model(result.pipeline, name, signature=signature, metrics=result.holdout_metrics,
                                meta={"family": result.family, "metric": result.metric})
    return TrainResult(stores.metadata.get_run(run.id), version, result)
