"""Tracked runs for the user's own training code: params, metrics with steps, artifacts, and models.

    with tracker.start_run(dataset=ds) as run:
        run.log_params({"C": 0.5}); run.log_metric("auc", 0.91, step=3)
        run.log_model(model, name="churn", input_example=X[:5])
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from conveyor.core.artifact_bytes import artifact_bytes
from conveyor.core.entities import DatasetVersion, Metric, ModelVersion, Run, new_id, now
from conveyor.core.environment import environment_tags
from conveyor.core.numbers import finite_number
from conveyor.registry.models import build_signature, register_package
from conveyor.registry.packaging import detect_flavor, dump_model
from conveyor.store import Stores


class ActiveRun:
    """A run being recorded. Leaving the ``with`` block ends it as finished, or as failed on an exception."""

    def __init__(self, stores: Stores, run: Run) -> None:
        self.stores = stores
        self.run = run

    @property
    def id(self) -> str:
        return self.run.id

    def log_param(self, key: str, value: Any) -> None:
        self.stores.runs.log_params(self.id, {key: value})

    def log_params(self, params: dict[str, Any]) -> None:
        self.stores.runs.log_params(self.id, params)

    def set_tags(self, tags: dict[str, Any]) -> None:
        self.stores.runs.set_tags(self.id, {k: str(v) for k, v in tags.items()})

    def log_metric(self, key: str, value: float, step: int = 0) -> None:
        self.stores.runs.log_metrics(self.id, [Metric(key, finite_number(key, value), int(step))])

    def log_metrics(self, metrics: dict[str, float], step: int = 0) -> None:
        stamp = now()
        self.stores.runs.log_metrics(self.id, [Metric(k, finite_number(k, v), int(step), stamp)
                                                   for k, v in metrics.items()])

    def log_batch(self, metrics: list[tuple[str, float, int]]) -> None:
        """Many (key, value, step) triples in one transaction."""
        stamp = now()
        checked = [Metric(k, finite_number(k, v), int(s), stamp) for k, v, s in metrics]
        self.stores.runs.log_metrics(self.id, checked)

    def log_artifact(self, name: str, data: bytes | str | Path | dict) -> str:
        payload = artifact_bytes(data)
        digest = self.stores.artifacts.put_bytes(payload)
        self.stores.runs.add_artifact(self.id, name, digest)
        return digest

    def log_model(self, model: Any, name: str, *, input_example: pd.DataFrame | None = None,
                  signature: dict[str, Any] | None = None, metrics: dict[str, float] | None = None,
                  meta: dict[str, Any] | None = None, package: bytes | None = None) -> ModelVersion:
        """``package``: the model's bytes as ``dump_model`` wrote them, when the caller already has them (the
        trainer sizes the model with them): it is not serialized again."""
        flavor = detect_flavor(model)
        signature = signature or build_signature(model, flavor, input_example)
        latest = self.stores.runs.get(self.id).metrics
        version = register_package(self.stores, package if package is not None else dump_model(model, flavor), name,
                                   flavor=flavor, signature=signature, run_id=self.id, dataset=self.run.dataset,
                                   metrics=metrics if metrics is not None else latest, meta=meta)
        self.set_tags({"model_version": version.ref})
        return version

    def __enter__(self) -> ActiveRun:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.stores.runs.end(self.id, "failed" if exc_type else "finished")
        if exc_type is not None:
            self.set_tags({"error": f"{exc_type.__name__}: {exc}"[:500]})


def start_run(stores: Stores, *, name: str | None = None, dataset: DatasetVersion | str | None = None,
              project_root: Path | None = None, tags: dict[str, Any] | None = None,
              environment: dict[str, str] | None = None) -> ActiveRun:
    """``environment``: the :func:`environment_tags` of ``project_root`` when the caller already has them (the
    trainer reads them while its search runs: listing the installed packages takes 0.3 s)."""
    dataset_ref = f"{dataset.name}@{dataset.version}" if isinstance(dataset, DatasetVersion) else dataset
    run = Run(id=new_id(), name=name or f"run-{now():.0f}", dataset=dataset_ref)
    environment = environment if environment is not None else environment_tags(project_root or Path.cwd())
    run.tags = {k: str(v) for k, v in {**environment, **(tags or {})}.items()}
    stores.runs.create(run)
    return ActiveRun(stores, run)
