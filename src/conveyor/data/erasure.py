"""Erasure of personal data (`conveyor data forget`): rows go, the history stays verifiable.

Every version of the dataset, and every version derived from one of them (``data filter``, ``split``, ``join``,
feature builds, transitively), is read; a version holding a matching row is **tombstoned**: its file is destroyed
(with encryption at rest its data key is deleted first, so any copy of the sealed bytes is unreadable), its profile
is recomputed without the rows (profiles hold category shares and quantiles, which can be the values themselves),
and its metadata says which erasure replaced it. The newest version of each such dataset is written again without
the rows, as a new version whose parent is the tombstoned one. Prediction-log rows of models trained on these
datasets whose inputs match are deleted too. Model versions trained on a tombstoned version are listed, so they can
be retrained (`conveyor models show` says so). The database is compacted afterwards, so deleted rows do not linger
in free pages or a write-ahead log.

The audit trail records the erasure — the columns it matched on, how many rows, which versions, which models —
never the values: the chain stays verifiable and holds nothing that was erased.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from conveyor.core.entities import DatasetVersion, new_id, now
from conveyor.core.errors import BadInputError, first_line
from conveyor.data.datasets import ingest_frame, load_frame
from conveyor.data.profile import profile_frame
from conveyor.store.encrypted_artifacts import EncryptedArtifactStore
from conveyor.store.sql.maintenance import maintenance_of
from conveyor.store.stores import Stores

__all__ = ["ErasureReport", "Predicate", "forget"]


@dataclass(frozen=True)
class Predicate:
    """Which rows to erase: a pandas query (``customer_id == 42``), or any of ``values`` in any of ``columns``."""

    where: str | None = None
    columns: tuple[str, ...] = ()
    values: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.where and not self.values:
            raise BadInputError("Say which rows to erase.", field="where",
                                hint='Pass --where "customer_id == 42", or --value V (matched in data.sensitive '
                                     "columns, or the --column ones).")
        if self.values and not self.columns:
            raise BadInputError("No column to match --value in.", field="column",
                                hint="List the personal columns under data.sensitive in conveyor.yaml, or pass "
                                     "--column NAME.")

    @property
    def names(self) -> list[str]:
        """What the audit may record: the columns matched on (never the values)."""
        return sorted(self.columns) if self.values else ["where"]

    def mask(self, frame: pd.DataFrame, label: str) -> pd.Series | None:
        """The rows of ``frame`` to erase; None where the frame lacks what the predicate reads."""
        if self.values:
            present = [c for c in self.columns if c in frame.columns]
            if not present:
                return None
            wanted = set(self.values)
            hit = pd.Series(False, index=frame.index)
            for column in present:
                hit |= frame[column].map(lambda v: str(v) in wanted).astype(bool)
            return hit
        try:
            chosen = frame.eval(self.where, engine="python")
        except Exception as exc:  # pandas raises many kinds for a missing column or a bad expression
            if isinstance(exc, pd.errors.UndefinedVariableError) or "not defined" in str(exc):
                return None
            raise BadInputError(f"Cannot evaluate {self.where!r} on {label}: {first_line(exc)}", field="where",
                                hint="Write a pandas expression over the dataset's columns.") from None
        if not isinstance(chosen, pd.Series) or chosen.dtype != bool:
            raise BadInputError(f"The expression {self.where!r} does not select rows.", field="where")
        return chosen.fillna(False)


@dataclass
class ErasureReport:
    id: str
    dataset: str
    rows: int = 0
    tombstoned: list[str] = field(default_factory=list)
    new_versions: list[str] = field(default_factory=list)
    models: list[str] = field(default_factory=list)  # trained on erased data: retrain them
    predictions: int = 0
    unchecked: list[str] = field(default_factory=list)  # derived versions lacking the columns: review them
    mode: str = "deleted"

    def as_dict(self) -> dict[str, Any]:
        return {"erasure": self.id, "dataset": self.dataset, "rows": self.rows, "tombstoned": self.tombstoned,
                "new_versions": self.new_versions, "models_trained_on_erased_data": self.models,
                "predictions_deleted": self.predictions, "unchecked": self.unchecked, "mode": self.mode}


def _ref(version: DatasetVersion) -> str:
    return f"{version.name}@{version.version}"


def _affected(stores: Stores, name: str) -> list[DatasetVersion]:
    """Every version of ``name`` and every version derived from one of them, oldest first."""
    everything = stores.datasets.versions()
    chosen = {_ref(v) for v in everything if v.name == name}
    grew = True
    while grew:
        grew = False
        for version in everything:
            if _ref(version) not in chosen and chosen.intersection(version.parents):
                chosen.add(_ref(version))
                grew = True
    return [v for v in everything if _ref(v) in chosen]


def forget(stores: Stores, name: str, predicate: Predicate, *, actor: str) -> ErasureReport:
    """Erase the rows ``predicate`` selects from dataset ``name`` and everything derived from it."""
    stores.datasets.get_version(name)  # unknown name -> NotFoundError with "did you mean"
    report = ErasureReport(new_id(), name)
    erasure_at = now()
    hits: dict[str, tuple[DatasetVersion, pd.DataFrame]] = {}  # ref -> (version, the rows that stay)
    for version in _affected(stores, name):
        if version.meta.get("kind") == "files" or version.meta.get("tombstone"):
            continue
        frame = load_frame(stores, version)
        mask = predicate.mask(frame, version.ref)
        if mask is None:
            report.unchecked.append(version.ref)
            continue
        if mask.any():
            hits[_ref(version)] = (version, frame.loc[~mask])
            if version.name == name:
                report.rows = max(report.rows, int(mask.sum()))
    shredded = {version.artifact: kept for version, kept in hits.values()}
    for version in stores.datasets.versions():  # the same bytes under another name hold the same rows
        if version.artifact in shredded and _ref(version) not in hits and not version.meta.get("tombstone"):
            hits[_ref(version)] = (version, shredded[version.artifact])
    # the newest version of each dataset hit, written again without the rows
    replaced: dict[str, str] = {}
    for dataset in sorted({v.name for v, _ in hits.values()}):
        newest = stores.datasets.get_version(dataset)
        if _ref(newest) not in hits:
            continue
        kept = hits[_ref(newest)][1].reset_index(drop=True)
        fresh, _ = ingest_frame(stores, kept, dataset, source=f"erasure:{report.id}", parents=[_ref(newest)],
                                meta={"operation": {"op": "erase", "erasure": report.id}})
        replaced[dataset] = _ref(fresh)
        report.new_versions.append(fresh.ref)
    maintenance = maintenance_of(stores.datasets, "data forget")
    artifacts = stores.artifacts
    if isinstance(artifacts, EncryptedArtifactStore):
        report.mode = "data key destroyed"
    for _key, (version, kept) in sorted(hits.items()):
        if isinstance(artifacts, EncryptedArtifactStore):
            artifacts.destroy_key(version.artifact)
        artifacts.delete(version.artifact)
        tombstone = {"erasure": report.id, "at": erasure_at, "replaced_by": replaced.get(version.name),
                     "mode": report.mode}
        maintenance.rewrite_dataset_version(version.name, version.version,
                                            profile=profile_frame(kept) if len(kept.columns) else {},
                                            meta={**version.meta, "tombstone": tombstone})
        report.tombstoned.append(version.ref)
    erased_refs = set(hits)
    trained = [m for m in stores.registry.versions() if m.dataset in erased_refs]
    report.models = [m.ref for m in trained]
    report.predictions = _forget_predictions(stores, predicate, {v.name for v, _ in hits.values()})
    maintenance.compact()
    if stores.predictions is not None and getattr(stores.predictions, "db", None) is not maintenance.db:
        maintenance_of(stores.predictions, "data forget").compact()
    details = {k: v for k, v in report.as_dict().items() if k != "dataset"}
    details["matched_on"] = predicate.names
    stores.registry.append_audit(actor, "erase", f"dataset {name}", details)
    return report


def _forget_predictions(stores: Stores, predicate: Predicate, datasets: set[str]) -> int:
    """Delete logged predictions of models trained on ``datasets`` whose inputs match."""
    models = {m.name for m in stores.registry.versions()
              if m.dataset and m.dataset.split("@", 1)[0] in datasets}
    log = maintenance_of(stores.predictions, "data forget")
    rows = log.predictions_of(models)
    if not rows:
        return 0
    inputs = pd.DataFrame([r["inputs"] if isinstance(r["inputs"], dict) else {} for r in rows])
    mask = predicate.mask(inputs, "the prediction log")
    if mask is None:
        return 0
    return log.delete_predictions([r["id"] for r, hit in zip(rows, mask.tolist(), strict=True) if hit])


def erased_lineage(version: DatasetVersion | None) -> dict[str, Any] | None:
    """The tombstone of the version a model was trained on (None when its data is intact)."""
    if version is None:
        return None
    tombstone = version.meta.get("tombstone")
    return dict(tombstone) if isinstance(tombstone, dict) else None

