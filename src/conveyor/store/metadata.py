"""Deprecated: the one-object metadata store of earlier releases, now a thin facade over the role stores.

Use the roles instead: ``stores.datasets``, ``stores.runs``, ``stores.registry``, ``stores.predictions``,
``stores.monitoring``, ``stores.leases`` (see :mod:`conveyor.store.stores`). Every method here forwards to one role
method and holds no logic of its own; the table of old and new names is ``FORWARDS`` below. The facade goes away
once no caller uses it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

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
)
from conveyor.store.datasets import DatasetStore
from conveyor.store.leases import LeaseStore
from conveyor.store.monitoring import MonitoringStore
from conveyor.store.predictions import PredictionStore
from conveyor.store.registry import RegistryStore
from conveyor.store.roles import memory_roles
from conveyor.store.runs import RunStore

__all__ = ["FORWARDS", "InMemoryMetadataStore", "MetadataStore", "RoleSet"]

# old method -> (role, method): the migration table for callers of ``stores.metadata``
FORWARDS: dict[str, tuple[str, str]] = {
    "add_dataset_version": ("datasets", "add_version"),
    "list_dataset_versions": ("datasets", "versions"),
    "get_dataset_version": ("datasets", "get_version"),
    "dataset_names": ("datasets", "names"),
    "create_run": ("runs", "create"),
    "end_run": ("runs", "end"),
    "log_params": ("runs", "log_params"),
    "log_metrics": ("runs", "log_metrics"),
    "set_tags": ("runs", "set_tags"),
    "add_run_artifact": ("runs", "add_artifact"),
    "get_run": ("runs", "get"),
    "metric_history": ("runs", "metric_history"),
    "list_runs": ("runs", "search"),
    "create_model_version": ("registry", "create_version"),
    "list_model_versions": ("registry", "versions"),
    "get_model_version": ("registry", "get_version"),
    "model_names": ("registry", "names"),
    "set_alias": ("registry", "set_alias"),
    "aliases": ("registry", "aliases"),
    "alias_history": ("registry", "alias_history"),
    "append_audit": ("registry", "append_audit"),
    "list_audit": ("registry", "audit_log"),
    "verify_audit": ("registry", "verify_audit"),
    "log_predictions": ("predictions", "log"),
    "add_feedback": ("predictions", "add_feedback"),
    "list_predictions": ("predictions", "recent"),
    "put_reference_stats": ("monitoring", "put_reference_stats"),
    "get_reference_stats": ("monitoring", "get_reference_stats"),
    "add_samples": ("monitoring", "add_samples"),
    "list_samples": ("monitoring", "samples"),
    "add_alert": ("monitoring", "add_alert"),
    "update_alert": ("monitoring", "update_alert"),
    "get_alert": ("monitoring", "get_alert"),
    "list_alerts": ("monitoring", "alerts"),
    "claim_job": ("leases", "claim"),
    "update_job": ("leases", "update"),
    "get_job": ("leases", "get"),
    "list_jobs": ("leases", "jobs"),
}


class RoleSet(Protocol):
    """What the facade forwards to: a :class:`~conveyor.store.roles.MetadataRoles` or a ``Stores``."""

    @property
    def url(self) -> str: ...
    @property
    def datasets(self) -> DatasetStore: ...
    @property
    def runs(self) -> RunStore: ...
    @property
    def registry(self) -> RegistryStore: ...
    @property
    def predictions(self) -> PredictionStore: ...
    @property
    def monitoring(self) -> MonitoringStore: ...
    @property
    def leases(self) -> LeaseStore: ...
    def close(self) -> None: ...


class MetadataStore:
    """Deprecated facade: each method forwards to the role method ``FORWARDS`` names."""

    def __init__(self, roles: RoleSet) -> None:
        self._roles = roles

    @property
    def url(self) -> str:
        return self._roles.url

    def close(self) -> None:
        self._roles.close()

    # datasets
    def add_dataset_version(self, dv: DatasetVersion) -> tuple[DatasetVersion, bool]:
        return self._roles.datasets.add_version(dv)

    def list_dataset_versions(self, name: str | None = None) -> list[DatasetVersion]:
        return self._roles.datasets.versions(name)

    def get_dataset_version(self, name: str, version: str = "latest") -> DatasetVersion:
        return self._roles.datasets.get_version(name, version)

    def dataset_names(self) -> list[str]:
        return self._roles.datasets.names()

    # runs
    def create_run(self, run: Run) -> Run:
        return self._roles.runs.create(run)

    def end_run(self, run_id: str, status: str, ended_at: float | None = None) -> None:
        self._roles.runs.end(run_id, status, ended_at)

    def log_params(self, run_id: str, params: Mapping[str, Any]) -> None:
        self._roles.runs.log_params(run_id, params)

    def log_metrics(self, run_id: str, metrics: list[Metric]) -> None:
        self._roles.runs.log_metrics(run_id, metrics)

    def set_tags(self, run_id: str, tags: Mapping[str, Any]) -> None:
        self._roles.runs.set_tags(run_id, tags)

    def add_run_artifact(self, run_id: str, name: str, digest: str) -> None:
        self._roles.runs.add_artifact(run_id, name, digest)

    def get_run(self, run_id: str) -> Run:
        return self._roles.runs.get(run_id)

    def metric_history(self, run_id: str, key: str) -> list[Metric]:
        return self._roles.runs.metric_history(run_id, key)

    def list_runs(self, *, order_by_metric: str | None = None, ascending: bool = False,
                  dataset_name: str | None = None, limit: int | None = None) -> list[Run]:
        return self._roles.runs.search(order_by_metric=order_by_metric, ascending=ascending,
                                       dataset_name=dataset_name, limit=limit)

    # registry and audit
    def create_model_version(self, mv: ModelVersion, audit: AuditNote | None = None) -> ModelVersion:
        return self._roles.registry.create_version(mv, audit)

    def list_model_versions(self, name: str | None = None) -> list[ModelVersion]:
        return self._roles.registry.versions(name)

    def get_model_version(self, name: str, version: int) -> ModelVersion:
        return self._roles.registry.get_version(name, version)

    def model_names(self) -> list[str]:
        return self._roles.registry.names()

    def set_alias(self, name: str, alias: str, version: int | None, audit: AuditNote | None = None) -> AliasChange:
        return self._roles.registry.set_alias(name, alias, version, audit)

    def aliases(self, name: str) -> dict[str, int]:
        return self._roles.registry.aliases(name)

    def alias_history(self, name: str, alias: str) -> list[AliasChange]:
        return self._roles.registry.alias_history(name, alias)

    def append_audit(self, actor: str, action: str, subject: str, details: dict[str, Any]) -> AuditEntry:
        return self._roles.registry.append_audit(actor, action, subject, details)

    def list_audit(self) -> list[AuditEntry]:
        return self._roles.registry.audit_log()

    def verify_audit(self) -> int:
        return self._roles.registry.verify_audit()

    # prediction log
    def log_predictions(self, records: list[PredictionRecord]) -> None:
        self._roles.predictions.log(records)

    def add_feedback(self, labels: Mapping[str, Any]) -> list[str]:
        return self._roles.predictions.add_feedback(labels)

    def list_predictions(self, model_name: str | None = None, limit: int | None = None, *,
                         model_version: str | None = None) -> list[PredictionRecord]:
        return self._roles.predictions.recent(model_name, limit, model_version=model_version)

    # monitoring
    def put_reference_stats(self, model: str, stats: dict[str, Any]) -> dict[str, Any]:
        return self._roles.monitoring.put_reference_stats(model, stats)

    def get_reference_stats(self, model: str) -> dict[str, Any] | None:
        return self._roles.monitoring.get_reference_stats(model)

    def add_samples(self, samples: list[Sample]) -> None:
        self._roles.monitoring.add_samples(samples)

    def list_samples(self, subject: str | None = None, *, series: str | None = None, since: float | None = None,
                     limit: int | None = None) -> list[Sample]:
        return self._roles.monitoring.samples(subject, series=series, since=since, limit=limit)

    def add_alert(self, alert: Alert) -> Alert:
        return self._roles.monitoring.add_alert(alert)

    def update_alert(self, alert: Alert) -> None:
        self._roles.monitoring.update_alert(alert)

    def get_alert(self, alert_id: str) -> Alert:
        return self._roles.monitoring.get_alert(alert_id)

    def list_alerts(self, subject: str | None = None, *, status: str | None = None,
                    limit: int | None = None) -> list[Alert]:
        return self._roles.monitoring.alerts(subject, status=status, limit=limit)

    # job leases
    def claim_job(self, key: str, holder: str, *, lease_seconds: float, at: float | None = None) -> AgentJob | None:
        return self._roles.leases.claim(key, holder, lease_seconds=lease_seconds, at=at)

    def update_job(self, key: str, *, status: str | None = None, result: dict[str, Any] | None = None,
                   holder: str | None = None, at: float | None = None) -> bool:
        return self._roles.leases.update(key, status=status, result=result, holder=holder, at=at)

    def get_job(self, key: str) -> AgentJob | None:
        return self._roles.leases.get(key)

    def list_jobs(self, status: str | None = None) -> list[AgentJob]:
        return self._roles.leases.jobs(status)


class InMemoryMetadataStore(MetadataStore):
    """Deprecated: the facade over a fresh in-memory role set (``conveyor.store.roles.memory_roles()``)."""

    def __init__(self) -> None:
        super().__init__(memory_roles())
