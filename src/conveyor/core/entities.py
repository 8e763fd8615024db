"""The records every layer passes around. Plain dataclasses: no behaviour that needs other layers."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any


def new_id() -> str:
    return uuid.uuid4().hex


def now() -> float:
    return time.time()


@dataclass
class DatasetVersion:
    """One immutable version of a dataset. ``version`` is the content hash of the stored Parquet bytes."""

    name: str
    version: str
    artifact: str  # digest in the artifact store
    rows: int
    columns: list[dict[str, Any]]  # [{"name", "dtype", "kind"}]; kind: numeric | categorical | datetime | bool
    profile: dict[str, Any]  # per column statistics, see conveyor.data.profile
    source: str
    created_at: float = field(default_factory=now)
    parents: list[str] = field(default_factory=list)  # "NAME@VERSION" of the versions it was derived from
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version[:12]}"

    @property
    def column_names(self) -> list[str]:
        return [c["name"] for c in self.columns]


@dataclass
class Metric:
    key: str
    value: float
    step: int = 0
    timestamp: float = field(default_factory=now)


@dataclass
class Run:
    id: str
    name: str
    status: str = "running"  # running | finished | failed
    started_at: float = field(default_factory=now)
    ended_at: float | None = None
    dataset: str | None = None  # "NAME@VERSION"
    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)  # latest value per key
    tags: dict[str, str] = field(default_factory=dict)
    artifacts: dict[str, str] = field(default_factory=dict)  # name -> digest
    experiment: str | None = None  # the id of the experiment it was logged under (MLflow clients)


@dataclass
class Experiment:
    """A named group of runs, as MLflow clients create them (ids are decimal strings; "0" is "Default")."""

    id: str
    name: str
    artifact_location: str = ""
    lifecycle: str = "active"  # active | deleted
    created_at: float = field(default_factory=now)
    tags: dict[str, str] = field(default_factory=dict)


@dataclass
class ModelVersion:
    name: str
    version: int
    artifact: str  # digest of the model package
    flavor: str  # sklearn | lightgbm | xgboost
    run_id: str | None
    dataset: str | None  # "NAME@VERSION" it was trained on
    signature: dict[str, Any]  # {"inputs": [{"name", "dtype", "kind"}], "task", "classes", "target"}
    metrics: dict[str, float] = field(default_factory=dict)
    created_at: float = field(default_factory=now)
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def ref(self) -> str:
        return f"{self.name}:{self.version}"


@dataclass
class AliasChange:
    model: str
    alias: str
    version: int | None  # None when the alias was removed
    previous: int | None
    at: float = field(default_factory=now)


@dataclass
class ModelNote:
    """What MLflow clients keep about a registered model (``version`` 0) or one of its versions: a description, tags,
    and whether a client deleted it (Conveyor keeps the version, its lineage and audit rows; MLflow clients no longer
    see it)."""

    name: str
    version: int  # 0: the registered model itself
    description: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    deleted: bool = False
    updated_at: float = field(default_factory=now)


@dataclass(frozen=True)
class AuditNote:
    """What to write to the audit trail in the same transaction as a registry change; the store fills in the
    subject (``MODEL:N`` or ``MODEL@ALIAS``) and, for alias changes, the new and previous versions."""

    actor: str
    action: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class AuditEntry:
    seq: int
    at: float
    actor: str
    action: str
    subject: str
    details: dict[str, Any]
    prev_hash: str
    hash: str
    keyed: bool = False  # hash is an HMAC with security.audit.key_file, not a plain BLAKE3


@dataclass
class PredictionRecord:
    id: str
    model: str  # "MODEL:N"
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    at: float = field(default_factory=now)
    latency_ms: float = 0.0
    label: Any = None
    labeled_at: float | None = None
    # --- serve ---
    role: str = "primary"  # which model answered: primary (the served alias), canary, or shadow (not returned)
    request_id: str | None = None  # shared by the rows of one request and by its shadow's records


# --- monitor ---
@dataclass
class Sample:
    """One point of a monitoring time series: resources of a process, a drift score, a live metric.

    ``subject`` names what was measured ("churn:3", "serve:4242", "train:<run id>"), ``series`` what of it
    ("cpu_percent", "drift.share", "live.accuracy").
    """

    subject: str
    series: str
    value: float
    at: float = field(default_factory=now)


@dataclass
class Alert:
    """A fired alert rule. One row per (rule, subject) episode: repeats while open raise ``count``.

    ``notified`` names the notifiers that delivered it; ``notify_errors`` maps each one that did not to why."""

    id: str
    rule: str
    subject: str
    signal: str
    value: float
    threshold: float
    message: str
    fired_at: float = field(default_factory=now)
    last_seen_at: float = field(default_factory=now)
    count: int = 1
    status: str = "open"  # open | acked
    acked_by: str | None = None
    acked_at: float | None = None
    notified: list[str] = field(default_factory=list)
    notify_errors: dict[str, str] = field(default_factory=dict)


@dataclass
class AgentJob:
    """A unit of the retraining agent's work keyed by what triggered it, so it runs (and promotes) at most once.

    ``holder`` owns it while ``status`` is "running" and its heartbeat is fresh; a crashed holder's job is taken
    over once the heartbeat is older than the lease.
    """

    key: str
    status: str  # running | done | failed | watching
    holder: str
    heartbeat_at: float
    attempts: int = 1
    result: dict[str, Any] = field(default_factory=dict)
    created_at: float = field(default_factory=now)


@dataclass
class ApprovalRequest:
    """A promotion waiting for another user's approval: ``MODEL:VERSION`` into ``environment`` (an alias), asked
    by ``requester``; ``status`` is pending, then approved or rejected by ``decided_by``."""

    id: str
    model: str
    version: int
    environment: str
    requester: str
    status: str = "pending"  # pending | approved | rejected
    reason: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    created_at: float = field(default_factory=now)
    decided_by: str | None = None
    decided_at: float | None = None
    decision_reason: str = ""

    @property
    def ref(self) -> str:
        return f"{self.model}:{self.version}"
