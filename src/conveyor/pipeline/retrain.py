"""One pass of the retraining policy: train a challenger on the newest data, score it and the champion on the
same recent holdout, and promote the challenger only when it is better by at least ``min_improvement``.
Every decision, with its numbers, lands in the audit trail and on the challenger's run."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from conveyor.core.entities import AliasChange, ApprovalRequest, DatasetVersion
from conveyor.core.errors import BadInputError, CheckFailedError, NotFoundError
from conveyor.core.refs import DatasetRef
from conveyor.data.datasets import load_frame
from conveyor.evaluate.metrics import evaluate_model, improvement
from conveyor.registry.models import current_actor, load_model, promote, resolve_model
from conveyor.stats import DriftPolicy, DriftReport, compare
from conveyor.store import Stores
from conveyor.train.automl import TrialResult
from conveyor.train.trainer import train

# moves ``alias`` to a version (ref, reason): the alias change, or the approval request the promotion waits on
PromoteInto = Callable[[str, str], AliasChange | ApprovalRequest]


@dataclass
class RetrainDecision:
    decision: str  # promoted | kept | pending_approval
    reason: str
    model: str
    metric: str
    champion: str | None
    challenger: str | None
    champion_score: float | None
    challenger_score: float | None
    dataset: str
    drift: bool | None = None
    drifted_columns: list[str] = field(default_factory=list)
    holdout_rows: int = 0
    request: str | None = None  # the approval request of a pending_approval decision

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def recent_holdout(frame: pd.DataFrame, fraction: float, time_column: str | None,
                   seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(train, holdout): the newest ``fraction`` of rows by ``time_column``, else a seeded random sample."""
    if time_column:
        if time_column not in frame.columns:
            raise NotFoundError.for_name("time column", time_column, frame.columns)
        ordered = frame.sort_values(time_column, kind="stable")
        cut = int(len(ordered) * (1 - fraction))
        return ordered.iloc[:cut], ordered.iloc[cut:]
    holdout = frame.sample(frac=fraction, random_state=seed)
    return frame.drop(index=holdout.index), holdout


def drift_note(reference: DatasetVersion, frame: pd.DataFrame, inputs: list[str], *,
               policy: DriftPolicy = DriftPolicy()) -> DriftReport:
    """Drift of the newest rows against the profile of the data the champion was trained on, over its inputs:
    the note a retrain decision carries (the engine and policy `conveyor monitor` uses)."""
    return compare(reference.profile, frame, [c for c in inputs if c in reference.profile["columns"]], policy=policy)


def retrain(stores: Stores, model_name: str, *, alias: str = "champion", budget_seconds: float = 60.0,
            max_trials: int | None = None, search: str = "bayesian", min_improvement: float = 0.0,
            holdout_fraction: float = 0.2, time_column: str | None = None, drop_columns: list[str] | None = None,
            seed: int = 0, project_root: Path | None = None,
            on_trial: Callable[[TrialResult, float | None, float], None] | None = None,
            before_promote: Callable[[str], None] | None = None,
            train_options: dict[str, Any] | None = None, drift_policy: DriftPolicy = DriftPolicy(),
            promote_into: PromoteInto | None = None, candidate_alias: str | None = "challenger") -> RetrainDecision:
    """``before_promote(challenger_ref)`` runs just before the champion alias moves (the agent records its
    intent there, so that a restart after a crash can tell a finished promotion from one still to do).
    ``train_options`` are the trainer's keyword arguments from conveyor.yaml (families, gates, sensitive, ...): a
    challenger that fails a quality gate is kept out of every alias. ``drift_policy`` judges the drift note.
    ``promote_into(ref, reason)`` moves ``alias`` (default: a plain audited promotion); the project passes the
    environments' promotion (order, gates, approval), so a refused gate keeps the champion and a promotion that
    needs an approval is decided ``pending_approval`` with its request. ``candidate_alias`` marks every challenger
    (none with environments, where ``challenger`` names an environment)."""
    champion = resolve_model(stores, f"{model_name}@{alias}")
    target = champion.signature.get("target")
    if not champion.dataset or not target:
        raise BadInputError(f"Champion {champion.ref} records no training dataset or target to retrain from.",
                            field="model", hint="Retraining works for models trained by `conveyor train`.")
    metric = champion.meta.get("metric") or next(iter(champion.metrics), None)
    trained_on = DatasetRef.parse(champion.dataset)
    newest = stores.datasets.get_version(trained_on.name, "latest")
    if newest.version == trained_on.version:
        decision = RetrainDecision("kept", f"no new data: {newest.ref} is what {champion.ref} was trained on",
                                   model_name, metric, champion.ref, None, None, None, newest.ref)
        _record(stores, decision)
        return decision
    frame = load_frame(stores, newest)
    if drop_columns:
        frame = frame.drop(columns=[c for c in drop_columns if c in frame.columns])
    inputs = [c["name"] for c in champion.signature.get("inputs", [])]
    missing = [c for c in [*inputs, target] if c not in frame.columns]
    if missing:  # checked before anything is trained or registered
        raise BadInputError(f"The newest data {newest.ref} lacks column(s) the champion needs: "
                            f"{', '.join(missing)}.", field=missing[0],
                            hint="Ingest data with the same columns, or train a new model name on it.")
    train_part, holdout = recent_holdout(frame, holdout_fraction, time_column, seed)
    features_only = [c for c in frame.columns if c != time_column]  # the time column orders rows, it is no feature
    reference = stores.datasets.get_version(trained_on.name, trained_on.version)
    drift = drift_note(reference, frame, inputs, policy=drift_policy)
    drifted = drift.drifted
    result = train(stores, newest, target, model_name=model_name, metric=metric, budget_seconds=budget_seconds,
                   max_trials=max_trials, search=search, seed=seed, frame=train_part[features_only],
                   holdout=holdout[features_only], project_root=project_root, on_trial=on_trial,
                   tags={"kind": "retrain", "champion": champion.ref}, **(train_options or {}))
    challenger, metric = result.model_version, result.automl.metric
    champion_model = load_model(stores, champion)
    champion_score = evaluate_model(champion_model, holdout[[*inputs, target]], target, champion_model.task,
                                    champion_model.classes).get(metric)
    challenger_score = result.metrics.get(metric)
    context = (f"on the newest {len(holdout)} rows of {newest.ref}" if time_column
               else f"on the same {len(holdout)} held-out rows of {newest.ref}")
    common = dict(model=model_name, metric=metric, champion=champion.ref, challenger=challenger.ref,
                  champion_score=champion_score, challenger_score=challenger_score, dataset=newest.ref,
                  drift=drift.drift, drifted_columns=drifted, holdout_rows=len(holdout))
    if result.failed_gates:  # promotion would be refused; say why instead
        failed = "; ".join(f"{r['rule']} ({r['detail']})" for r in result.failed_gates)
        decision = RetrainDecision("kept", f"{challenger.ref} failed quality gate(s): {failed}", **common)
    elif champion_score is None or challenger_score is None:
        _mark(stores, candidate_alias, challenger.ref, "retrain candidate, not comparable")
        decision = RetrainDecision("kept", f"{metric} is undefined {context} (e.g. a single class there), so "
                                   f"{challenger.ref} cannot be shown better than {champion.ref}", **common)
    else:
        gain = improvement(metric, challenger_score, champion_score)
        scores = f"{challenger.ref} {metric} {challenger_score:.4f} vs {champion.ref} {champion_score:.4f}"
        if gain > min_improvement:
            _mark(stores, candidate_alias, challenger.ref, "retrain candidate")
            if before_promote is not None:
                before_promote(challenger.ref)
            better = f"{scores}: better by {gain:+.4f} {context}"
            decision = _promote(stores, promote_into, challenger.ref, alias,
                                f"beat {champion.ref} on {metric} by {gain:+.4f}", better, common)
        else:
            _mark(stores, candidate_alias, challenger.ref, "retrain candidate, not better than champion")
            decision = RetrainDecision("kept", f"{scores}: not better by more than {min_improvement:+.4f} "
                                       f"(got {gain:+.4f}) {context}", **common)
    stores.runs.set_tags(result.run.id, {"retrain.decision": decision.decision, "retrain.reason": decision.reason})
    _record(stores, decision)
    return decision


def _mark(stores: Stores, candidate_alias: str | None, ref: str, reason: str) -> None:
    if candidate_alias:
        promote(stores, ref, candidate_alias, reason=reason)


def _promote(stores: Stores, promote_into: PromoteInto | None, ref: str, alias: str, reason: str, better: str,
             common: dict[str, Any]) -> RetrainDecision:
    """Move ``alias`` to the better challenger: promoted, kept where a gate refused, or pending an approval."""
    try:
        moved = (promote_into(ref, reason) if promote_into is not None
                 else promote(stores, ref, alias, reason=reason))
    except CheckFailedError as exc:  # an environment's order or gates refused it: the champion stays
        return RetrainDecision("kept", f"{better}, but the promotion into {alias} was refused: {exc.message}",
                               **common)
    if isinstance(moved, ApprovalRequest):
        return RetrainDecision("pending_approval", f"{better}; the promotion into {alias} waits for approval "
                                                   f"(request {moved.id})", request=moved.id, **common)
    return RetrainDecision("promoted", better, **common)


def _record(stores: Stores, decision: RetrainDecision) -> None:
    stores.registry.append_audit(current_actor(), "retrain_decision", decision.model, decision.to_dict())
