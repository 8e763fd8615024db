"""The metadata store interface and its in-memory implementation.

Invariants every implementation keeps (``conveyor.testing.metadata_contract`` checks them):

* Unknown names raise :class:`NotFoundError`; the message names what was asked for.
* ``add_dataset_version`` is idempotent: the same (name, version) is recorded once.
* Model version numbers per model start at 1 and never repeat, also under concurrent writers.
* The audit trail is append-only and hash-chained; :meth:`verify_audit` finds an edited or deleted row.
* Every method is safe to call from several threads.
"""

from __future__ import annotations

import abc
import copy
import threading
from collections import defaultdict
from typing import Any

from conveyor.core.entities import (
    AgentJob,
    Alert,
    AliasChange,
    AuditEntry,
    AuditNote,
    DatasetVersion,
    Metric,
    ModelVersion,
    PredictionRecord,
    Run,
    Sample,
    now,
)
from conveyor.core.errors import BadInputError, NotFoundError
from conveyor.store.audit import GENESIS, chain_hash, verify_chain


class MetadataStore(abc.ABC):
    url: str

    # datasets
    @abc.abstractmethod
    def add_dataset_version(self, dv: DatasetVersion) -> tuple[DatasetVersion, bool]:
        """Record ``dv``; return (the stored version, whether it was new)."""

    @abc.abstractmethod
    def list_dataset_versions(self, name: str | None = None) -> list[DatasetVersion]:
        """Oldest first."""

    def get_dataset_version(self, name: str, version: str = "latest") -> DatasetVersion:
        versions = self.list_dataset_versions(name)
        if not versions:
            raise NotFoundError.for_name("dataset", name, self.dataset_names())
        if version in ("", "latest"):
            return versions[-1]
        matches = [v for v in versions if v.version.startswith(version)]
        if not matches:
            raise NotFoundError(
                f"Dataset {name!r} has no version {version!r}.",
                hint=f"Versions: {', '.join(v.version[:12] for v in versions[-5:])} (or 'latest').",
            )
        if len(matches) > 1:
            raise BadInputError(f"Version prefix {version!r} of dataset {name!r} is ambiguous.",
                                hint="Give more characters of the version id.")
        return matches[0]

    def dataset_names(self) -> list[str]:
        return sorted({v.name for v in self.list_dataset_versions()})

    # runs
    @abc.abstractmethod
    def create_run(self, run: Run) -> Run: ...

    @abc.abstractmethod
    def end_run(self, run_id: str, status: str, ended_at: float | None = None) -> None: ...

    @abc.abstractmethod
    def log_params(self, run_id: str, params: dict[str, Any]) -> None: ...

    @abc.abstractmethod
    def log_metrics(self, run_id: str, metrics: list[Metric]) -> None: ...

    @abc.abstractmethod
    def set_tags(self, run_id: str, tags: dict[str, str]) -> None: ...

    @abc.abstractmethod
    def add_run_artifact(self, run_id: str, name: str, digest: str) -> None: ...

    @abc.abstractmethod
    def get_run(self, run_id: str) -> Run:
        """A run by id or by a unique id prefix."""

    @abc.abstractmethod
    def metric_history(self, run_id: str, key: str) -> list[Metric]: ...

    @abc.abstractmethod
    def list_runs(self, *, order_by_metric: str | None = None, ascending: bool = False,
                  dataset_name: str | None = None, limit: int | None = None) -> list[Run]:
        """Newest first, or by a metric's latest value (runs without it last)."""

    # models
    @abc.abstractmethod
    def create_model_version(self, mv: ModelVersion, audit: AuditNote | None = None) -> ModelVersion:
        """Record ``mv`` under the next free version number of ``mv.name``; return it numbered.
        With ``audit``, the audit row is written in the same transaction: both or neither."""

    @abc.abstractmethod
    def list_model_versions(self, name: str | None = None) -> list[ModelVersion]:
        """Ordered by name, then version."""

    @abc.abstractmethod
    def get_model_version(self, name: str, version: int) -> ModelVersion: ...

    def model_names(self) -> list[str]:
        return sorted({m.name for m in self.list_model_versions()})

    @abc.abstractmethod
    def set_alias(self, name: str, alias: str, version: int | None, audit: AuditNote | None = None) -> AliasChange:
        """Point ``alias`` at ``version`` (None removes it) and record the change in the alias history.
        With ``audit``, the audit row is written in the same transaction: both or neither."""

    @abc.abstractmethod
    def aliases(self, name: str) -> dict[str, int]: ...

    @abc.abstractmethod
    def alias_history(self, name: str, alias: str) -> list[AliasChange]:
        """Oldest first."""

    # audit
    @abc.abstractmethod
    def append_audit(self, actor: str, action: str, subject: str, details: dict[str, Any]) -> AuditEntry: ...

    @abc.abstractmethod
    def list_audit(self) -> list[AuditEntry]:
        """In sequence order."""

    def verify_audit(self) -> int:
        """Recompute the chain; return the number of rows, or raise IntegrityError at the first bad row."""
        return verify_chain(self.list_audit())

    # prediction log
    @abc.abstractmethod
    def log_predictions(self, records: list[PredictionRecord]) -> None: ...

    @abc.abstractmethod
    def add_feedback(self, labels: dict[str, Any]) -> list[str]:
        """Attach ground truth by prediction id; return the ids that were not found."""

    @abc.abstractmethod
    def list_predictions(self, model_name: str | None = None, limit: int | None = None, *,
                         model_version: str | None = None) -> list[PredictionRecord]:
        """Newest first; ``model_name`` keeps every version of a model, ``model_version`` (``NAME:N``) one."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""

    # --- monitor ---
    @abc.abstractmethod
    def put_reference_stats(self, model: str, stats: dict[str, Any]) -> dict[str, Any]:
        """Store the reference statistics of model version ``NAME:N`` once; return what is stored (first wins)."""

    @abc.abstractmethod
    def get_reference_stats(self, model: str) -> dict[str, Any] | None: ...

    @abc.abstractmethod
    def add_samples(self, samples: list[Sample]) -> None: ...

    @abc.abstractmethod
    def list_samples(self, subject: str | None = None, *, series: str | None = None, since: float | None = None,
                     limit: int | None = None) -> list[Sample]:
        """Oldest first; a ``series`` ending in "*" matches a prefix; ``limit`` keeps the newest ones."""

    @abc.abstractmethod
    def add_alert(self, alert: Alert) -> Alert: ...

    @abc.abstractmethod
    def update_alert(self, alert: Alert) -> None:
        """Write every field of an existing alert (by id); NotFoundError when there is none."""

    @abc.abstractmethod
    def get_alert(self, alert_id: str) -> Alert:
        """By id or a unique id prefix."""

    @abc.abstractmethod
    def list_alerts(self, subject: str | None = None, *, status: str | None = None,
                    limit: int | None = None) -> list[Alert]:
        """Newest first."""

    @abc.abstractmethod
    def claim_job(self, key: str, holder: str, *, lease_seconds: float, at: float | None = None) -> AgentJob | None:
        """Atomically take job ``key`` for ``holder``: a new key is created "running"; a "running" job whose
        heartbeat is older than ``lease_seconds`` is taken over (attempts + 1, result kept). Else None."""

    @abc.abstractmethod
    def update_job(self, key: str, *, status: str | None = None, result: dict[str, Any] | None = None,
                   holder: str | None = None, at: float | None = None) -> bool:
        """Set status/result and refresh the heartbeat; with ``holder``, only while that holder owns it."""

    @abc.abstractmethod
    def get_job(self, key: str) -> AgentJob | None: ...

    @abc.abstractmethod
    def list_jobs(self, status: str | None = None) -> list[AgentJob]:
        """Oldest first."""


class InMemoryMetadataStore(MetadataStore):
    """Everything in dicts behind one lock: for tests, examples and throwaway sessions."""

    def __init__(self) -> None:
        self.url = "memory://"
        self._lock = threading.RLock()
        self._datasets: dict[tuple[str, str], DatasetVersion] = {}
        self._runs: dict[str, Run] = {}
        self._history: dict[tuple[str, str], list[Metric]] = defaultdict(list)
        self._latest_step: dict[tuple[str, str], int] = {}
        self._models: dict[tuple[str, int], ModelVersion] = {}
        self._aliases: dict[tuple[str, str], int] = {}
        self._alias_log: list[AliasChange] = []
        self._audit: list[AuditEntry] = []
        self._predictions: dict[str, PredictionRecord] = {}

    def add_dataset_version(self, dv):
        with self._lock:
            key = (dv.name, dv.version)
            if key in self._datasets:
                return copy.deepcopy(self._datasets[key]), False
            self._datasets[key] = copy.deepcopy(dv)
            return copy.deepcopy(dv), True

    def list_dataset_versions(self, name=None):
        with self._lock:
            found = [v for (n, _), v in self._datasets.items() if name is None or n == name]
            return copy.deepcopy(sorted(found, key=lambda v: v.created_at))

    def create_run(self, run):
        with self._lock:
            stored = copy.deepcopy(run)
            stored.params = {k: str(v) for k, v in run.params.items()}
            stored.tags = {k: str(v) for k, v in run.tags.items()}
            self._runs[run.id] = stored
            return copy.deepcopy(stored)

    def _run(self, run_id: str) -> Run:
        if run_id in self._runs:
            return self._runs[run_id]
        matches = [r for r in self._runs if r.startswith(run_id)] if len(run_id) >= 4 else []
        if len(matches) == 1:
            return self._runs[matches[0]]
        raise NotFoundError(f"Unknown run {run_id!r}.", hint="List runs with `conveyor runs list`.")

    def end_run(self, run_id, status, ended_at=None):
        with self._lock:
            run = self._run(run_id)
            run.status, run.ended_at = status, ended_at or now()

    def log_params(self, run_id, params):
        with self._lock:
            self._run(run_id).params.update({k: str(v) for k, v in params.items()})

    def log_metrics(self, run_id, metrics):
        with self._lock:
            run = self._run(run_id)
            for m in metrics:
                key = (run.id, m.key)
                self._history[key].append(copy.copy(m))
                if m.step >= self._latest_step.get(key, m.step):  # the highest step wins; ties: the last logged
                    self._latest_step[key] = m.step
                    run.metrics[m.key] = float(m.value)

    def set_tags(self, run_id, tags):
        with self._lock:
            self._run(run_id).tags.update({k: str(v) for k, v in tags.items()})

    def add_run_artifact(self, run_id, name, digest):
        with self._lock:
            self._run(run_id).artifacts[name] = digest

    def get_run(self, run_id):
        with self._lock:
            return copy.deepcopy(self._run(run_id))

    def metric_history(self, run_id, key):
        with self._lock:
            run = self._run(run_id)
            return copy.deepcopy(self._history.get((run.id, key), []))

    def list_runs(self, *, order_by_metric=None, ascending=False, dataset_name=None, limit=None):
        with self._lock:
            runs = [r for r in self._runs.values()
                    if dataset_name is None or (r.dataset or "").split("@")[0] == dataset_name]
            runs.sort(key=lambda r: r.started_at, reverse=True)
            if order_by_metric:
                have = [r for r in runs if order_by_metric in r.metrics]
                have.sort(key=lambda r: r.metrics[order_by_metric], reverse=not ascending)
                runs = have + [r for r in runs if order_by_metric not in r.metrics]
            return copy.deepcopy(runs[:limit] if limit else runs)

    def create_model_version(self, mv, audit=None):
        with self._lock:
            numbers = [v for (n, v) in self._models if n == mv.name]
            mv = copy.deepcopy(mv)
            mv.version = max(numbers, default=0) + 1
            self._models[(mv.name, mv.version)] = mv
            if audit is not None:
                self.append_audit(audit.actor, audit.action, mv.ref, audit.details)
            return copy.deepcopy(mv)

    def list_model_versions(self, name=None):
        with self._lock:
            found = [m for (n, _), m in sorted(self._models.items()) if name is None or n == name]
            return copy.deepcopy(found)

    def get_model_version(self, name, version):
        with self._lock:
            if (name, version) in self._models:
                return copy.deepcopy(self._models[(name, version)])
        if name not in self.model_names():
            raise NotFoundError.for_name("model", name, self.model_names())
        raise NotFoundError(f"Model {name!r} has no version {version}.",
                            hint=f"See `conveyor models show {name}`.")

    def set_alias(self, name, alias, version, audit=None):
        with self._lock:
            if version is not None:
                self.get_model_version(name, version)
            previous = self._aliases.get((name, alias))
            if version is None:
                self._aliases.pop((name, alias), None)
            else:
                self._aliases[(name, alias)] = version
            change = AliasChange(name, alias, version, previous)
            self._alias_log.append(change)
            if audit is not None:
                self.append_audit(audit.actor, audit.action, f"{name}@{alias}",
                                  {**audit.details, "version": version, "previous": previous})
            return copy.copy(change)

    def aliases(self, name):
        with self._lock:
            return {a: v for (n, a), v in sorted(self._aliases.items()) if n == name}

    def alias_history(self, name, alias):
        with self._lock:
            return [copy.copy(c) for c in self._alias_log if c.model == name and c.alias == alias]

    def append_audit(self, actor, action, subject, details):
        with self._lock:
            prev = self._audit[-1].hash if self._audit else GENESIS
            seq, at = len(self._audit) + 1, now()
            details = copy.deepcopy(details)
            entry = AuditEntry(seq, at, actor, action, subject, details, prev,
                               chain_hash(prev, seq, at, actor, action, subject, details))
            self._audit.append(entry)
            return copy.deepcopy(entry)

    def list_audit(self):
        with self._lock:
            return copy.deepcopy(self._audit)

    def log_predictions(self, records):
        with self._lock:
            for record in records:
                self._predictions[record.id] = copy.deepcopy(record)

    def add_feedback(self, labels):
        with self._lock:
            missing = []
            for pid, label in labels.items():
                record = self._predictions.get(pid)
                if record is None:
                    missing.append(pid)
                else:
                    record.label, record.labeled_at = label, now()
            return missing

    def list_predictions(self, model_name=None, limit=None, *, model_version=None):
        with self._lock:
            found = [p for p in self._predictions.values()
                     if (model_name is None or p.model.split(":")[0] == model_name)
                     and (model_version is None or p.model == model_version)]
            found.sort(key=lambda p: p.at, reverse=True)
            return copy.deepcopy(found[:limit] if limit else found)

    # --- monitor ---
    def _monitor_state(self) -> dict[str, Any]:
        with self._lock:
            if not hasattr(self, "_monitor"):
                self._monitor: dict[str, Any] = {"stats": {}, "samples": [], "alerts": {}, "jobs": {}}
            return self._monitor

    def put_reference_stats(self, model, stats):
        state = self._monitor_state()
        with self._lock:
            return copy.deepcopy(state["stats"].setdefault(model, copy.deepcopy(stats)))

    def get_reference_stats(self, model):
        state = self._monitor_state()
        with self._lock:
            return copy.deepcopy(state["stats"].get(model))

    def add_samples(self, samples):
        state = self._monitor_state()
        with self._lock:
            state["samples"].extend(copy.copy(s) for s in samples)

    def list_samples(self, subject=None, *, series=None, since=None, limit=None):
        state = self._monitor_state()
        with self._lock:
            found = [copy.copy(s) for s in state["samples"]
                     if (subject is None or s.subject == subject) and _series_match(series, s.series)
                     and (since is None or s.at >= since)]
        found.sort(key=lambda s: s.at)
        return found[-limit:] if limit else found

    def add_alert(self, alert):
        state = self._monitor_state()
        with self._lock:
            state["alerts"][alert.id] = copy.deepcopy(alert)
            return copy.deepcopy(alert)

    def update_alert(self, alert):
        state = self._monitor_state()
        with self._lock:
            if alert.id not in state["alerts"]:
                raise NotFoundError(f"No alert {alert.id!r}.", hint="See `conveyor alerts`.")
            state["alerts"][alert.id] = copy.deepcopy(alert)

    def get_alert(self, alert_id):
        state = self._monitor_state()
        with self._lock:
            return copy.deepcopy(_one_alert(alert_id, [a for a in state["alerts"].values()
                                                       if a.id.startswith(alert_id)]))

    def list_alerts(self, subject=None, *, status=None, limit=None):
        state = self._monitor_state()
        with self._lock:
            found = [copy.deepcopy(a) for a in state["alerts"].values()
                     if (subject is None or a.subject == subject) and (status is None or a.status == status)]
        found.sort(key=lambda a: a.fired_at, reverse=True)
        return found[:limit] if limit else found

    def claim_job(self, key, holder, *, lease_seconds, at=None):
        state = self._monitor_state()
        at = now() if at is None else at
        with self._lock:
            job = state["jobs"].get(key)
            if job is None:
                job = state["jobs"][key] = AgentJob(key, "running", holder, at, created_at=at)
            elif job.status == "running" and job.heartbeat_at < at - lease_seconds:
                job.holder, job.heartbeat_at, job.attempts = holder, at, job.attempts + 1
            else:
                return None
            return copy.deepcopy(job)

    def update_job(self, key, *, status=None, result=None, holder=None, at=None):
        state = self._monitor_state()
        with self._lock:
            job = state["jobs"].get(key)
            if job is None or (holder is not None and job.holder != holder):
                return False
            job.heartbeat_at = now() if at is None else at
            if status is not None:
                job.status = status
            if result is not None:
                job.result = copy.deepcopy(result)
            return True

    def get_job(self, key):
        state = self._monitor_state()
        with self._lock:
            return copy.deepcopy(state["jobs"].get(key))

    def list_jobs(self, status=None):
        state = self._monitor_state()
        with self._lock:
            found = [copy.deepcopy(j) for j in state["jobs"].values() if status is None or j.status == status]
        return sorted(found, key=lambda j: j.created_at)


def _series_match(pattern: str | None, series: str) -> bool:
    if pattern is None:
        return True
    return series.startswith(pattern[:-1]) if pattern.endswith("*") else series == pattern


def _one_alert(alert_id: str, found: list[Alert]) -> Alert:
    exact = [a for a in found if a.id == alert_id]
    if exact:
        return exact[0]
    if len(found) == 1 and alert_id:
        return found[0]
    if found:
        raise BadInputError(f"Alert id prefix {alert_id!r} is ambiguous ({len(found)} alerts).", field="alert",
                            hint="Give more characters of the id.")
    raise NotFoundError(f"No alert {alert_id!r}.", hint="See `conveyor alerts`.")
