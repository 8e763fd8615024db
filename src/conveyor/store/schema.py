"""The tables of the SQL metadata store as they are at the newest migration (queries use these)."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

dataset_versions = sa.Table(
    "dataset_versions", metadata,
    sa.Column("name", sa.String(128), primary_key=True),
    sa.Column("version", sa.String(64), primary_key=True),
    sa.Column("artifact", sa.String(64), nullable=False),
    sa.Column("rows", sa.BigInteger, nullable=False),
    sa.Column("columns", sa.JSON, nullable=False),
    sa.Column("profile", sa.JSON, nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False, index=True),
    sa.Column("parents", sa.JSON, nullable=False),
    sa.Column("meta", sa.JSON, nullable=False),
)

runs = sa.Table(
    "runs", metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("name", sa.String(256), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("started_at", sa.Float, nullable=False, index=True),
    sa.Column("ended_at", sa.Float),
    sa.Column("dataset", sa.String(256), index=True),
    sa.Column("experiment", sa.String(32), index=True),  # migration 0016
)

run_params = sa.Table(
    "run_params", metadata,
    sa.Column("run_id", sa.String(32), sa.ForeignKey("runs.id"), primary_key=True),
    sa.Column("key", sa.String(256), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

run_tags = sa.Table(
    "run_tags", metadata,
    sa.Column("run_id", sa.String(32), sa.ForeignKey("runs.id"), primary_key=True),
    sa.Column("key", sa.String(256), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

run_artifacts = sa.Table(
    "run_artifacts", metadata,
    sa.Column("run_id", sa.String(32), sa.ForeignKey("runs.id"), primary_key=True),
    sa.Column("name", sa.String(256), primary_key=True),
    sa.Column("digest", sa.String(64), nullable=False),
)

metric_history = sa.Table(
    "metric_history", metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.String(32), sa.ForeignKey("runs.id"), nullable=False),
    sa.Column("key", sa.String(256), nullable=False),
    sa.Column("value", sa.Float, nullable=False),
    sa.Column("step", sa.BigInteger, nullable=False),
    sa.Column("timestamp", sa.Float, nullable=False),
    sa.Index("ix_metric_history_run_key", "run_id", "key"),
)

latest_metrics = sa.Table(
    "latest_metrics", metadata,
    sa.Column("run_id", sa.String(32), sa.ForeignKey("runs.id"), primary_key=True),
    sa.Column("key", sa.String(256), primary_key=True),
    sa.Column("value", sa.Float, nullable=False),
    sa.Column("step", sa.BigInteger, nullable=False),
    sa.Index("ix_latest_metrics_key_value", "key", "value"),
)

model_versions = sa.Table(
    "model_versions", metadata,
    sa.Column("name", sa.String(128), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("artifact", sa.String(64), nullable=False),
    sa.Column("flavor", sa.String(32), nullable=False),
    sa.Column("run_id", sa.String(32)),
    sa.Column("dataset", sa.String(256)),
    sa.Column("signature", sa.JSON, nullable=False),
    sa.Column("metrics", sa.JSON, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("meta", sa.JSON, nullable=False),
    sa.Index("ix_model_versions_run_id", "run_id"),
)

aliases = sa.Table(
    "aliases", metadata,
    sa.Column("model", sa.String(128), primary_key=True),
    sa.Column("alias", sa.String(128), primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
)

alias_history = sa.Table(
    "alias_history", metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("model", sa.String(128), nullable=False),
    sa.Column("alias", sa.String(128), nullable=False),
    sa.Column("version", sa.Integer),
    sa.Column("previous", sa.Integer),
    sa.Column("at", sa.Float, nullable=False),
    sa.Index("ix_alias_history_model_alias", "model", "alias"),
)

audit = sa.Table(
    "audit", metadata,
    sa.Column("seq", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=False),
    sa.Column("at", sa.Float, nullable=False),
    sa.Column("actor", sa.String(256), nullable=False),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("subject", sa.String(512), nullable=False),
    sa.Column("details", sa.JSON, nullable=False),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.Column("keyed", sa.Boolean, nullable=False, server_default=sa.false()),  # HMAC with security.audit.key_file
)

predictions = sa.Table(
    "predictions", metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("model", sa.String(160), nullable=False),
    sa.Column("model_name", sa.String(128), nullable=False),
    sa.Column("at", sa.Float, nullable=False),
    sa.Column("latency_ms", sa.Float, nullable=False),
    sa.Column("inputs", sa.JSON, nullable=False),
    sa.Column("outputs", sa.JSON, nullable=False),
    sa.Column("label", sa.JSON),
    sa.Column("labeled_at", sa.Float),
    # migration 0004: which model answered, and the request it belongs to
    sa.Column("role", sa.String(16), nullable=False, server_default="primary"),
    sa.Column("request_id", sa.String(64)),
    sa.Index("ix_predictions_model_name_at", "model_name", "at"),
)

# migration 0005: monitoring and the agent's job leases
reference_stats = sa.Table(
    "reference_stats", metadata,
    sa.Column("model", sa.String(160), primary_key=True),
    sa.Column("stats", sa.JSON, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
)

monitor_samples = sa.Table(
    "monitor_samples", metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("subject", sa.String(256), nullable=False),
    sa.Column("series", sa.String(256), nullable=False),
    sa.Column("value", sa.Float, nullable=False),
    sa.Column("at", sa.Float, nullable=False),
    sa.Index("ix_monitor_samples_subject_at", "subject", "at"),
)

alerts = sa.Table(
    "alerts", metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("rule", sa.String(128), nullable=False),
    sa.Column("subject", sa.String(256), nullable=False),
    sa.Column("signal", sa.String(128), nullable=False),
    sa.Column("value", sa.Float, nullable=False),
    sa.Column("threshold", sa.Float, nullable=False),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("fired_at", sa.Float, nullable=False, index=True),
    sa.Column("last_seen_at", sa.Float, nullable=False),
    sa.Column("count", sa.Integer, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("acked_by", sa.String(256)),
    sa.Column("acked_at", sa.Float),
    sa.Column("notified", sa.JSON, nullable=False),
    sa.Column("notify_errors", sa.JSON),
)

agent_jobs = sa.Table(
    "agent_jobs", metadata,
    sa.Column("key", sa.String(512), primary_key=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("holder", sa.String(256), nullable=False),
    sa.Column("heartbeat_at", sa.Float, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("result", sa.JSON, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
)

identities = sa.Table(
    "identities", metadata,
    sa.Column("name", sa.String(128), primary_key=True),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("created_by", sa.String(256), nullable=False),
    sa.Column("revoked_at", sa.Float),
)

api_tokens = sa.Table(
    "api_tokens", metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("identity", sa.String(128), nullable=False, index=True),
    sa.Column("hash", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("expires_at", sa.Float),
    sa.Column("revoked_at", sa.Float),
    sa.Column("description", sa.String(256), nullable=False),
)

grants = sa.Table(
    "grants", metadata,
    sa.Column("identity", sa.String(128), primary_key=True),
    sa.Column("kind", sa.String(16), primary_key=True),
    sa.Column("name", sa.String(128), primary_key=True),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
)

# migration 0009: promotions waiting for an approval
approval_requests = sa.Table(
    "approval_requests", metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("model", sa.String(128), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("environment", sa.String(128), nullable=False),
    sa.Column("requester", sa.String(256), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("details", sa.JSON, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("decided_by", sa.String(256)),
    sa.Column("decided_at", sa.Float),
    sa.Column("decision_reason", sa.Text, nullable=False),
    sa.Index("ix_approval_requests_status_created", "status", "created_at"),
)

# migration 0010: feature view versions
feature_view_versions = sa.Table(
    "feature_view_versions", metadata,
    sa.Column("seq", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("view", sa.String(128), nullable=False),
    sa.Column("version", sa.String(64), nullable=False),
    sa.Column("definition_hash", sa.String(64), nullable=False),
    sa.Column("source", sa.String(256), nullable=False),
    sa.Column("definition", sa.JSON, nullable=False),
    sa.Column("origin", sa.String(512), nullable=False),
    sa.Column("applied_at", sa.Float, nullable=False),
    sa.Column("materialized", sa.JSON, nullable=False),
    sa.Column("previous", sa.BigInteger, nullable=False),  # the seq of the view's row before (0: none)
    sa.Index("ix_feature_view_versions_view_seq", "view", "seq"),
    sa.UniqueConstraint("view", "previous", name="uq_feature_view_versions_view_previous"),
)

# migration 0011: pipeline runs and their steps
pipeline_runs = sa.Table(
    "pipeline_runs", metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("pipeline", sa.String(128), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("trigger", sa.String(256), nullable=False),
    sa.Column("params", sa.JSON, nullable=False),
    sa.Column("dag", sa.JSON, nullable=False),
    sa.Column("started_at", sa.Float, nullable=False),
    sa.Column("ended_at", sa.Float),
    sa.Column("error", sa.Text),
    sa.Column("outputs", sa.JSON, nullable=False),
    sa.Index("ix_pipeline_runs_pipeline_started", "pipeline", "started_at"),
)

pipeline_steps = sa.Table(
    "pipeline_steps", metadata,
    sa.Column("run_id", sa.String(32), sa.ForeignKey("pipeline_runs.id"), primary_key=True),
    sa.Column("step", sa.String(128), primary_key=True),
    sa.Column("pipeline", sa.String(128), nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("cache_key", sa.String(64), nullable=False),
    sa.Column("cached", sa.Boolean, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("started_at", sa.Float),
    sa.Column("ended_at", sa.Float),
    sa.Column("inputs", sa.JSON, nullable=False),
    sa.Column("outputs", sa.JSON, nullable=False),
    sa.Column("error", sa.Text),
    sa.Index("ix_pipeline_steps_cache", "pipeline", "step", "cache_key"),
)

# migration 0016: experiments (MLflow clients group runs by them; runs.experiment holds the id)
experiments = sa.Table(
    "experiments", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("name", sa.String(256), nullable=False, unique=True),
    sa.Column("artifact_location", sa.Text, nullable=False),
    sa.Column("lifecycle", sa.String(16), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("tags", sa.JSON, nullable=False),
)

# migration 0020: stored connections (source credentials, sealed)
connections = sa.Table(
    "connections", metadata,
    sa.Column("name", sa.String(128), primary_key=True),
    sa.Column("sealed", sa.Text, nullable=False),
    sa.Column("display", sa.Text, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
    sa.Column("actor", sa.String(256), nullable=False),
)

# migration 0021: what MLflow clients keep about registered models (version 0) and versions
model_notes = sa.Table(
    "model_notes", metadata,
    sa.Column("name", sa.String(128), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),  # 0: the registered model itself
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("tags", sa.JSON, nullable=False),
    sa.Column("deleted", sa.Boolean, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
)
