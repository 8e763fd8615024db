"""``project.training``: AutoML training (`conveyor train`) and one pass of the retraining policy
(`conveyor retrain`). The trainer pulls in scikit-learn, LightGBM and Optuna: imported when a method runs."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from conveyor.core.entities import DatasetVersion
from conveyor.core.errors import BadInputError
from conveyor.core.refs import check_name
from conveyor.data import datasets
from conveyor.project._base import LocalAPI
from conveyor.project._options import (
    retrain_alias,
    retrain_options,
    retrain_promotion,
    train_budget,
    train_options,
)

if TYPE_CHECKING:
    from conveyor.pipeline.retrain import RetrainDecision
    from conveyor.train.trainer import TrainResult

OnTrial = Callable[..., None]


class TrainingAPI(Protocol):
    """Training and retraining, with the options of conveyor.yaml (arguments win)."""

    def train(self, dataset: str | DatasetVersion, target: str | None = None, *, model_name: str | None = None,
              task: str | None = None, metric: str | None = None, budget: str | float | None = None,
              max_trials: int | None = None, search: str | None = None, seed: int = 0,
              on_trial: OnTrial | None = None, folds: int | None = None, evaluate: str | None = None,
              started: float | None = None) -> TrainResult: ...

    def retrain(self, model_name: str, *, budget: str | float | None = None, max_trials: int | None = None,
                seed: int = 0, on_trial: OnTrial | None = None) -> RetrainDecision: ...

    def budget(self, budget: str | float | None = None, *, retrain: bool = False) -> float: ...


class LocalTraining(LocalAPI):
    """:class:`TrainingAPI` in this process, on this project's stores."""

    def train(self, dataset: str | DatasetVersion, target: str | None = None, *, model_name: str | None = None,
              task: str | None = None, metric: str | None = None, budget: str | float | None = None,
              max_trials: int | None = None, search: str | None = None, seed: int = 0,
              on_trial: OnTrial | None = None, folds: int | None = None, evaluate: str | None = None,
              started: float | None = None) -> TrainResult:
        """AutoML on a dataset version: a tracked run with its evaluation, gates and model card, ending in a model
        version. ``target`` defaults to data.target; the other options to the train: section. The budget runs from
        ``started`` (a ``time.monotonic()`` reading; `conveyor train` passes its process start), else from now."""
        from conveyor.monitor.monitoring import reference_stats  # deferred: SciPy
        from conveyor.train.trainer import train  # deferred: scikit-learn, LightGBM, Optuna

        config = self.config
        version = datasets.resolve(self.stores, dataset)
        target = target or config.data.target
        if not target:
            raise BadInputError("No target column given.", field="target",
                                hint="Pass --target COLUMN or set data.target in conveyor.yaml.")
        if model_name:
            check_name(model_name, "model name")
        seconds = self.budget(budget)
        time_column = config.data.time_column
        frame = None
        if time_column and time_column in version.column_names:  # it orders rows for retraining; no feature
            frame = datasets.load_frame(self.stores, version).drop(columns=[time_column])
        options: dict[str, Any] = train_options(self._project)
        if folds is not None:
            options["folds"] = folds
        if evaluate is not None:
            options["evaluate"] = evaluate
        try:
            return train(self.stores, version, target, model_name=model_name, frame=frame,
                         task=task or config.train.task, metric=metric or config.train.metric,
                         budget_seconds=seconds, max_trials=max_trials, search=search or config.train.search,
                         seed=seed, project_root=self.root, on_trial=on_trial, started=started,
                         reference=lambda model, rows, fitted: reference_stats(self.stores, model, frame=rows,
                                                                               predict=fitted.predict),
                         **options)
        finally:
            if options["executor"] is not None:
                options["executor"].shutdown()

    def retrain(self, model_name: str, *, budget: str | float | None = None, max_trials: int | None = None,
                seed: int = 0, on_trial: OnTrial | None = None) -> RetrainDecision:
        """One pass of the retraining policy (the retrain: section): a challenger on the newest data against the
        champion (retrain.environment) on the same recent holdout; promoted only when better."""
        check_name(model_name, "model name")
        from conveyor.pipeline.retrain import retrain  # deferred: the whole training stack

        alias = retrain_alias(self._project)
        return retrain(self.stores, model_name, alias=alias, seed=seed, on_trial=on_trial,
                       promote_into=retrain_promotion(self._project, alias),
                       **retrain_options(self._project, budget=budget, max_trials=max_trials))

    def budget(self, budget: str | float | None = None, *, retrain: bool = False) -> float:
        """Seconds a search would run: ``budget`` when given, else retrain.budget (``retrain``), else train.budget."""
        return train_budget(self._project, budget, retrain=retrain)
