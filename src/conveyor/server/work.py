"""The kinds of job the server runs (``POST /api/v1/jobs {"kind": ..., "params": {...}}``): each calls the project's
sub-APIs, as the CLI verb of the same name does, and returns a JSON-ready result."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from conveyor.core.errors import BadInputError

if TYPE_CHECKING:
    from conveyor.project import Project

Say = Callable[[str], None]

TRAIN_PARAMS = ("dataset", "target", "model_name", "task", "metric", "budget", "max_trials", "search", "seed",
                "folds", "evaluate")
RETRAIN_PARAMS = ("model_name", "budget", "max_trials", "seed")


def _only(params: dict[str, Any], allowed: tuple[str, ...], kind: str) -> dict[str, Any]:
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise BadInputError(f"Unknown parameter {unknown[0]!r} for a {kind} job.", field=f"params.{unknown[0]}",
                            hint=f"A {kind} job takes {', '.join(allowed)}.")
    return params


def _trial_logger(say: Say) -> Callable[..., None]:
    def on_trial(trial: Any, best: float | None, elapsed: float) -> None:
        best_text = "-" if best is None else f"{best:.4f}"
        say(f"{elapsed:7.1f}s trial {getattr(trial, 'family', '?')} {getattr(trial, 'state', 'complete')} "
            f"best {best_text}")

    return on_trial


def train(project: Project, params: dict[str, Any], say: Say) -> dict[str, Any]:
    """`conveyor train` on the server: the run, model version, search summary, holdout metrics and gates."""
    options = _only(params, TRAIN_PARAMS, "train")
    if not options.get("dataset"):
        raise BadInputError("A train job needs params.dataset.", field="params.dataset", hint="e.g. churn@latest")
    dataset = options.pop("dataset")
    say(f"training on {dataset}")
    result = project.training.train(dataset, options.pop("target", None), on_trial=_trial_logger(say), **options)
    project.monitoring.reference_stats(result.model_version.ref)
    automl = result.automl
    say(f"done: {result.model_version.ref}")
    return {"run": result.run.id, "model_version": result.model_version.ref, "family": automl.family,
            "task": automl.task, "metric": automl.metric, "validation": automl.validation,
            "validation_score": automl.validation_score, "metrics": result.metrics,
            "trial_states": [t.state for t in automl.trials], "params": automl.params, "ensemble": automl.ensemble,
            "dropped_columns": automl.dropped,
            "features_dropped_by_selection": {d.column: d.why for d in automl.selection if not d.kept},
            "gates": result.gates, "refit": automl.refit, "timings": automl.timings}


def retrain(project: Project, params: dict[str, Any], say: Say) -> dict[str, Any]:
    """`conveyor retrain` on the server: the decision (promoted, kept, skipped) and why."""
    options = _only(params, RETRAIN_PARAMS, "retrain")
    if not options.get("model_name"):
        raise BadInputError("A retrain job needs params.model_name.", field="params.model_name")
    decision = project.training.retrain(options.pop("model_name"), on_trial=_trial_logger(say), **options)
    say(f"{decision.decision}: {decision.reason}")
    return decision.to_dict()


def agent(project: Project, params: dict[str, Any], say: Say) -> dict[str, Any]:
    """One pass of `conveyor agent` on the server (``model_name`` defaults to retrain.model): watches judged,
    triggers checked, and a retrain when one fired."""
    options = _only(params, ("model_name",), "agent")
    outcome = project.monitoring.agent(options.get("model_name")).run_once()
    say(f"triggers: {sorted(outcome.get('triggers') or {})}; decision: {outcome.get('decision')}")
    return outcome


KINDS: dict[str, Callable[[Project, dict[str, Any], Say], dict[str, Any]]] = {
    "train": train, "retrain": retrain, "agent": agent}
