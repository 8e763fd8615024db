"""`conveyor train`: AutoML on a dataset version, recorded as a run with its lineage, its evaluation (the report's
source), its quality gates and model card, ending in a model version."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from conveyor.core.entities import DatasetVersion, ModelVersion, Run
from conveyor.core.environment import environment_tags
from conveyor.core.errors import BadInputError, NotFoundError
from conveyor.data.datasets import load_frame
from conveyor.evaluate.analysis import check_columns
from conveyor.execution.devices import choose_device
from conveyor.registry.cards import build_card, render_markdown
from conveyor.registry.flavors.sklearn import prepare_dump
from conveyor.registry.models import load_model
from conveyor.registry.packaging import detect_flavor, dump_model, infer_inputs
from conveyor.store import Stores
from conveyor.train.automl import AutoMLResult, TrialResult, run_automl
from conveyor.train.budget import Deadline
from conveyor.train.evaluation import EVALUATE_MODES, evaluate_result
from conveyor.train.gates import check_gates, evaluate_gates, summary
from conveyor.train.tracking import start_run

FAIRNESS_NOTE = 0.1  # a gap between groups above this is listed among the card's limitations
# reads what a run records beside the model (its environment tags) while the search runs; threads are started on
# the first train, and one read is all an early exit waits for
_BACKGROUND = ThreadPoolExecutor(max_workers=1, thread_name_prefix="conveyor-train-background")


@dataclass
class TrainResult:
    run: Run
    model_version: ModelVersion
    automl: AutoMLResult
    evaluation: dict[str, Any] = field(default_factory=dict)
    gates: dict[str, Any] | None = None

    @property
    def metrics(self) -> dict[str, float]:
        return self.automl.holdout_metrics

    @property
    def failed_gates(self) -> list[dict[str, Any]]:
        return [r for r in (self.gates or {}).get("rules", []) if not r["passed"]]


def _champion(stores: Stores, name: str, alias: str, holdout: pd.DataFrame, result: AutoMLResult):
    """The current champion's metrics on this run's holdout (the same rows), or None without one."""
    if name not in stores.registry.names() or alias not in stores.registry.aliases(name):
        return None
    from conveyor.evaluate.metrics import evaluate_model

    loaded = load_model(stores, f"{name}@{alias}")
    columns = [c for c in loaded.input_names if c in holdout.columns] or result.features
    scored = evaluate_model(loaded, holdout[[*columns, result.target]], result.target, result.task, result.classes)
    return loaded.version.ref, scored


def _stores(stores: Stores | None) -> Stores:
    if stores is None:
        raise BadInputError("Training without a project's stores needs the rows (frame), a run recorder (runs) and "
                            "no beat_champion gate.", field="stores")
    return stores


def _limitations(result: AutoMLResult, evaluation: dict[str, Any]) -> list[str]:
    notes = [f"Column {c!r} was not used: {why}." for c, why in result.dropped.items()]
    notes += [f"Model family {f!r} was not searched: {why}" for f, why in result.skipped_families.items()]
    notes += [f"Column {d.column!r} was left out by feature selection: {d.why}." for d in result.selection
              if not d.kept]
    if evaluation["holdout_rows"] < 200:
        notes.append(f"The holdout has only {evaluation['holdout_rows']} rows: its metrics are uncertain.")
    if result.ensemble:
        notes.append("An ensemble: SHAP values are not computed for it; permutation importance is.")
    for column, report in evaluation.get("fairness", {}).items():
        for key, value in report.items():
            if key.endswith("difference") and value is not None and value > FAIRNESS_NOTE:
                notes.append(f"{key} across {column!r} is {value:.3f} (above {FAIRNESS_NOTE}).")
    notes.append("Trained on the data of the version named below; rows unlike them (new categories, other "
                 "seasons) may score worse: watch drift with `conveyor monitor`.")
    return notes


def train(stores: Stores | None, dataset: DatasetVersion, target: str, *, model_name: str | None = None,
          task: str = "auto", metric: str | None = None, budget_seconds: float = 60.0,
          max_trials: int | None = None, search: str = "bayesian", seed: int = 0,
          frame: pd.DataFrame | None = None, holdout: pd.DataFrame | None = None, project_root: Path | None = None,
          on_trial: Callable[[TrialResult, float | None, float], None] | None = None,
          tags: dict[str, str] | None = None, families: list[str] | None = None,
          feature_selection: dict[str, Any] | None = None, folds: int | None = None, ensemble: bool = True,
          executor: Executor | None = None, workers: int = 1, storage: str | None = None,
          sensitive: list[str] | None = None, slice_column: str | None = None,
          gates: dict[str, Any] | None = None, intended_use: str | None = None, evaluate: str = "full",
          started: float | None = None, clock: Callable[[], float] | None = None, device: str = "auto",
          device_probe: Callable[[], dict[str, Any]] | None = None, runs: Any = None,
          reference: Callable[[ModelVersion, pd.DataFrame, Any], Any] | None = None) -> TrainResult:
    """``frame`` (rows of ``dataset``) and ``holdout`` let a caller fix the split, e.g. a common recent holdout.
    ``sensitive`` columns are evaluated for fairness but are not features; ``gates`` come from conveyor.yaml.
    The budget runs from ``started`` (a ``clock`` reading; `conveyor train` passes its process start, the default
    is now) and bounds the search, the refit, the evaluation and storing the run; ``evaluate`` is basic or full
    (importances too, when the budget leaves time). The run stores each phase's seconds (``timings.json`` and
    ``timing.<phase>`` metrics). ``device`` (auto, cpu, cuda) is where XGBoost trains; the run records the choice
    and why (``device_probe`` stands in for NVML in tests). ``runs`` (a ``project.runs``: ``start`` and ``get``)
    records the run and its model elsewhere, e.g. on a server (then ``stores`` may be None and ``frame`` is given);
    by default they go to ``stores``. ``reference`` (the new version, the rows it was trained on, the fitted model)
    stores what monitoring will compare with, inside the budget: the project passes the monitor's reference
    statistics (computing them afterwards took 1.4 s beyond a 10 s budget on a 30-class model)."""
    chosen = choose_device(device, device_probe)
    deadline = Deadline(budget_seconds, started, **({"clock": clock} if clock else {}))
    if evaluate not in EVALUATE_MODES:
        raise BadInputError(f"Unknown evaluation {evaluate!r}.", field="train.evaluate",
                            hint="Use basic (metrics, curves, slices, fairness) or full (also importances).")
    with deadline.phase("load"):
        frame = load_frame(_stores(stores), dataset) if frame is None else frame
        prepare_dump()  # the store's imports, paid before the search plans its time
    # the run's environment tags (the installed packages: 0.3 s) are read while the search runs, not after it: the
    # fits release the interpreter's lock
    environment = _BACKGROUND.submit(environment_tags, project_root or Path.cwd()) if runs is None else None
    check_gates(gates)
    sensitive = list(sensitive or [])
    check_columns(frame, [*sensitive, *([slice_column] if slice_column else [])], "data.sensitive/train.slice")
    name = model_name or dataset.name
    result = run_automl(frame.drop(columns=sensitive), target, task=task, metric=metric,
                        budget_seconds=budget_seconds, max_trials=max_trials, search=search, seed=seed,
                        holdout=None if holdout is None else holdout.drop(columns=sensitive, errors="ignore"),
                        on_trial=on_trial, families=families, feature_selection=feature_selection, folds=folds,
                        ensemble=ensemble, executor=executor, workers=workers, storage=storage,
                        study_name=f"{name}-{dataset.version}-{seed}" if storage else None, deadline=deadline,
                        device=chosen.name)
    # the held-out rows with their sensitive columns back, for slices and fairness
    source = frame if holdout is None else holdout  # the frame the holdout rows (and their index) came from
    evaluated_on = result.holdout.join(source[sensitive]) if sensitive else result.holdout
    if slice_column and slice_column not in evaluated_on.columns:
        evaluated_on = evaluated_on.join(source[[slice_column]])
    result.holdout = evaluated_on
    with deadline.phase("evaluate"):
        evaluation = evaluate_result(result, slice_column=slice_column, sensitive=sensitive, seed=seed,
                                     evaluate=evaluate, deadline=deadline)
    store_began = deadline.clock()
    flavor = detect_flavor(result.pipeline)
    package = dump_model(result.pipeline, flavor)  # sized here, stored as it is (not serialized twice)
    model_bytes = len(package)
    gate_summary = None
    if gates:
        try:
            champion = _champion(_stores(stores), name, (gates.get("beat_champion") or {}).get("alias", "champion"),
                                 evaluated_on, result) if "beat_champion" in gates else None
        except NotFoundError:
            champion = None
        gate_summary = summary(evaluate_gates(gates, metrics=result.holdout_metrics, metric=result.metric,
                                              fairness=evaluation["fairness"],
                                              latency_ms=evaluation["latency_ms_per_row"],
                                              model_bytes=model_bytes, champion=champion))
        evaluation["gates"] = gate_summary
    fairness_gaps = {c: {k: v for k, v in r.items() if k.endswith("difference")}
                     for c, r in evaluation["fairness"].items()}
    card = {"intended_use": intended_use,
            "data": {"holdout_rows": evaluation["holdout_rows"],
                     "training_rows": result.training_rows or len(frame) - len(result.holdout),
                     "refit": result.refit, "validation": result.validation,
                     **({"fallback": result.fallback} if result.fallback else {})},
            "training": {"family": result.family, "metric": result.metric, "search": search,
                         "trials": len(result.trials), "validation_score": result.validation_score,
                         "budget_seconds": budget_seconds, "seed": seed, "model_mb": round(model_bytes / 1e6, 3)},
            "fairness": fairness_gaps, "limitations": _limitations(result, evaluation)}
    run_tags = {"kind": "automl", **(tags or {})}
    if runs is None:  # this project's stores
        tracked: Any = start_run(_stores(stores), name=f"train-{name}", dataset=dataset, project_root=project_root,
                                 tags=run_tags, environment=environment.result() if environment else None)
        read_run = _stores(stores).runs.get
    else:
        tracked, read_run = runs.start(name=f"train-{name}", dataset=dataset, tags=run_tags), runs.get
    with tracked as run:
        run.log_params({"task": result.task, "target": target, "metric": result.metric, "search": search,
                        "budget_seconds": budget_seconds, "max_trials": max_trials, "seed": seed,
                        "family": result.family, "validation": result.validation,
                        "features_kept": sum(d.kept for d in result.selection), "evaluate": evaluate,
                        "refit": result.refit, "device": chosen.name,
                        **{f"model.{k}": v for k, v in result.params.items()}})
        run.log_batch([("trial_score", t.score, t.number) for t in result.trials if t.score is not None])
        run.log_metrics({f"validation_{result.metric}": result.validation_score})
        run.log_metrics(result.holdout_metrics)
        run.log_artifact("trials.json", {"trials": [t.__dict__ for t in result.trials],
                                         "dropped_columns": result.dropped,
                                         "skipped_families": result.skipped_families})
        run.set_tags({"device_reason": chosen.reason})
        if result.skipped_families:
            run.set_tags({"families_skipped": ", ".join(result.skipped_families)})
        if result.fallback:
            run.set_tags({"fallback": result.fallback})
        run.log_artifact("features.json", {"selection": [d.to_dict() for d in result.selection],
                                           "preprocessing": result.preprocessing, "dropped_columns": result.dropped})
        run.log_artifact("evaluation.json", evaluation)
        if gate_summary is not None:
            run.set_tags({"gates": "passed" if gate_summary["passed"] else "failed"})
        signature = {"inputs": infer_inputs(frame[result.features], None), "task": result.task,
                     "classes": result.classes, "target": target}
        meta = {"family": result.family, "metric": result.metric, "card": card}
        if gate_summary is not None:
            meta["gates"] = gate_summary
        version = run.log_model(result.pipeline, name, signature=signature, metrics=result.holdout_metrics,
                                meta=meta, package=package)
        if reference is not None:
            reference(version, frame, result.pipeline)
        final_card = build_card(version, read_run(run.id))
        run.log_artifact("model_card.json", final_card)
        run.log_artifact("model_card.md", render_markdown(final_card).encode())
        deadline.timings["store"] = round(deadline.clock() - store_began, 4)
        timings = deadline.record()
        result.timings = timings  # with the total so far and the budget
        run.log_metrics({f"timing.{phase}": seconds for phase, seconds in timings.items()})
        run.log_artifact("timings.json", timings)
    return TrainResult(read_run(run.id), version, result, evaluation, gate_summary)
