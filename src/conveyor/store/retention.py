"""Garbage collection under a retention policy (``retention:`` in conveyor.yaml; `conveyor gc`).

What goes: dataset versions beyond the newest N of each dataset, model versions beyond the newest N of each model,
finished runs older than a duration, prediction-log rows older than a duration, and then every artifact no record
names any more. What always stays: a version an alias points to, the version each alias would roll back to, a
version waiting for an approval, and the lineage of every model version that stays (its run, its dataset version
and that version's parents, transitively); the newest version of each dataset; a dataset version that a pipeline
step, a feature view or another table names.

Artifacts count as named when their digest appears anywhere in the metadata (a scan of every row), so a digest
kept in some JSON field is never collected; artifacts younger than ``grace`` are kept (bytes are written before
their record). With an archive store, the deleted records (JSON) and the artifacts (as stored, so still encrypted)
are copied there first. One governance audit row records what was freed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from conveyor.core.entities import now
from conveyor.store import schema as t
from conveyor.store.artifacts import ArtifactStore
from conveyor.store.encrypted_artifacts import KEY_SUFFIX
from conveyor.store.sql.maintenance import maintenance_of
from conveyor.store.stores import Stores

__all__ = ["GcPlan", "GcReport", "RetentionPolicy", "collect", "plan"]


@dataclass(frozen=True)
class RetentionPolicy:
    datasets: int | None = None
    models: int | None = None
    runs: float | None = None  # seconds
    predictions: float | None = None  # seconds
    grace: float = 3600.0


@dataclass
class GcPlan:
    datasets: list[tuple[str, str]] = field(default_factory=list)  # (name, version)
    models: list[tuple[str, int]] = field(default_factory=list)
    runs: list[str] = field(default_factory=list)
    predictions_before: float | None = None
    predictions: int = 0
    kept: dict[str, str] = field(default_factory=dict)  # what retention would drop but something needs: why
    record_artifacts: set[str] = field(default_factory=set)  # artifacts the deleted records name


@dataclass
class GcReport:
    dry_run: bool
    datasets: list[str]
    models: list[str]
    runs: list[str]
    predictions: int
    artifacts: int
    bytes_freed: int
    kept: dict[str, str]
    archive: str | None = None
    archive_manifest: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"dry_run": self.dry_run, "datasets": self.datasets, "models": self.models, "runs": self.runs,
                "predictions": self.predictions, "artifacts": self.artifacts, "bytes_freed": self.bytes_freed,
                "kept": self.kept, "archive": self.archive, "archive_manifest": self.archive_manifest}


def _protected_models(stores: Stores) -> dict[tuple[str, int], str]:
    needed: dict[tuple[str, int], str] = {}
    for name in stores.registry.names():
        for alias, version in stores.registry.aliases(name).items():
            needed.setdefault((name, version), f"alias {alias}")
            history = stores.registry.alias_history(name, alias)
            if history and history[-1].previous is not None:
                needed.setdefault((name, history[-1].previous), f"rollback target of {alias}")
    for request in stores.approvals.requests(status="pending"):
        needed.setdefault((request.model, request.version), f"pending approval {request.id}")
    return needed


def plan(stores: Stores, policy: RetentionPolicy, *, at: float | None = None) -> GcPlan:
    """What a gc under ``policy`` would delete now (nothing is changed)."""
    at = now() if at is None else at
    result = GcPlan()
    protected = _protected_models(stores)
    surviving = []
    for name in stores.registry.names():
        versions = sorted(stores.registry.versions(name), key=lambda v: v.version)
        cut = len(versions) - policy.models if policy.models else 0
        for index, version in enumerate(versions):
            key = (version.name, version.version)
            if index < cut and key not in protected:
                result.models.append(key)
                result.record_artifacts.add(version.artifact)
            else:
                if index < cut:
                    result.kept[version.ref] = protected[key]
                surviving.append(version)
    # the lineage of every model version that stays
    needed_runs = {v.run_id for v in surviving if v.run_id}
    by_ref = {f"{d.name}@{d.version}": d for d in stores.datasets.versions()}
    needed_data: dict[str, str] = {}
    stack = [(v.dataset, f"lineage of {v.ref}") for v in surviving if v.dataset]
    while stack:
        ref, why = stack.pop()
        if ref in needed_data or ref not in by_ref:
            continue
        needed_data[ref] = why
        stack += [(parent, why) for parent in by_ref[ref].parents]
    if policy.datasets:
        named = maintenance_of(stores.datasets, "gc").named_elsewhere()
        for name in stores.datasets.names():
            data_versions = stores.datasets.versions(name)
            for data in data_versions[:max(0, len(data_versions) - policy.datasets)]:
                ref = f"{data.name}@{data.version}"
                if ref in needed_data:
                    result.kept[data.ref] = needed_data[ref]
                    continue
                if data.version in named:
                    result.kept[data.ref] = "named by a pipeline step, a feature view or an approval"
                    continue
                result.datasets.append((data.name, data.version))
                result.record_artifacts.add(data.artifact)
    if policy.runs:
        cutoff = at - policy.runs
        for run in stores.runs.search():
            if run.status == "running" or run.started_at >= cutoff:
                continue
            if run.id in needed_runs:
                result.kept[f"run {run.id[:12]}"] = "produced a registered model version"
                continue
            result.runs.append(run.id)
            result.record_artifacts.update(run.artifacts.values())
    if policy.predictions:
        result.predictions_before = at - policy.predictions
        result.predictions = maintenance_of(stores.predictions, "gc").count_predictions_before(
            result.predictions_before)
    return result


def _archive_records(stores: Stores, gc: GcPlan, archive: ArtifactStore) -> str:
    """The deleted records, as JSON, into the archive; returns the manifest's digest there."""
    meta = maintenance_of(stores.datasets, "gc")
    records: dict[str, Any] = {
        "datasets": meta.rows(t.dataset_versions, ("name", "version"), gc.datasets),
        "models": meta.rows(t.model_versions, ("name", "version"), gc.models),
        "runs": meta.rows(t.runs, ("id",), [(r,) for r in gc.runs]),
        "metrics": meta.rows(t.latest_metrics, ("run_id",), [(r,) for r in gc.runs]),
        "params": meta.rows(t.run_params, ("run_id",), [(r,) for r in gc.runs]),
        "run_artifacts": meta.rows(t.run_artifacts, ("run_id",), [(r,) for r in gc.runs]),
        "predictions": (maintenance_of(stores.predictions, "gc").old_predictions(gc.predictions_before)
                        if gc.predictions_before is not None else []),
    }
    return archive.put_bytes(json.dumps({"at": now(), "records": records}, default=str).encode())


def _copy_stored(source: ArtifactStore, archive: ArtifactStore, digest: str) -> None:
    raw = source.stored()
    for name in (digest + KEY_SUFFIX, digest):
        try:
            data = raw._read(name)
        except FileNotFoundError:
            continue
        archive._write(name, data)


def collect(stores: Stores, policy: RetentionPolicy, *, actor: str, dry_run: bool = False,
            archive: ArtifactStore | None = None, at: float | None = None) -> GcReport:
    """Delete (or, with ``dry_run``, only report) what ``policy`` allows, then the artifacts nothing names."""
    at = now() if at is None else at
    gc = plan(stores, policy, at=at)
    meta = maintenance_of(stores.datasets, "gc")
    report = GcReport(dry_run, [f"{n}@{v[:12]}" for n, v in gc.datasets], [f"{n}:{v}" for n, v in gc.models],
                      gc.runs, gc.predictions, 0, 0, gc.kept, archive.url if archive else None)
    if dry_run:
        still = meta.referenced_digests()
        gone_data, gone_models = set(gc.datasets), set(gc.models)
        survivors = {d.artifact for d in stores.datasets.versions() if (d.name, d.version) not in gone_data}
        survivors |= {m.artifact for m in stores.registry.versions() if (m.name, m.version) not in gone_models}
        freed = {d for d in stores.artifacts.digests() if d not in still}
        freed |= {d for d in gc.record_artifacts if d not in survivors and stores.artifacts.exists(d)}
        report.artifacts = len([d for d in freed if _old(stores, d, at, policy)])
        return report
    if archive is not None:
        report.archive_manifest = _archive_records(stores, gc, archive)
    meta.delete_model_versions(gc.models)
    meta.delete_dataset_versions(gc.datasets)
    meta.delete_runs(gc.runs)
    if gc.predictions_before is not None:
        report.predictions = maintenance_of(stores.predictions, "gc").delete_predictions_before(
            gc.predictions_before)
    referenced = meta.referenced_digests()
    for digest in stores.artifacts.digests():
        if digest in referenced or not _old(stores, digest, at, policy):
            continue
        if archive is not None:
            _copy_stored(stores.artifacts, archive, digest)
        report.bytes_freed += stores.artifacts.delete(digest)
        report.artifacts += 1
    details = {k: v for k, v in report.as_dict().items() if k not in ("kept", "dry_run", "runs")}
    details["runs"] = len(gc.runs)
    stores.registry.append_audit(actor, "gc", "retention", details)
    return report


def _old(stores: Stores, digest: str, at: float, policy: RetentionPolicy) -> bool:
    written = stores.artifacts.modified(digest)
    return written is None or at - written >= policy.grace
