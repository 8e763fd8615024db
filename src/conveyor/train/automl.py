"""AutoML: an Optuna search over model families (each a scikit-learn pipeline with its preprocessing inside),
within a time and/or trial budget, scored by cross-validation (small data) or on a validation split (large data),
and reported on an untouched holdout.

Trials run fold by fold on an executor (inline, local processes, Ray): after each fold the trial reports its score
and Optuna's median pruner stops trials that trail the median of earlier ones at the same fold. Boosted trees stop
early on each validation fold, and the refit uses the rounds that did best. The best trials may be combined into a
weighted ensemble (greedy selection on their out-of-fold predictions) when that scores better.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Executor, Future, wait
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from conveyor.core.dependencies import extra_imports
from conveyor.core.errors import BadInputError, NotFoundError, first_line
from conveyor.evaluate.metrics import (
    CLASSIFICATION_METRICS,
    REGRESSION_METRICS,
    default_metric,
    greater_is_better,
)
from conveyor.execution import InlineExecutor
from conveyor.features.preprocess import describe, is_text
from conveyor.features.selection import FeatureDecision, select_features
from conveyor.train.budget import AFTER_SEARCH_MIN, Deadline
from conveyor.train.divergence import (
    broke_on_holdout,
    constant_score,
    fails_own_rows,
    probabilities_diverged,
)
from conveyor.train.estimators import make_ensemble
from conveyor.train.families import (
    IMBALANCE_RATIO,
    Family,
    SearchContext,
    check_family_names,
    choose_families,
    warm_start_order,
)
from conveyor.train.holdout import HoldoutCheck, check_on_holdout
from conveyor.train.searches import Search, SearchSpace, get_search
from conveyor.train.trials import (
    FoldResult,
    TrialData,
    make_pipeline,
    run_fold,
    save_data,
    score_predictions,
    single_threaded,
)

with extra_imports("train"):
    import optuna
    from sklearn.model_selection import KFold, StratifiedKFold, train_test_split
    from sklearn.pipeline import Pipeline

TRIAL_ROWS = 30_000  # trials fit on at most this many rows; the winner is refit on all training rows
MAX_CLASSES = 100
ENSEMBLE_CANDIDATES = 8
ENSEMBLE_ROUNDS = 12
CV_ON_EVERY_ROW = 3_000  # up to this many training rows, cross-validation runs on every row (the holdout's too)
WARM_FIRST = 2  # defaults trials scored before the refit on every row is kept (see _search)
# above this many training rows (where the folds stay inside them), the boosting defaults get a rounds trial and
# early-stopped rounds grow with the refit's rows; below, a trial is cheap and the folds hold 80% of every row
ROUNDS_TRIAL_ROWS = CV_ON_EVERY_ROW
# seconds that evaluating and storing the returned model take per second its holdout metrics took: a second
# prediction pass over the holdout, the latency probe, serializing the model and its reference statistics' predictions
# on 2,000 rows (a 30-class LightGBM on flights_dest at 10 s: 0.77 s of holdout metrics, then 1.1 s of evaluation
# and 2.1 s of storing; the refit on every row that the fixed share allowed ended the command at 13-14 s)
AFTER_HOLDOUT = 4.0
# seconds the search leaves beyond its estimates: what no fold time scales (choosing an ensemble, building each
# refit's pipeline, Python's own overhead). On small data (folds of hundredths of a second) the search otherwise
# ran to within a few of them of its reserve, and the ensemble's choice then found no partner's refit affordable
SEARCH_SLACK = 0.3


@dataclass
class TrialResult:
    number: int
    family: str
    params: dict[str, Any]
    score: float | None
    seconds: float
    error: str | None = None
    state: str = "complete"  # complete | pruned | failed
    fold_scores: list[float] = field(default_factory=list)
    partial: bool = False  # a defaults trial scored on the first fold only: its other folds did not fit the budget
    fold_clock: float | None = None  # seconds per fold on the search deadline's clock, as the refits are measured
    rounds_rows: int | None = None  # the rows each fold fitted where early stopping chose ``n_estimators``
    predict_per_row: float | None = None  # seconds its folds' predictions took per validation row (their mean)

    def rounds_for(self, rows: int) -> dict[str, Any]:
        """The parameters to fit on ``rows``: early-stopped rounds grown with the rows (:func:`rounds_growth`)."""
        if not self.rounds_rows or "n_estimators" not in self.params:
            return self.params
        grown = round(self.params["n_estimators"] * rounds_growth(rows / self.rounds_rows))
        return {**self.params, "n_estimators": max(1, grown)}

    def comparable_score(self, first_fold: bool) -> float:
        """The score trials are compared on: the first fold's where any trial was scored on that fold only."""
        if first_fold and self.fold_scores:
            return self.fold_scores[0]
        if self.score is None:  # only complete trials are compared, and they all have a score
            raise ValueError(f"Trial {self.number} ({self.state}) has no score to compare.")
        return self.score


MAX_ROUNDS_GROWTH = 2.0  # a small sample of a large table: its rounds grow at most this many times


def rounds_growth(ratio: float) -> float:
    """How many times the rounds early stopping chose on a fold's rows a fit on ``ratio`` times those rows gets:
    ``ratio`` itself, never fewer rounds, at most ``MAX_ROUNDS_GROWTH``. More rows carry more signal before a booster
    starts to fit noise: on the AutoML benchmark's larger sets, refits with 1.9 times the rounds of folds holding 53%
    of their rows scored better on the test rows in 13 of 16 (docs/train.md, "Refit")."""
    return float(min(MAX_ROUNDS_GROWTH, max(1.0, ratio)))


@dataclass(frozen=True)
class RefitRows:
    """The rows of a trial's refits against a fold's: the refit on the training rows holds ``training`` times a
    fold's fitting rows, the refit on every row (training and holdout; 0 when there is none) ``every_row`` times the
    training rows."""

    training: float = 1.0
    every_row: float = 0.0

    def units(self, grows: bool, every_row: bool = True) -> float:
        """The refits' seconds in fold-seconds: each refit's rows against a fold's, times the rounds that grow with
        them for an early-stopped trial (``grows``, :func:`rounds_growth`). The search's reserve once left the
        growth out: at 60 s flights_carrier's best XGBoost refit took 6.8 s where 4.5 s were kept, and the refit on
        every row no longer fitted (test log-loss 0.421 against 0.363 when it did)."""
        def growth(ratio: float) -> float:
            return ratio * (rounds_growth(ratio) if grows else 1.0)

        return growth(self.training) + (growth(self.training * self.every_row) if every_row and self.every_row
                                        else 0.0)


@dataclass
class AutoMLResult:
    pipeline: Any
    task: str
    classes: list
    target: str
    features: list[str]
    metric: str
    family: str
    params: dict[str, Any]
    validation_score: float
    holdout_metrics: dict[str, float]
    trials: list[TrialResult] = field(default_factory=list)
    dropped: dict[str, str] = field(default_factory=dict)
    validation: str = "holdout"
    selection: list[FeatureDecision] = field(default_factory=list)
    preprocessing: dict[str, str] = field(default_factory=dict)
    ensemble: dict[str, Any] | None = None
    holdout: pd.DataFrame | None = None  # the untouched rows the holdout metrics came from (for evaluation)
    skipped_families: dict[str, str] = field(default_factory=dict)  # family -> why it was not searched
    evaluated_pipeline: Any = None  # the model the holdout metrics are of (``pipeline`` may be refitted on all rows)
    training_rows: int = 0  # the rows ``pipeline`` was fitted on
    refit: str = "training rows"  # which rows, in words
    timings: dict[str, float] = field(default_factory=dict)  # seconds per phase (search, refit, holdout, ...)
    fallback: str | None = None  # why the best-ranked model was replaced (it diverged on the holdout), if it was
    holdout_check: HoldoutCheck | None = None  # ``evaluated_pipeline``'s outputs on ``holdout``, predicted once


def detect_task(y: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(y) or not pd.api.types.is_numeric_dtype(y):
        return "classification"
    if pd.api.types.is_integer_dtype(y) and y.nunique() <= 20:
        return "classification"
    return "regression"


def natural_order(values: list) -> list:
    """Classes in the order estimators use for predict_proba columns (numeric order for numbers)."""
    try:
        return sorted(values)
    except TypeError:  # mixed types: estimators refuse them too, but the message should come from prepare
        return sorted(values, key=str)


def _looks_like_id(name: str, series: pd.Series) -> bool:
    if pd.api.types.is_integer_dtype(series) and len(series) > 50 and series.nunique() == len(series):
        return name.lower() == "id" or name.lower().endswith(("_id", "id")) or series.is_monotonic_increasing
    return (not pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)
            and not pd.api.types.is_datetime64_any_dtype(series) and not is_text(series)
            and series.nunique() > 0.5 * len(series) and len(series) > 50)


def _check_target(y: pd.Series, target: str, task: str) -> list:
    if task == "regression":
        if not pd.api.types.is_numeric_dtype(y) or pd.api.types.is_bool_dtype(y):
            raise BadInputError(f"Regression target {target!r} is not numeric.", field="target",
                                hint="Use --task classification, or convert the column to numbers.")
        return []
    if pd.api.types.is_float_dtype(y) and not np.all(np.mod(y.to_numpy(dtype=float), 1) == 0) \
            and y.nunique() > 20:
        raise BadInputError(f"Target column {target!r} holds {y.nunique()} distinct fractional numbers: it is a "
                            "regression target, not classes.", field="target",
                            hint="Use --task regression (or auto), or bin the values into classes first.")
    classes = natural_order(y.unique().tolist())
    if len(classes) > MAX_CLASSES:
        raise BadInputError(f"Target column {target!r} has {len(classes)} distinct labels: too many classes.",
                            field="target", hint="If it holds numbers, pass --task regression; a classifier "
                            f"needs labels that repeat (at most {MAX_CLASSES} classes).")
    if len(classes) < 2:
        raise BadInputError(f"Target column {target!r} has a single class {classes[0]!r}.", field="target",
                            hint="A classifier needs at least two classes in the training data.")
    return classes


def prepare(frame: pd.DataFrame, target: str, task: str = "auto") -> tuple[pd.DataFrame, str, list, dict[str, str]]:
    """Check the target, choose the task, and drop columns no model can use (with the reason)."""
    if target not in frame.columns:
        raise NotFoundError.for_name("target column", target, frame.columns)
    y = frame[target]
    if y.isna().any():
        raise BadInputError(f"Target column {target!r} has {int(y.isna().sum())} missing values.", field="target",
                            hint="Drop or fill those rows before training.")
    task = detect_task(y) if task == "auto" else task
    if task not in ("classification", "regression"):
        raise BadInputError(f"Unknown task {task!r}.", field="task", hint="Use auto, classification or regression.")
    classes = _check_target(y, target, task)
    dropped = {}
    for name in frame.columns:
        if name == target:
            continue
        series = frame[name]
        if series.isna().all():
            dropped[name] = "all values missing"
        elif series.nunique(dropna=True) <= 1:
            dropped[name] = "constant"
        elif _looks_like_id(name, series):
            dropped[name] = "looks like an identifier (almost every value distinct)"
    if frame.shape[1] == 1:
        raise BadInputError(f"The data holds only the target column {target!r}.", field="features",
                            hint="Add feature columns to predict it from.")
    if len(dropped) == frame.shape[1] - 1:
        raise BadInputError("No usable feature columns: " + "; ".join(f"{k}: {v}" for k, v in dropped.items()),
                            field="features", hint="Add informative columns besides the target.")
    return frame.drop(columns=list(dropped)), task, classes, dropped


def _split(frame: pd.DataFrame, target: str, task: str, test_size: float, seed: int):
    stratify = frame[target] if task == "classification" and frame[target].value_counts().min() >= 2 else None
    return train_test_split(frame, test_size=test_size, random_state=seed, stratify=stratify)


def choose_folds(n_rows: int) -> int:
    """Cross-validation where data is small (a single split is noisy there), one validation split where it is
    large (each extra fold costs a whole fit)."""
    if n_rows <= 3_000:
        return 5
    if n_rows <= 20_000:
        return 3
    return 1


def make_folds(y: pd.Series, task: str, n_folds: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    index = np.arange(len(y))
    stratify = task == "classification" and y.value_counts().min() >= max(n_folds, 2)
    if n_folds == 1:
        fit, valid = train_test_split(index, test_size=0.2, random_state=seed, stratify=y if stratify else None)
        return [(np.sort(fit), np.sort(valid))]
    splitter = (StratifiedKFold if stratify else KFold)(n_splits=n_folds, shuffle=True, random_state=seed)
    return [(a, b) for a, b in splitter.split(index, y if stratify else None)]


def _storage(storage: str | None):
    """``None``: in memory; a database URL (PostgreSQL for workers on several hosts; a database of its own, as
    Optuna keeps its own Alembic table); else a journal file that the workers of one host share."""
    if storage is None:
        return None
    if "://" in storage:
        return optuna.storages.RDBStorage(url=storage)
    from optuna.storages.journal import JournalFileBackend

    return optuna.storages.JournalStorage(JournalFileBackend(storage))


def _share(executor: Executor, data: TrialData, folder: str) -> Any:
    if isinstance(executor, InlineExecutor) or type(executor).__name__ == "ThreadPoolExecutor":
        return data
    if hasattr(executor, "put"):  # a cluster's object store
        return executor.put(data)
    return save_data(data, os.path.join(folder, "trial-data.pkl"))


@dataclass
class _Running:
    trial: optuna.Trial
    family: Family
    params: dict[str, Any]
    warm: bool = False  # a family's defaults: fitted as they are (no early stopping) and never pruned, so the
    # search always knows, on the same folds and metric, the score of the model the library gives
    rounds: bool = False  # a family's early-stopped defaults (rounds_trial): like the defaults, scored on the folds
    # that fitted rather than cut (weather_temp at 10 s: 2.49 against XGBoost's defaults' 2.78 where it finished)
    folds: list[FoldResult] = field(default_factory=list)
    clock_seconds: list[float] = field(default_factory=list)  # each fold's, on the deadline's clock


def check_options(search: str, names: list[str] | None, folds: int | None) -> Search:
    found = get_search(search)
    check_family_names(names or [])
    if folds is not None and folds < 1:
        raise BadInputError(f"folds must be 1 (one validation split) or more, got {folds}.", field="folds",
                            hint="Leave it unset to choose by data size.")
    return found


@single_threaded()  # the refits too: each fit one core, as in the search
def run_automl(frame: pd.DataFrame, target: str, *, task: str = "auto", metric: str | None = None,
               budget_seconds: float = 60.0, max_trials: int | None = None, search: str = "bayesian",
               families: list[str] | None = None, seed: int = 0, holdout: pd.DataFrame | None = None,
               on_trial: Callable[[TrialResult, float | None, float], None] | None = None,
               executor: Executor | None = None, workers: int = 1, folds: int | None = None,
               feature_selection: dict[str, Any] | None = None, ensemble: bool = True,
               storage: str | None = None, study_name: str | None = None,
               deadline: Deadline | None = None, refit_all: bool = True, device: str = "cpu") -> AutoMLResult:
    """``deadline`` (default: ``budget_seconds`` from now) bounds the whole call, refit and holdout metrics
    included, and leaves its ``after_search`` share for the caller. ``refit_all``: when the holdout is split off
    here, the returned model is refitted on every labelled row (training and holdout) once its holdout metrics are
    taken, as the defaults a user compares with would be; ``evaluated_pipeline`` is the model those metrics are of.
    ``device`` (cpu or cuda, see conveyor.execution.devices) is where the families that can use a GPU train."""
    deadline = deadline or Deadline(budget_seconds)
    strategy = check_options(search, families, folds)
    frame, task, classes, dropped = prepare(frame, target, task)
    searched, skipped = choose_families(families or None, task)
    allowed = REGRESSION_METRICS if task == "regression" else CLASSIFICATION_METRICS
    metric = metric or default_metric(task, len(classes))
    if metric not in allowed:
        raise BadInputError(f"Metric {metric!r} does not fit a {task} task.", field="metric",
                            hint=f"Use one of {', '.join(allowed)}.")
    if len(frame) < 10:
        raise BadInputError(f"Only {len(frame)} rows: too few to train and hold out a test set.", field="data",
                            hint="Give at least 10 rows (hundreds for a useful model).")
    internal_holdout = holdout is None
    if holdout is None:
        train, holdout = _split(frame, target, task, 0.2, seed)
    else:
        train = frame
        holdout = holdout[[c for c in frame.columns if c in holdout.columns]]
    n_folds = folds or choose_folds(len(train))
    if n_folds > 1 and len(train) < 2 * n_folds:
        raise BadInputError(f"{len(train)} training rows are too few for {n_folds} folds.", field="folds",
                            hint=f"Give at least {2 * n_folds} rows, or fewer folds.")
    # on small data cross-validation runs on every labelled row, the internal holdout's included: folds of 80% of
    # the rows rank the families as the final fit on all of them does (folds of 64% favoured the linear model over
    # boosting, which gains more from the rows they left out); the model evaluated on the holdout never sees those
    # rows. On more rows the folds stay inside the training rows: their extra fitting time is spared for short
    # budgets (flights_carrier at 10 s fitted only LightGBM's 15-class defaults, one fold of 6,666 rows)
    every_row = internal_holdout and n_folds > 1 and len(train) <= CV_ON_EVERY_ROW
    searched_rows = pd.concat([train, holdout[train.columns]]) if every_row else train
    sample = searched_rows.sample(TRIAL_ROWS, random_state=seed) if len(searched_rows) > TRIAL_ROWS \
        else searched_rows
    sample = sample.reset_index(drop=True)
    all_features = [c for c in frame.columns if c != target]
    options = dict(feature_selection or {})
    selection = select_features(sample[all_features], sample[target], task, options.pop("method", "none"),
                                seed=seed, **options)
    features = [d.column for d in selection if d.kept]
    ctx = _context(task, classes, sample[target], device)
    data = TrialData(sample[all_features], sample[target], make_folds(sample[target], task, n_folds, seed), ctx,
                     classes, metric, seed, features)
    sign = 1.0 if greater_is_better(metric) else -1.0
    space = SearchSpace(searched, ctx)
    own_executor = executor is None
    executor = executor or InlineExecutor()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study_storage = _storage(storage)
    study = optuna.create_study(direction="maximize", sampler=strategy.sampler(space, seed),
                                pruner=optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=0),
                                storage=study_storage, study_name=study_name, load_if_exists=True)
    warm_trials = 0
    if strategy.warm_start:
        for warm in warm_start_order(searched, ctx, len(sample)):
            study.enqueue_trial(default_trial(warm, ctx), skip_if_exists=True)
            warm_trials += 1
    limit = strategy.trial_limit(max_trials, space)
    try:
        with tempfile.TemporaryDirectory(prefix="conveyor-trials-") as folder:
            shared = _share(executor, data, folder)
            refit_rows_of = RefitRows(
                len(train) / max(1.0, len(sample) * ((n_folds - 1) / n_folds if n_folds > 1 else 0.8)),
                1 + len(holdout) / len(train) if refit_all and internal_holdout else 0.0)
            with deadline.phase("search"):
                trials, predictions = _search(study, executor, shared, data, strategy, space, limit, deadline,
                                              workers, sign, on_trial, warm_trials, refit_rows_of, ensemble,
                                              boosting_rounds=len(train) > ROUNDS_TRIAL_ROWS)
    finally:
        if own_executor:
            executor.shutdown()
        if isinstance(study_storage, optuna.storages.RDBStorage):
            study_storage.engine.dispose()
    completed = [t for t in trials if t.state == "complete"]
    if not completed:
        errors = sorted({first_line(t.error) for t in trials if t.error})
        reasons = "; ".join(errors[:3]) or "no trial finished within the budget"
        raise BadInputError(f"No model could be trained: {reasons}", field="data",
                            hint="Check the data, or give a larger --budget.")
    compared = compared_trials(completed, sign)
    best = choose_best(compared, sign)
    first_fold = any(t.partial for t in compared)
    final_features = train[all_features]
    keep = deadline.after_search()
    passed_over = None
    labelled = holdout[[*all_features, target]]
    constant = constant_score(train[target], holdout[target], task, classes, metric)
    constant_loss = constant_score(train[target], holdout[target], task, classes, "log_loss") \
        if task == "classification" and metric != "log_loss" else None
    # a best trial worse in validation than the constant prediction diverged on its folds (LightGBM's 15-class
    # defaults on flights_carrier: 23 where the class shares score 2.3): its refit would only be checked and thrown
    # away, 2 of a 10 s budget's seconds, so the fallback comes at once, and on every trial (none is better)
    fallback_note: str | None = None
    early = _fall_back(completed, {t.number for t in completed}, searched, ctx, space, data, train, labelled,
                       target, seed, task, classes, metric, sign, constant, constant_loss, deadline,
                       first_fold) \
        if worse_than(best.comparable_score(first_fold), constant, sign) else None
    if early is not None:
        fallback_note = (f"{best.family} scored {best.comparable_score(first_fold):.4g} in validation, worse than a "
                         f"constant prediction ({constant:.4g}): not refitted; replaced by "
                         f"{replacement_name(early.trial, space)}")
        best, pipeline, check, refit_seconds = early.trial, early.pipeline, early.check, early.refit_seconds
    else:
        if refit_all and internal_holdout:
            best, passed_over = _refittable_on_every_row(best, compared, sign, first_fold, refit_rows_of, deadline,
                                                         keep)
        with deadline.phase("refit"):
            pipeline = _refit(best, space, data, train, target, seed)
        refit_seconds = deadline.timings["refit"]
        with deadline.phase("holdout"):  # before the ensemble's choice: what the best alone would leave for refits
            check = check_on_holdout(pipeline, labelled, target, task, classes, deadline.clock)
    refit_rows = (pd.concat([train, holdout[train.columns]]) if refit_all and internal_holdout else None)

    def every_row_fits(pending: float, members: list[TrialResult], fit_seconds: float, holdout_seconds: float
                       ) -> bool:
        if refit_rows is None:
            return deadline.fits(pending, keep)
        return every_row_refit_fits(deadline, keep, pending, members, fit_seconds, holdout_seconds,
                                    len(refit_rows), len(train))

    family, params, ensemble_info = best.family, best.params, None
    score = best.comparable_score(first_fold) if best.state == "complete" else check.metrics[metric]
    chosen_trials, chosen_weights = [best], None
    notes: list[str] = []
    broken: list[int] = []  # trials whose refit diverged on its own rows
    single: _Replacement | None = None  # the best trial alone, refitted and checked, while an ensemble is weighed
    if ensemble and early is None:  # chosen on the rows the trials are compared on: every fold's, or the first's
        # members' refits (and holdout predictions) are estimated from their trial times against the best's; left
        # out when they overrun, or when the ensemble could not then be refitted on every row where the best trial
        # alone could: the rows a model is fitted on counted more than the ensemble (segment at 30 s: an ensemble on
        # the training rows lost to LightGBM's defaults fitted on every row). The members are chosen among the
        # trials whose own refits fit: digits at 30 s chose a linear model alone (log-loss 0.110 in validation),
        # where an ensemble with the boosting families scored 0.087 but histogram gradient boosting's refit did not
        # fit; LightGBM's did
        by_number = {t.number: t for t in completed}
        single_fits_all = every_row_fits(0.0, [best], refit_seconds, check.seconds)
        single = _Replacement(best, pipeline, check, refit_seconds)

        def member_refit(trial: TrialResult) -> float:
            return refit_seconds * _per_fold(trial) / max(_per_fold(best), 1e-6)

        def refits_fit(others: float, members: list[TrialResult]) -> bool:
            holdout_seconds = ensemble_holdout_seconds(check.seconds, best, members, len(labelled))
            return deadline.fits(others + holdout_seconds, keep) and (
                every_row_fits(others + holdout_seconds, members, refit_seconds + others, holdout_seconds)
                or not single_fits_all)

        affordable = [t for t in compared if t is best or refits_fit(member_refit(t), [best, t])]
        chosen = _ensemble_weights(affordable, predictions, data, sign, first_fold)
        others = sum(member_refit(by_number[n]) for n in chosen[0] if n != best.number) if chosen is not None \
            else 0.0
        if chosen is not None and sign * chosen[1] > sign * score + 1e-9 \
                and refits_fit(others, [by_number[n] for n in chosen[0]]):
            weights, ens_score = chosen
            with deadline.phase("refit"):
                fitted = {n: pipeline if n == best.number else _refit(by_number[n], space, data, train, target, seed)
                          for n in weights}
                broken = [n for n in weights if fails_own_rows(fitted[n], train, target, task, classes, seed)]
            if broken:  # the others' weights and score again, without the members that diverged
                notes.append("diverged on their own fitting rows when refitted as ensemble members, left out: "
                             + ", ".join(f"trial {n} ({by_number[n].family})" for n in broken))
                weights = {n: w for n, w in weights.items() if n not in broken}
                rescored = _ensemble_score(weights, predictions, data, first_fold) if len(weights) > 1 else None
                ens_score = score if rescored is None else rescored  # no better than the best single: not kept
            if len(weights) > 1 and sign * ens_score > sign * score + 1e-9:
                total = sum(weights.values())
                weights = {n: w / total for n, w in weights.items()}
                pipeline = make_ensemble([fitted[n] for n in weights], list(weights.values()), task, classes)
                chosen_trials, chosen_weights = [by_number[n] for n in weights], list(weights.values())
                ensemble_info = {"members": [{"trial": n, "family": by_number[n].family, "weight": w}
                                             for n, w in weights.items()],
                                 "validation_score": ens_score, "best_single": score}
                family, params, score = "ensemble", {"members": list(weights)}, ens_score
                with deadline.phase("holdout"):
                    check = check_on_holdout(pipeline, labelled, target, task, classes, deadline.clock)
    holdout_metrics = check.metrics
    final_refit_seconds = deadline.timings["refit"] if early is None else early.refit_seconds
    if early is None and broke_on_holdout(holdout_metrics, score, constant, constant_loss, metric):
        # the refit broke where its folds did not (LightGBM's 15-class defaults on flights_carrier: 0.90 on their
        # fold, 18 on the holdout): the next candidate instead, in the order the search ranked them
        replaced = {best.number} if ensemble_info is None else set()  # an ensemble's best member goes first
        replaced |= set(broken)  # known to diverge on their own rows
        replacement = _fall_back(completed, replaced, searched, ctx, space, data, train, labelled, target, seed,
                                 task, classes, metric, sign, constant, constant_loss, deadline, first_fold)
        if replacement is not None:
            on_holdout = f"{holdout_metrics.get(metric, np.nan):.4g} on the holdout (diverged)" \
                if not probabilities_diverged(holdout_metrics, constant_loss) else (
                    f"{holdout_metrics.get(metric, np.nan):.4g} and log-loss {holdout_metrics['log_loss']:.4g} on the "
                    f"holdout (its probabilities diverged: the class shares score {constant_loss:.4g})")
            fallback_note = (f"{family} scored {score:.4g} in validation but {on_holdout}; replaced by "
                             f"{replacement_name(replacement.trial, space)}")
            pipeline, check, holdout_metrics = replacement.pipeline, replacement.check, replacement.check.metrics
            final_refit_seconds = replacement.refit_seconds
            best, chosen_trials, chosen_weights, ensemble_info = replacement.trial, [replacement.trial], None, None
            family, params = best.family, best.params
            score = best.comparable_score(first_fold) if best.state == "complete" else holdout_metrics[metric]
    validation = _validation_name(n_folds, first_fold) if best.state == "complete" \
        else "holdout (a fallback the search never scored: the chosen model diverged)"
    if refit_rows is not None and ensemble_info is not None and single is not None \
            and best.number not in broken \
            and not broke_on_holdout(single.check.metrics, float(ensemble_info["best_single"]), constant,
                                     constant_loss, metric) \
            and not every_row_fits(0.0, chosen_trials, final_refit_seconds, check.seconds) \
            and every_row_fits(0.0, [single.trial], single.refit_seconds, single.check.seconds):
        # the ensemble was chosen because its refit on every row was estimated to fit as the best's alone did;
        # its members' refits then ran longer than their folds foretold (segment at 10 s: an ensemble left on the
        # training rows scored log-loss 0.066 on the test rows, LightGBM's defaults refitted on every row 0.031).
        # Not where the best alone broke on its own rows or on the holdout (an ensemble can average that away)
        notes.append(f"the ensemble ({ensemble_info['validation_score']:.4g} in validation) could not be refitted "
                     f"on every row within the budget: {best.family} alone ({ensemble_info['best_single']:.4g}), "
                     "refitted on every row, instead")
        pipeline, check, holdout_metrics, final_refit_seconds = single.pipeline, single.check, \
            single.check.metrics, single.refit_seconds
        family, params, score = best.family, best.params, float(ensemble_info["best_single"])
        chosen_trials, chosen_weights, ensemble_info = [best], None, None
    evaluated, training_rows, refit_note = pipeline, len(train), "training rows"
    if refit_rows is not None:
        if every_row_fits(0.0, chosen_trials, final_refit_seconds, check.seconds):
            with deadline.phase("refit_all"):
                final, broken_trials = _refit_final(chosen_trials, chosen_weights, space, data, refit_rows, target,
                                                    seed, task, classes)
            if final is None:  # the model evaluated on the holdout stays: it passed a check on unseen rows
                notes.append("refitted on every row, diverged on their own rows: "
                             + ", ".join(f"trial {t.number} ({t.family})" for t in broken_trials))
                refit_note = "training rows (the refit on every row diverged on its own rows)"
            else:
                pipeline = final
                training_rows, refit_note = len(refit_rows), "all rows (training and holdout)" + (
                    f"; {passed_over.family} ranked first in validation, but its refits on the training rows and on "
                    "every row would not have fitted the budget" if passed_over is not None else "")
        else:
            refit_note = "training rows (refitting on all rows would overrun the budget)"
    if ensemble_info is None:  # the returned model's own: early-stopped rounds grown with its rows
        params = best.rounds_for(training_rows)
    result = AutoMLResult(pipeline, task, classes, target, all_features, metric, family, params, score,
                          holdout_metrics, trials, dropped, validation,
                          selection, describe(final_features[features]), ensemble_info, holdout, skipped)
    result.evaluated_pipeline, result.training_rows, result.refit = evaluated, training_rows, refit_note
    result.holdout_check = check
    result.fallback = "; ".join([*([fallback_note] if fallback_note else []), *notes]) or None
    result.timings = deadline.timings
    return result


@dataclass
class _Replacement:
    trial: TrialResult
    pipeline: Any
    check: HoldoutCheck
    refit_seconds: float


def _fall_back(completed: list[TrialResult], chosen: set[int], searched: list[Family], ctx: SearchContext,
               space: SearchSpace, data: TrialData, train: pd.DataFrame, holdout: pd.DataFrame, target: str,
               seed: int, task: str, classes: list, metric: str, sign: float, constant: float | None,
               constant_loss: float | None, deadline: Deadline, first_fold: bool) -> _Replacement | None:
    """The next candidate whose holdout figure is sane: the other completed trials in the order the search ranked
    them, then the defaults of families the search never scored (flights_carrier at 10 s scored only LightGBM's).
    Each is refitted on the training rows and checked on the holdout; the first sane one is returned, else the
    best on the holdout if it beats the constant prediction, else None. Tries no more once the budget is spent
    (one at least)."""
    ranked = sorted([t for t in completed if t.number not in chosen],
                    key=lambda t: -sign * t.comparable_score(first_fold))
    scored = {t.family for t in completed}
    untried = [TrialResult(-1, f.name, library_defaults(f, {"balanced": False} if ctx.task == "classification"
                                                        and ctx.imbalanced else {}), None, 0.0, state="fallback")
               for f in warm_start_order(searched, ctx, len(train)) if f.name not in scored]
    best: _Replacement | None = None
    for trial in [*ranked, *guarded([t for t in completed if t.number in chosen], space), *untried]:
        if best is not None and deadline.remaining() <= 0:
            break
        began = deadline.clock()
        with deadline.phase("refit"):
            pipeline = _refit(trial, space, data, train, target, seed)
        seconds = deadline.clock() - began
        with deadline.phase("holdout"):
            check = check_on_holdout(pipeline, holdout, target, task, classes, deadline.clock)
        value = check.metrics.get(metric)
        validation = trial.comparable_score(first_fold) if trial.state == "complete" else None
        if not broke_on_holdout(check.metrics, validation, constant, constant_loss, metric):
            return _Replacement(trial, pipeline, check, seconds)
        if value is not None and np.isfinite(value) and not probabilities_diverged(check.metrics, constant_loss) \
                and (best is None or sign * value > sign * best.check.metrics[metric]):
            best = _Replacement(trial, pipeline, check, seconds)
    if best is None or constant is None or sign * best.check.metrics[metric] < sign * constant:
        return None
    return best


def guarded(diverged_trials: list[TrialResult], space: SearchSpace) -> list[TrialResult]:
    """The trials that diverged, with their family's ``guard`` (LightGBM's hessian floor) where it changes them: the
    same model with bounded leaves, cheaper than another family's defaults and, on flights_carrier at 10 s, better
    (LightGBM's defaults with the floor scored test log-loss 0.34 where XGBoost's, the fallback before, scored
    0.41-0.43)."""
    return [TrialResult(-1, trial.family, {**trial.params, **space.family(trial.family).guard}, None, 0.0,
                        state="fallback", rounds_rows=trial.rounds_rows)
            for trial in diverged_trials if space.family(trial.family).guard and not _guarded(trial, space)]


def _guarded(trial: TrialResult, space: SearchSpace) -> bool:
    """Whether ``trial`` already fits with its family's guard."""
    guard = space.family(trial.family).guard
    return bool(guard) and all(trial.params.get(k) == v for k, v in guard.items())


def worse_than(score: float, constant: float | None, sign: float) -> bool:
    """Whether ``score`` is worse than a constant prediction's (a trial that diverged on its folds)."""
    return constant is not None and bool(np.isfinite(constant)) and sign * score < sign * constant


def replacement_name(trial: TrialResult, space: SearchSpace) -> str:
    """How a fallback names the model that replaced a diverged one, and whether the search scored it."""
    if trial.state == "complete":
        return trial.family
    fitted = f"{trial.family} with " + ", ".join(f"{k}={v:g}" for k, v in space.family(trial.family).guard.items()) \
        if _guarded(trial, space) else f"{trial.family} defaults"
    return fitted + " (not validated: the search ended before it ran)"


def choose_best(completed: list[TrialResult], sign: float) -> TrialResult:
    """The best completed trial. Compared on their scores (the mean over every fold), except when a defaults trial
    was scored on the first fold only (its other folds did not fit the budget): then every trial is compared on
    that first fold, the split they all share, so the choice is never worse there than any scored default."""
    first_fold = any(t.partial for t in completed)
    return max(completed, key=lambda t: sign * t.comparable_score(first_fold))


NEAR_BEST = 0.05  # a candidate within this share of the best's loss (or error, 1 - score) is close enough to it


def relative_gap(score: float, best: float, sign: float) -> float:
    """How far ``score`` trails ``best``, as a share of the best's loss; for scores that are best at 1 (AUC,
    accuracy, R²) the loss is the error, 1 - score, so 0.990 against 0.995 is a gap of 100%, not of 0.5%."""
    if sign < 0:
        return (score - best) / max(abs(best), 1e-12)
    return (best - score) / max(1.0 - best, 1e-12)


def compared_trials(completed: list[TrialResult], sign: float) -> list[TrialResult]:
    """The completed trials the model is chosen among. A defaults trial scored on its first fold only makes every
    trial compared on that fold, but only while it contends there: within ``NEAR_BEST`` of, or ahead of, the trial
    that would be chosen on every fold, on the fold they share. One further behind is set aside, and the others are
    compared, and ensembled, on every fold: one fold is a noisier judge than all of them (at 10 s, 31 of the AutoML
    benchmark's 76 runs were judged on one fold before this rule, 12 with it). The model chosen then beats the
    set-aside defaults on their one fold by more than ``NEAR_BEST``, and every other defaults trial on every fold."""
    full = [t for t in completed if not t.partial]
    partial = [t for t in completed if t.partial]
    if not partial or not full:
        return completed
    chosen = choose_best(full, sign)
    if any(relative_gap(t.fold_scores[0], chosen.fold_scores[0], sign) <= NEAR_BEST for t in partial):
        return completed
    return full


def ensemble_partner(completed: list[TrialResult], best: TrialResult, sign: float,
                     seconds_per_fold: Callable[[TrialResult], float] | None = None) -> TrialResult | None:
    """The trial whose refit the search keeps time for beside the best's, so an ensemble can still be refitted when
    the search ends: the fastest (per fold) of the other families' trials within ``NEAR_BEST`` of the best; None
    when no other family is that close; "fastest" by ``seconds_per_fold`` (the search passes its family's mean fold
    on the deadline's clock). An ensemble gains from a family whose errors differ, and the fastest such member costs
    the search the least time (digits at 30 s: a linear model best at 0.03 s a fold, LightGBM's
    defaults 3.9% behind at 0.36 s, histogram gradient boosting's 1.5% behind at 1.25 s)."""
    first_fold = any(t.partial for t in completed)
    near = [t for t in completed if t.family != best.family and relative_gap(
        t.comparable_score(first_fold), best.comparable_score(first_fold), sign) <= NEAR_BEST]
    return min(near, key=seconds_per_fold or _per_fold) if near else None


def _refittable_on_every_row(best: TrialResult, completed: list[TrialResult], sign: float, first_fold: bool,
                             refit_rows_of: RefitRows, deadline: Deadline, keep: float
                             ) -> tuple[TrialResult, TrialResult | None]:
    """The trial to refit: ``best``, unless it is a defaults trial scored on its first fold only whose two refits
    (training rows, then every row; estimated from that fold) would overrun the budget while a trial within
    ``NEAR_BEST`` of it on that fold would not. Then that one, and the one passed over: one fold's lead is thin
    evidence, and a model fitted on every row beat it fitted on the training rows alone (digits at 10 s: LightGBM's
    10-class defaults on every row scored log-loss 0.0615 on the test rows, histogram gradient boosting's defaults
    on the training rows 0.0846, 2.5% ahead on the first fold). A best scored on every fold stays: on flights_delay
    at 10 s passing over a complete XGBoost trial for a LightGBM one cost 4% RMSE on the test rows."""
    def fits(trial: TrialResult) -> bool:  # its refits, and about one fold more for the holdout (as _search keeps)
        return deadline.fits(_per_fold(trial) * (refit_rows_of.units(trial.rounds_rows is not None) * 1.5 + 1),
                             keep * 0.5)

    def shortfall(trial: TrialResult) -> float:
        return relative_gap(trial.comparable_score(first_fold), best.comparable_score(first_fold), sign)

    if not best.partial or fits(best):
        return best, None
    near = [t for t in completed if t is not best and fits(t) and shortfall(t) <= NEAR_BEST]
    if not near:
        return best, None
    return max(near, key=lambda t: sign * t.comparable_score(first_fold)), best


def _per_fold(trial: TrialResult) -> float:
    """A trial's seconds per fold: on the deadline's clock where the search measured them (the clock the refits
    are timed on, so the two compare), else from the folds' own timings (a partial trial ran one fold)."""
    if trial.fold_clock is not None:
        return trial.fold_clock
    return trial.seconds / max(1, len(trial.fold_scores))


def every_row_refit_fits(deadline: Deadline, keep: float, pending: float, members: list[TrialResult],
                        fit_seconds: float, holdout_seconds: float, rows: int, training_rows: int) -> bool:
    """Whether ``pending`` seconds of work, then the refit on every one of ``rows`` of ``members`` (fitted on the
    ``training_rows`` in ``fit_seconds``, their holdout metrics taken in ``holdout_seconds``), still leave the
    evaluation and the store their time before the deadline. The ensemble's choice and the refit itself ask this
    one question: when the first estimated the refit without the rounds that grow with the rows, flights_carrier
    and flights_dest at 60 s chose an ensemble that then stayed on the training rows, and lost to the best model
    alone refitted on every row (as at 30 s) by 6-13% log-loss."""
    more_rounds = _rounds_ratio(members, rows, training_rows)
    estimate = fit_seconds * rows / training_rows * more_rounds
    # the basic evaluation and the store: half the share kept after the search, or, when more, their own fixed
    # part (0.2-0.9 s measured) and what grows with the model; a 60 s budget's share (2.4 s) holds most models'
    after = max(keep * 0.5, AFTER_SEARCH_MIN * 0.5 + AFTER_HOLDOUT * holdout_seconds * more_rounds)
    return deadline.fits(pending + estimate, after)


def ensemble_holdout_seconds(best_seconds: float, best: TrialResult, members: list[TrialResult], rows: int) -> float:
    """What an ensemble's holdout metrics would take: the best member's, measured (``best_seconds``), and for each
    other member one pass over the ``rows`` at its folds' seconds per row (a classifier's labels come from the
    same ``predict_proba`` pass, :func:`conveyor.train.holdout.check_on_holdout`). The
    members' fit times say little of it: with a linear model best on `digits` at 60 s (0.03 s a fit, 0.03 s of
    holdout metrics), a LightGBM partner 29 times slower to fit was counted at 0.9 s of holdout metrics, and an
    ensemble with it needed 7 s of the 10 s left by that estimate; the linear model alone was returned."""
    others = [t for t in members if t is not best]
    return best_seconds + sum(t.predict_per_row * rows if t.predict_per_row is not None else best_seconds
                              for t in others)


def _rounds_ratio(trials: list[TrialResult], rows: int, training_rows: int) -> float:
    """How many times the rounds of a fit on ``training_rows`` a fit on ``rows`` gets (early-stopped rounds grow
    with the rows, :func:`rounds_growth`); the most over ``trials`` (an ensemble's members), 1 without rounds."""
    return max(t.rounds_for(rows).get("n_estimators", 1) / t.rounds_for(training_rows).get("n_estimators", 1)
               for t in trials)


def _validation_name(n_folds: int, first_fold: bool) -> str:
    if n_folds == 1:
        return "holdout"
    return f"first fold of {n_folds}-fold CV (a defaults trial could not fit every fold)" if first_fold \
        else f"{n_folds}-fold CV"


def _refit_final(chosen: list[TrialResult], weights: list[float] | None, space: SearchSpace, data: TrialData,
                 rows: pd.DataFrame, target: str, seed: int, task: str, classes: list
                 ) -> tuple[Any | None, list[TrialResult]]:
    """The chosen model (one trial, or an ensemble's member trials with their weights) fitted on ``rows``, and the
    trials whose fit there diverged on those rows (:func:`fails_own_rows`); None when any did: the model fitted on
    the training rows then stays, the one the holdout checked and the run describes (an ensemble without a member
    was never validated, and could be a light member alone)."""
    fitted = [_refit(trial, space, data, rows, target, seed) for trial in chosen]
    broken = [trial for trial, model in zip(chosen, fitted, strict=True)
              if fails_own_rows(model, rows, target, task, classes, seed)]
    if broken:
        return None, broken
    return (fitted[0] if weights is None else make_ensemble(fitted, weights, task, classes)), []


def _ensemble_score(weights: dict[int, float], predictions: dict[int, np.ndarray], data: TrialData,
                    first_fold: bool) -> float | None:
    """The validation score of ``weights``' average, on the rows :func:`_ensemble_weights` chose them on."""
    if not weights:
        return None
    y_true, outputs = _ensemble_rows(list(weights), predictions, data, first_fold)
    total = sum(weights.values())
    return score_predictions(data, y_true, sum(outputs[n] * (w / total) for n, w in weights.items()))


def _context(task: str, classes: list, y: pd.Series, device: str = "cpu") -> SearchContext:
    if task == "regression":
        return SearchContext(task, device=device)
    counts = y.value_counts()
    # the minority's share against an even split (IMBALANCE_RATIO of two classes): seven equal classes hold 14% each
    # and are balanced; weighting them would only cost log-loss
    imbalanced = counts.min() / counts.sum() < IMBALANCE_RATIO * 2 / max(len(classes), 2)
    pos_weight = float(counts.get(classes[0], 1) / max(counts.get(classes[-1], 1), 1)) if len(classes) == 2 else 1.0
    return SearchContext(task, len(classes), bool(imbalanced), pos_weight, device)


def default_trial(family: Family, ctx: SearchContext) -> dict[str, Any]:
    """The enqueued parameters of a family's defaults trial: every choice its search draws is fixed, class weighting
    off included (left open, the sampler drew it at random and the "defaults" were not the library's). Values the
    space cannot hold are enqueued as its nearest point (``recorded_defaults``); the trial fits ``defaults``
    (:func:`library_defaults`)."""
    params = dict(family.defaults if family.recorded_defaults is None else family.recorded_defaults)
    if ctx.task == "classification" and ctx.imbalanced:
        params.setdefault("balanced", False)
    return {"family": family.name, **{f"{family.param_prefix}.{k}": v for k, v in params.items()}}


def library_defaults(family: Family, proposed: dict[str, Any]) -> dict[str, Any]:
    """A defaults trial's parameters as fitted: what the enqueued trial proposed (class weighting off), with the
    library's own values where the search space recorded its nearest point (LightGBM's ``reg_lambda`` 0, not 1e-3)."""
    return {**proposed, **family.defaults}


def rounds_trial(family: Family, ctx: SearchContext) -> dict[str, Any]:
    """The enqueued parameters of a family's early-stopped defaults: its defaults trial with ``rounds_trial``'s
    changes, so early stopping chooses the rounds (on `flights_delay`, 300 of LightGBM's at learning rate 0.1, and
    RMSE 17.4 on the test rows against the defaults' 18.4; on `weather_temp` all 1,000: 2.21 against 3.10)."""
    changes = {f"{family.param_prefix}.{k}": v for k, v in (family.rounds_trial or {}).items()}
    return {**default_trial(family, ctx), **changes}


def early_stopped_defaults(family: Family, proposed: dict[str, Any]) -> dict[str, Any]:
    """What a rounds trial fits: the library's defaults (as :func:`library_defaults`) with ``rounds_trial``'s
    changes."""
    return {**library_defaults(family, proposed), **(family.rounds_trial or {})}


def rounds_order(families: list[Family]) -> list[Family]:
    """The families that get a rounds trial, in their defaults' warm-start order (LightGBM's first: the fastest, and
    on `flights_delay` and `weather_temp` its early-stopped defaults beat XGBoost's by 1-7% on the test rows)."""
    return sorted((f for f in families if f.early_stopping and f.rounds_trial), key=lambda f: f.warm_start)


def _search(study, executor, shared, data, strategy: Search, space: SearchSpace, limit, deadline: Deadline,
            workers, sign, on_trial, warm_trials: int = 0,
            refit_rows_of: RefitRows = RefitRows(),
            ensemble: bool = False, boosting_rounds: bool = False
            ) -> tuple[list[TrialResult], dict[int, np.ndarray]]:
    """Trials until the limit or the deadline: a trial or a fold starts only when its expected seconds (the mean
    fold of its family so far, else of any family) still leave the refit of the best trial (with ``ensemble``, and
    of its :func:`ensemble_partner`) and the deadline's ``after_search`` share; until one trial has completed the
    search does not stop. A family's defaults trial is never cut: when its remaining folds (estimated from its
    folds so far) and its refit would not fit, it is scored on its first fold only (``partial``), and every trial
    is then compared on that fold (:func:`choose_best`). A rounds trial (the early-stopped defaults) is scored so
    too, its remaining folds estimated from its own (up to ten times its family's defaults' rounds).
    Until ``WARM_FIRST`` trials are scored, a defaults trial (to start, or to go on with its folds) needs only the
    best trial's refit on the training rows kept, not the refit on every row: the first families' defaults come
    first. After that a defaults trial keeps the refit on every row too, as every other trial: the later families'
    defaults rarely win, and the model fitted on 80% of the rows lost to the library's defaults fitted on all of
    them (digits and segment at 10 s). With ``boosting_rounds``, the boosting families' :func:`rounds_trial` come
    right after the defaults, before anything the sampler draws, and early-stopped trials record the rows their
    rounds were chosen on (``rounds_rows``: the refits grow them, :func:`rounds_growth`)."""
    running: dict[Future, _Running] = {}
    results: list[TrialResult] = []
    predictions: dict[int, np.ndarray] = {}
    asked = 0
    fold_count = len(data.folds)
    reserve = 0.0  # time kept for the final refits: the best trial's and an ensemble partner's, scaled to their rows
    best_reserve = 0.0  # the best trial's share of it; the rest is an ensemble partner's (see ensemble_partner)
    first_reserve = 0.0  # the same for the refit on the training rows alone (not the refit on every row)
    queued: list[str] = []  # the rounds trials enqueued and not yet asked, in the order Optuna hands them out
    fold_seconds: dict[str, list[float]] = {}  # family -> seconds of its folds so far, on the deadline's clock
    submitted: dict[Future, float] = {}

    def submit(state: _Running, fold: int) -> None:
        began = deadline.clock()  # before: an inline executor runs the fold inside submit
        future = executor.submit(run_fold, shared, state.family, state.params, fold, not state.warm)
        submitted[future] = began
        running[future] = state

    def expected_fold(family: str | None) -> float:
        seen = fold_seconds.get(family) if family else None
        if not seen:
            seen = [x for values in fold_seconds.values() for x in values]
        return float(np.mean(seen)) if seen else 0.0

    def partner_fold(trial: TrialResult) -> float:  # on the deadline's clock, as the best's reserve
        return expected_fold(trial.family)

    def out_of_time(family: str | None = None, warm: bool = False) -> bool:
        if not any(r.state == "complete" for r in results):
            return False
        # 1.5: fold times vary (another family, a loaded machine); a fold that overruns eats the refit's time
        return not deadline.fits(1.5 * expected_fold(family), kept(warm) + deadline.after_search() + SEARCH_SLACK)

    def first_defaults() -> bool:
        return sum(r.state == "complete" for r in results) < WARM_FIRST

    def kept(warm: bool) -> float:
        return first_reserve if warm and first_defaults() else reserve

    def rest_fits(state: _Running) -> bool:
        # its own folds: a rounds trial's run up to ten times the rounds of its family's defaults
        per_fold = float(np.mean(state.clock_seconds)) if state.rounds else expected_fold(state.family.name)
        grows = boosting_rounds and not state.warm and state.family.early_stopping
        own_refit = per_fold * (refit_rows_of.units(grows, every_row=not first_defaults()) * 1.5 + 1)
        return deadline.fits(1.5 * per_fold * (fold_count - len(state.folds)),
                             max(kept(True), own_refit) + deadline.after_search())

    def ask() -> None:
        nonlocal asked
        if boosting_rounds and warm_trials and asked == warm_trials:  # the defaults are out: early-stopped ones next
            for family in rounds_order(space.families):
                study.enqueue_trial(rounds_trial(family, space.ctx))
                queued.append(family.name)
        trial = study.ask()
        name, params = strategy.propose(trial, space)
        family = space.family(name)
        asked += 1
        warm = asked <= warm_trials
        rounds = not warm and bool(queued) and queued[0] == name  # Optuna hands the enqueued trials out first
        if warm:
            params = library_defaults(family, params)
        elif rounds:
            params = early_stopped_defaults(space.family(queued.pop(0)), params)
        state = _Running(trial, family, params, warm=warm, rounds=rounds)
        submit(state, 0)

    def finish(state: _Running, status: str, error: str | None = None, partial: bool = False) -> None:
        nonlocal reserve, best_reserve, first_reserve
        scores = [f.score for f in state.folds if f.score is not None][:1 if partial else None]
        seconds = sum(f.seconds for f in state.folds)
        params = dict(state.params)
        rounds = [f.best_iteration for f in state.folds if f.best_iteration]
        rounds_rows = None
        if rounds:
            params["n_estimators"] = max(1, round(float(np.mean(rounds))))
        if rounds and boosting_rounds:
            rounds_rows = round(float(np.mean([len(data.folds[f.fold][0]) for f in state.folds if f.best_iteration])))
        score = float(np.mean(scores)) if status == "complete" else None
        per_row = [f.predict_per_row for f in state.folds if f.predict_per_row is not None]
        result = TrialResult(state.trial.number, state.family.name, params, score, seconds, error, status, scores,
                             partial, float(np.mean(state.clock_seconds)) if state.clock_seconds else None,
                             rounds_rows, float(np.mean(per_row)) if per_row else None)
        if status == "complete":  # a partial trial's predictions cover the first fold only
            oof = _out_of_fold(state.folds[:1] if partial else state.folds, data)
            if oof is not None:
                predictions[result.number] = oof
        results.append(result)
        compared = compared_trials([r for r in results if r.state == "complete"], sign)
        if status == "complete":
            study.tell(state.trial, sign * score)
            best = choose_best(compared, sign)
            if best is result:  # its refits, and about one fold more for the holdout metrics
                per_fold = float(np.mean(fold_seconds[state.family.name][-fold_count:]))
                grows = result.rounds_rows is not None
                best_reserve = per_fold * (refit_rows_of.units(grows) * 1.5 + 1)
                first_reserve = per_fold * (refit_rows_of.units(grows, every_row=False) * 1.5 + 1)
            partner = ensemble_partner(compared, best, sign, partner_fold) if ensemble else None
            reserve = best_reserve + (partner_fold(partner) * refit_rows_of.units(partner.rounds_rows is not None)
                                      * 1.5 if partner is not None else 0.0)
        else:
            study.tell(state.trial, state=optuna.trial.TrialState.PRUNED if status == "pruned"
                       else optuna.trial.TrialState.FAIL)
        if on_trial:
            best_score = choose_best(compared, sign).comparable_score(any(r.partial for r in compared)) \
                if compared else None
            on_trial(result, best_score, deadline.elapsed())

    while True:
        while len(running) < workers and (limit is None or asked < limit) and not out_of_time(warm=asked < warm_trials):
            ask()
        if not running:
            break
        done, _ = wait(list(running), return_when=FIRST_COMPLETED)
        for future in done:
            state = running.pop(future)
            fold = future.result()
            state.folds.append(fold)
            state.clock_seconds.append(deadline.clock() - submitted.pop(future))
            fold_seconds.setdefault(state.family.name, []).append(state.clock_seconds[-1])
            if fold.error is not None:
                finish(state, "failed", fold.error)
                continue
            state.trial.report(sign * fold.score, fold.fold)
            if len(state.folds) == fold_count:
                finish(state, "complete")
            elif (state.warm or state.rounds) and not rest_fits(state):
                finish(state, "complete", partial=True)
            elif fold_count > 1 and not state.warm and state.trial.should_prune():
                finish(state, "pruned", f"pruned after fold {fold.fold + 1}: behind the median of earlier trials")
            elif out_of_time(state.family.name, state.warm):
                finish(state, "failed", "budget spent before the trial finished")
            else:
                submit(state, fold.fold + 1)
    return sorted(results, key=lambda r: r.number), predictions


def _out_of_fold(folds: list[FoldResult], data: TrialData) -> np.ndarray | None:
    """Every validation row's prediction, in row order (CV covers every row once; a split only its part)."""
    if any(f.predictions is None for f in folds):
        return None
    index = np.concatenate([data.folds[f.fold][1] for f in folds])
    values = np.concatenate([f.predictions for f in folds])
    order = np.argsort(index)
    return values[order]


def _ensemble_weights(completed: list[TrialResult], predictions: dict[int, np.ndarray], data: TrialData,
                      sign: float, first_fold: bool = False) -> tuple[dict[int, float], float] | None:
    """Caruana's greedy selection with replacement over the best trials' out-of-fold predictions and each family's
    best, scored with the requested metric. ``first_fold``: a defaults trial was scored on the first fold only, so
    the ensemble is chosen on that fold's rows, where every trial has predictions (as the single trials are compared
    there)."""
    by_number = {t.number: t for t in completed}
    scored = sorted([n for n in by_number if n in predictions],
                    key=lambda n: -sign * by_number[n].comparable_score(first_fold))
    leaders: dict[str, int] = {}  # each family's best too: TPE's later trials fill the top places with one family
    for n in scored:
        leaders.setdefault(by_number[n].family, n)
    ranked = list(dict.fromkeys([*scored[:ENSEMBLE_CANDIDATES], *leaders.values()]))
    if len(ranked) < 2:
        return None
    y_true, predictions = _ensemble_rows(ranked, predictions, data, first_fold)
    counts: dict[int, int] = {}
    total = None
    best_score = None
    for _ in range(ENSEMBLE_ROUNDS):
        step = None
        for number in ranked:
            candidate = predictions[number] if total is None else total + predictions[number]
            score = score_predictions(data, y_true, candidate / (sum(counts.values()) + 1))
            if score is not None and (step is None or sign * score > sign * step[1]):
                step = (number, score)
        if step is None or (best_score is not None and sign * step[1] <= sign * best_score):
            break
        number, best_score = step
        counts[number] = counts.get(number, 0) + 1
        total = predictions[number] if total is None else total + predictions[number]
    if len(counts) < 2:
        return None
    n = sum(counts.values())
    return {t: c / n for t, c in counts.items()}, float(best_score)


def _ensemble_rows(numbers: list[int], predictions: dict[int, np.ndarray], data: TrialData, first_fold: bool
                   ) -> tuple[np.ndarray, dict[int, np.ndarray]]:
    """The labels of the rows an ensemble is chosen on (every fold's, or the first fold's only) and each trial's
    predictions there: a complete trial's predictions cover every fold's rows, so the first fold's are kept."""
    covered = np.sort(np.concatenate([valid for _, valid in data.folds]))
    rows = np.sort(data.folds[0][1]) if first_fold else covered
    kept = {n: predictions[n] if not first_fold or len(predictions[n]) == len(rows)
            else predictions[n][np.searchsorted(covered, rows)] for n in numbers}
    return data.y.iloc[rows].to_numpy(), kept


def _refit(trial: TrialResult, space: SearchSpace, data: TrialData, train: pd.DataFrame, target: str,
           seed: int) -> Pipeline:
    params = trial.rounds_for(len(train))
    pipeline = make_pipeline(space.family(trial.family), space.ctx, params, train[data.features], seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the same notes the trials already had
        pipeline.fit(train[list(data.X.columns)], train[target])
    return pipeline
