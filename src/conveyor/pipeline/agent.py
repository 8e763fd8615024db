"""The self-healing loop: watch a champion's triggers, retrain, promote only a proven challenger, and roll a
promotion back when live traffic shows it worse than the model it replaced.

One tick (:meth:`Agent.run_once`, what ``conveyor agent --once`` and cron run):

1. Judge every promotion still under watch: score the new champion *and the previous one* on the same labelled
   live predictions made since the promotion (feedback labels); when the new one is worse by more than
   ``rollback_drop``, roll the alias back (decision ``rolled_back``, numbers in the audit trail). A watch that
   outlives ``watch`` without a regression ends as passed.
2. Check the triggers of the policy: ``drift`` (share of drifted input columns in the last ``window`` logged
   predictions, or in the newest data version), ``performance`` (live metric worse than the champion's holdout
   metric by more than ``performance_drop``), ``new_data`` (a newer version of its training dataset) and
   ``schedule`` (the champion is older than ``schedule``). Each check is stored as time series and alert rules
   are evaluated on it.
3. When a trigger fires, claim the job ``retrain:<champion>:<newest data>`` in the store (a lease with a
   heartbeat): it runs once, whichever agent gets it; a crashed holder's job is taken over after ``lease``
   seconds. The intent to promote is written to the job before the alias moves, so a restart after a crash
   finishes the job without promoting twice.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import numpy as np
import pandas as pd

from conveyor.core.config.sections.monitor import MonitorSection
from conveyor.core.config.sections.retrain import TRIGGERS, RetrainSection
from conveyor.core.entities import AgentJob, AliasChange, ApprovalRequest, ModelVersion, now
from conveyor.core.errors import BadInputError, CheckFailedError, ConflictError, ConveyorError
from conveyor.core.refs import DatasetRef
from conveyor.core.schedules import parse_schedule
from conveyor.data import connections
from conveyor.data.datasets import load_frame
from conveyor.data.sources import IngestOptions
from conveyor.evaluate.metrics import improvement
from conveyor.monitor import alerts
from conveyor.monitor.monitoring import MonitorReport, monitor_frame, reference_stats
from conveyor.monitor.performance import live_performance
from conveyor.pipeline.retrain import RetrainDecision, retrain
from conveyor.registry.environments import PromotionPolicy, promote_to
from conveyor.registry.models import current_actor, load_model, promote, resolve_model, rollback
from conveyor.stats import DriftPolicy
from conveyor.store import Stores

log = logging.getLogger("conveyor.agent")

MIN_WINDOW = 100


@dataclass
class Policy:
    model: str
    alias: str = "champion"
    triggers: list[str] = field(default_factory=lambda: list(TRIGGERS))
    drift_share: float = 0.2
    performance_drop: float = 0.05
    schedule: float | str | None = None  # seconds, or a cron expression
    window: int = 1000
    min_labels: int = 100
    watch: float = 86400.0
    rollback_drop: float = 0.05
    lease: float = 600.0
    min_improvement: float = 0.0
    refresh: bool = False  # re-run the training data's stored-connection query before each tick


def policy_from_config(retrain: RetrainSection, monitor: MonitorSection, model: str | None = None) -> Policy:
    """The agent's policy from the retrain: and monitor: sections of conveyor.yaml, already checked (``model``
    overrides retrain.model)."""
    name = model or retrain.model
    if not name:
        raise BadInputError("No model to look after.", field="retrain.model",
                            hint="Pass the model name (conveyor agent MODEL) or set retrain.model in conveyor.yaml.")
    return Policy(name, retrain.environment or "champion", list(retrain.on), retrain.drift_share,
                  retrain.performance_drop, retrain.schedule, monitor.window, retrain.min_labels, retrain.watch,
                  retrain.rollback.max_drop, retrain.lease, retrain.min_improvement, retrain.refresh)


def _live_metric(task: str) -> str:
    return "accuracy" if task == "classification" else "rmse"


def _score(task: str, predicted: np.ndarray, truth: np.ndarray) -> float:
    if task == "classification":
        return float(np.mean([str(p) == str(t) for p, t in zip(predicted, truth, strict=True)]))
    return float(np.sqrt(np.mean((predicted.astype(float) - truth.astype(float)) ** 2)))


@dataclass
class Agent:
    stores: Stores
    policy: Policy
    retrain_options: dict[str, Any] = field(default_factory=dict)
    alert_config: dict[str, Any] = field(default_factory=dict)
    holder: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}")
    drift_policy: DriftPolicy = field(default_factory=DriftPolicy)  # judges drift in checks and retrain notes
    # the project's promotion (environments' order, gates, approval); None: a plain audited alias move
    promotion: PromotionPolicy | None = None

    def promote_into(self, ref: str, reason: str) -> AliasChange | ApprovalRequest:
        """Move the policy's alias to ``ref`` through the same promote path as `conveyor models promote --to`,
        under the agent's identity: where an approval is needed the answer is the pending request."""
        if self.promotion is None:
            return promote(self.stores, ref, self.policy.alias, reason=reason)
        for request in self.stores.approvals.requests("pending", self.policy.model):  # asked before a restart
            if request.ref == ref and request.environment == self.promotion.target(self.policy.alias):
                return request
        return promote_to(self.stores, ref, self.policy.alias, self.promotion, reason=reason)

    # one tick --------------------------------------------------------------------------------------------------
    def run_once(self, events: dict[str, str] | None = None) -> dict[str, Any]:
        """One tick. ``events`` are triggers fired outside the agent's own checks (an alert, a promotion, a webhook
        call: the built-in ``retrain`` pipeline passes the event that started it); each counts when the policy
        lists it in ``retrain.on``."""
        outcome: dict[str, Any] = {"model": self.policy.model, "watches": [], "triggers": {}, "decision": None}
        self.stores.predictions.drain()  # the prediction log's pending segments go into its table on every tick
        for job in self.stores.leases.jobs("pending_approval"):  # an approved promotion is watched from then on
            if job.result.get("model") == self.policy.model:
                outcome.setdefault("approvals", []).append(self.follow_request(job))
        for job in self.stores.leases.jobs("watching"):
            if job.result.get("watch", {}).get("model") == self.policy.model:
                outcome["watches"].append(self.judge_watch(job))
        champion = resolve_model(self.stores, f"{self.policy.model}@{self.policy.alias}")
        for job in self.stores.leases.jobs("running"):  # a crashed agent's unfinished job comes first
            if job.result.get("model") == self.policy.model:
                resumed = self._run_job(job.key, champion, job.result.get("triggers", {}))
                if resumed is not None:
                    outcome["decision"] = resumed
                    return outcome
        if self.policy.refresh:
            outcome["refresh"] = self.refresh(champion)
        fired, checks = self.check_triggers(champion)
        fired.update({name: why for name, why in (events or {}).items() if name in self.policy.triggers})
        outcome["triggers"], outcome["checks"] = fired, checks
        if fired:
            trained_on = DatasetRef.parse(champion.dataset or "")
            newest = self.stores.datasets.get_version(trained_on.name, "latest")
            outcome["decision"] = self._run_job(f"retrain:{champion.ref}:{newest.version}", champion, fired)
        return outcome

    def refresh(self, champion: ModelVersion) -> dict[str, Any]:
        """Run the query that made the newest version of the champion's training data again, through its stored
        connection (a new version when the source changed). A source that cannot be read is reported, not raised:
        the tick goes on with the data it has."""
        name = DatasetRef.parse(champion.dataset or "").name
        newest = self.stores.datasets.get_version(name, "latest") if name else None
        recorded = connections.recorded_query(newest.source if newest else None)
        if newest is None or recorded is None:
            return {"dataset": name, "skipped": "not made through a stored connection"}
        connection, query = recorded
        try:
            version, created = connections.ingest_through(self.stores, connection, name, IngestOptions(query=query))
        except ConveyorError as exc:  # its message has the password removed
            log.warning("refreshing %s through connection %s failed: %s", name, connection, exc)
            return {"dataset": name, "connection": connection, "error": str(exc)}
        return {"dataset": name, "connection": connection, "version": version.ref, "created": created}

    # triggers --------------------------------------------------------------------------------------------------
    def check_triggers(self, champion: ModelVersion) -> tuple[dict[str, str], dict[str, Any]]:
        policy, fired, checks = self.policy, {}, {}
        if not champion.dataset:
            raise BadInputError(f"Champion {champion.ref} records no training dataset, so the agent cannot retrain it.",
                                field="model", hint="The agent looks after models trained by `conveyor train`.")
        trained_on = DatasetRef.parse(champion.dataset)
        newest = self.stores.datasets.get_version(trained_on.name, "latest")
        if "new_data" in policy.triggers and newest.version != trained_on.version:
            fired["new_data"] = f"{newest.ref} is newer than the data {champion.ref} was trained on"
        records = self.stores.predictions.recent(policy.model, limit=policy.window, model_version=champion.ref)
        report: MonitorReport | None = None
        if len(records) >= min(MIN_WINDOW, policy.window):
            report = monitor_frame(self.stores, champion, pd.DataFrame([r.inputs for r in records]),
                                   f"last {len(records)} predictions", records, policy=self.drift_policy)
        elif newest.version != trained_on.version:
            report = monitor_frame(self.stores, champion, load_frame(self.stores, newest), newest.ref,
                                   policy=self.drift_policy)
        if report is not None:
            self.stores.monitoring.add_samples(report.samples())
            checks["drift_share"] = report.drift.share_drifted
            checks["window"] = report.current
            checks["drifted"] = report.drift.drifted
            rules = alerts.parse_rules(self.alert_config)
            if rules:
                alerts.evaluate_all(self.stores.monitoring, rules, champion.ref, self.alert_config)
            if "drift" in policy.triggers and report.drift.share_drifted >= policy.drift_share:
                fired["drift"] = (f"{report.drift.share_drifted:.0%} of input columns drifted in {report.current} "
                                  f"({', '.join(report.drift.drifted)})")
        task = champion.signature.get("task", "regression")
        live = live_performance(task, records) if records else {"labelled": 0}
        metric = _live_metric(task)
        baseline = champion.metrics.get(metric)
        if live.get("labelled", 0) >= policy.min_labels and metric in live and baseline is not None:
            checks[f"live_{metric}"], checks[f"holdout_{metric}"] = live[metric], baseline
            gain = improvement(metric, live[metric], baseline)
            if "performance" in policy.triggers and gain < -policy.performance_drop:
                fired["performance"] = (f"live {metric} {live[metric]:.4f} on {live['labelled']} labels vs "
                                        f"{baseline:.4f} at training ({gain:+.4f})")
        if "schedule" in policy.triggers and policy.schedule:
            if isinstance(policy.schedule, str):  # a cron expression: a tick has passed since the champion was made
                tick = parse_schedule(policy.schedule, "retrain.schedule").due(champion.created_at, now())
                if tick is not None:
                    at = datetime.fromtimestamp(tick, timezone.utc)
                    fired["schedule"] = (f"{champion.ref} predates the scheduled retrain at {at:%Y-%m-%d %H:%M} UTC "
                                         f"({policy.schedule})")
            elif now() - champion.created_at >= policy.schedule:
                fired["schedule"] = f"{champion.ref} is older than {policy.schedule:.0f}s"
        return fired, checks

    # the retraining job ----------------------------------------------------------------------------------------
    def _heartbeat(self, key: str) -> None:
        self.stores.leases.update(key, holder=self.holder)

    def _run_job(self, key: str, champion: ModelVersion, fired: dict[str, str]) -> dict[str, Any] | None:
        job = self.stores.leases.claim(key, self.holder, lease_seconds=self.policy.lease)
        if job is None:  # done already, or another agent holds it
            return None
        intent = job.result.get("promoting")
        if intent:  # a crashed holder had decided to promote: finish that, never promote twice
            outcome, request = "promoted", None
            if resolve_model(self.stores, f"{self.policy.model}@{self.policy.alias}").ref != intent:
                try:
                    moved = self.promote_into(intent, "agent resumed a decided promotion")
                except CheckFailedError as exc:
                    outcome, request = f"kept: {exc.message}", None
                else:
                    if isinstance(moved, ApprovalRequest):
                        outcome, request = "pending_approval", moved.id
            decision = {"decision": outcome.split(":")[0], "model": self.policy.model, "challenger": intent,
                        "champion": job.result.get("champion"), "resumed": True, "triggers": job.result.get("triggers"),
                        **({"request": request} if request else {}),
                        **({"reason": outcome[6:]} if outcome.startswith("kept") else {})}
            self.stores.registry.append_audit(current_actor(), "retrain_decision", self.policy.model, decision)
            return self._finish(job, intent if outcome == "promoted" else None, decision, resumed=True,
                                pending=request)
        self.stores.leases.update(key, result={"model": self.policy.model, "triggers": fired, "champion": champion.ref},
                         holder=self.holder)
        self.stores.registry.append_audit(current_actor(), "agent_retrain", champion.ref,
                           {"job": key, "triggers": fired, "attempt": job.attempts})

        def before_promote(challenger: str) -> None:
            self.stores.leases.update(key, result={"model": self.policy.model, "triggers": fired,
                                                   "champion": champion.ref, "promoting": challenger},
                                      holder=self.holder)

        options = dict(self.retrain_options)
        options.setdefault("min_improvement", self.policy.min_improvement)
        options.setdefault("drift_policy", self.drift_policy)
        try:
            decision = retrain(self.stores, self.policy.model, alias=self.policy.alias,
                               on_trial=lambda *_: self._heartbeat(key), before_promote=before_promote,
                               promote_into=self.promote_into, **options)
        except (CheckFailedError, ConflictError) as exc:  # a quality gate refused the challenger
            decision = RetrainDecision("kept", f"blocked: {exc.message}", self.policy.model, "", champion.ref, None,
                                       None, None, champion.dataset or "")
            self.stores.registry.append_audit(current_actor(), "retrain_decision", self.policy.model,
                                              decision.to_dict())
        promoted = decision.challenger if decision.decision == "promoted" else None
        if promoted:  # the new champion's reference statistics, stored now rather than at its first check
            reference_stats(self.stores, resolve_model(self.stores, promoted))
        return self._finish(job, promoted, {**decision.to_dict(), "triggers": fired}, pending=decision.request)

    def _finish(self, job: AgentJob, promoted: str | None, decision: dict[str, Any] | None, *,
                resumed: bool = False, pending: str | None = None) -> dict[str, Any]:
        stored = self.stores.leases.get(job.key)
        result = {**(stored.result if stored else job.result), "decision": decision, "resumed": resumed}
        previous = result.pop("promoting", None) and result.get("champion")
        if promoted:
            result["watch"] = self._watch(promoted, previous or result.get("champion"))
            self.stores.leases.update(job.key, status="watching", result=result)
        elif pending:  # followed by follow_request until someone decides it
            result["request"] = pending
            self.stores.leases.update(job.key, status="pending_approval", result=result)
        else:
            self.stores.leases.update(job.key, status="done", result=result)
        return {"job": job.key, "attempt": job.attempts, **(decision or {})}

    def _watch(self, promoted: str, previous: str | None) -> dict[str, Any]:
        return {"model": self.policy.model, "alias": self.policy.alias, "promoted": promoted, "previous": previous,
                "since": now(), "until": now() + self.policy.watch}

    def follow_request(self, job: AgentJob) -> dict[str, Any]:
        """A promotion that waited for an approval: once approved (and the alias holds it) it is watched like any
        promotion; once rejected the job is done."""
        request = self.stores.approvals.get(job.result["request"])
        status = request.status if request is not None else "missing"
        answer = {"job": job.key, "request": job.result["request"], "status": status}
        if status == "pending":
            return answer
        if status == "approved" and request is not None:
            holder = self.stores.registry.aliases(self.policy.model).get(self.policy.alias)
            if holder == request.version:
                watch = self._watch(request.ref, job.result.get("champion"))
                self.stores.leases.update(job.key, status="watching", result={**job.result, "watch": watch})
                return {**answer, "watch": "watching"}
        self.stores.leases.update(job.key, status="done", result={**job.result, "request_status": status})
        return answer

    # the watch after a promotion -------------------------------------------------------------------------------
    def judge_watch(self, job: AgentJob) -> dict[str, Any]:
        watch = job.result["watch"]
        promoted, previous = watch["promoted"], watch["previous"]
        serving = resolve_model(self.stores, f"{watch['model']}@{watch['alias']}").ref
        if serving != promoted:
            self.stores.leases.update(job.key, status="done",
                                      result={**job.result, "watch_end": f"alias moved to {serving}"})
            return {"job": job.key, "watch": "ended", "reason": f"{watch['alias']} now points at {serving}"}
        new_model = resolve_model(self.stores, promoted)
        task = new_model.signature.get("task", "regression")
        metric = _live_metric(task)
        labelled = [r for r in self.stores.predictions.recent(watch["model"], model_version=promoted)
                    if r.label is not None and r.at >= watch["since"]]
        verdict: dict[str, Any] = {"job": job.key, "promoted": promoted, "previous": previous,
                                   "labelled": len(labelled), "metric": metric}
        if len(labelled) >= self.policy.min_labels and previous:
            inputs = [c["name"] for c in new_model.signature.get("inputs", [])]
            frame = pd.DataFrame([r.inputs for r in labelled])
            truth = np.asarray([r.label for r in labelled], dtype=object)
            served = np.asarray([r.outputs.get("prediction") for r in labelled], dtype=object)
            old_model = load_model(self.stores, previous)
            live_new = _score(task, served, truth)
            live_old = _score(task, np.asarray(old_model.predict(frame[inputs]), dtype=object), truth)
            gain = improvement(metric, live_new, live_old)
            verdict.update(live_new=live_new, live_previous=live_old, gain=gain)
            if gain < -self.policy.rollback_drop:
                change = rollback(self.stores, watch["model"], watch["alias"],
                                  reason=f"live {metric} {live_new:.4f} vs {live_old:.4f} for {previous} on the same "
                                         f"{len(labelled)} labelled predictions")
                details = {"decision": "rolled_back", "model": watch["model"], "metric": metric,
                           "promoted": promoted, "previous": previous, "live_promoted": live_new,
                           "live_previous": live_old, "gain": gain, "bound": -self.policy.rollback_drop,
                           "labelled": len(labelled), "serving": f"{change.model}:{change.version}"}
                self.stores.registry.append_audit(current_actor(), "retrain_decision", watch["model"], details)
                self.stores.leases.update(job.key, status="rolled_back", result={**job.result, "rollback": details})
                return {**verdict, "watch": "rolled_back"}
        if now() >= watch["until"]:
            self.stores.leases.update(job.key, status="done",
                                      result={**job.result, "watch_end": "passed", "verdict": verdict})
            self.stores.registry.append_audit(current_actor(), "watch_passed", promoted, verdict)
            return {**verdict, "watch": "passed"}
        return {**verdict, "watch": "watching"}
