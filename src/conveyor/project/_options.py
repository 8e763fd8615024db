"""The trainer's, the retraining policy's and the drift checks' keyword arguments, assembled once from the typed
configuration: `conveyor train`, `conveyor retrain`, `conveyor monitor` and the agent all read them here, so they
cannot disagree."""

from __future__ import annotations

from typing import Any

from conveyor.execution import get_executor
from conveyor.project._base import ProjectState as Project
from conveyor.stats import DriftPolicy
from conveyor.train.budget import parse_budget


def train_options(project: Project, *, executor: bool = True) -> dict[str, Any]:
    """The train:, data: and gates: sections as the trainer's keyword arguments. With ``executor`` an executor of
    the configured kind is made (the caller shuts it down); without it trials run inline (a retrain is one short
    search, and the agent holds its options longer than an executor should live)."""
    config = project.config
    train, gates = config.train, config.gates
    options: dict[str, Any] = {
        "families": train.families,
        "feature_selection": train.feature_selection.to_dict() if train.feature_selection else None,
        "folds": train.folds,
        "ensemble": train.ensemble,
        "storage": train.study_storage,
        "sensitive": list(config.data.sensitive),
        "slice_column": train.slice,
        "gates": gates.rules() or None,
        "intended_use": train.intended_use,
        "evaluate": train.evaluate,
    }
    if executor:
        kind = project.settings.executor
        options["workers"] = train.workers
        options["executor"] = None if kind == "inline" else get_executor(kind, train.workers)
    return options


def train_budget(project: Project, budget: str | float | None = None, *, retrain: bool = False) -> float:
    """Seconds of a search: ``budget`` when given, else retrain.budget (for a retrain), else train.budget."""
    if budget is not None:
        return parse_budget(budget)
    config = project.config
    if retrain and config.retrain.budget is not None:
        return config.retrain.budget
    return config.train.budget


def retrain_options(project: Project, *, budget: str | float | None = None,
                    max_trials: int | None = None) -> dict[str, Any]:
    """Keyword arguments of :func:`conveyor.pipeline.retrain.retrain` for `conveyor retrain` and the agent (the
    alias, retrain.environment, is passed by each)."""
    config = project.config
    return {
        "budget_seconds": train_budget(project, budget, retrain=True),
        "max_trials": max_trials if max_trials is not None else config.retrain.max_trials,
        "search": config.train.search,
        "min_improvement": config.retrain.min_improvement,
        "holdout_fraction": config.retrain.holdout_fraction,
        "time_column": config.data.time_column,
        "project_root": project.root,
        "train_options": train_options(project, executor=False),
        "drift_policy": drift_policy(project),
    }


def drift_policy(project: Project) -> DriftPolicy:
    """How every verb judges drift (`conveyor monitor`, `data diff`, `retrain`, the agent): the monitor: section's
    tests and thresholds, so the same window gets the same verdict from each."""
    return DriftPolicy(**project.config.monitor.drift_policy())
