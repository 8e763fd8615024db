"""What an environment's gates measure beyond the registry (:class:`conveyor.registry.environment_gates.GateMeasures`):
two versions scored on the same held-out rows of the newest data, and a version's single-row latency. The project
builds one for every promotion (`conveyor models promote`, the REST API, the agent) and `conveyor check` compares
with it, so a gate and a check measure the same thing the same way."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from conveyor.core.entities import ModelVersion
from conveyor.core.errors import BadInputError
from conveyor.core.refs import DatasetRef
from conveyor.registry.environment_gates import NewestScores
from conveyor.store import Stores

__all__ = ["LATENCY_ROWS", "DataMeasures"]

LATENCY_ROWS = 50  # single-row predictions timed for a latency budget (after one warm-up call)


@dataclass
class DataMeasures:
    """Scores and latencies on the newest version of a version's training dataset: the newest
    ``holdout_fraction`` of its rows by ``time_column`` (else a seeded sample), as `conveyor retrain` holds out."""

    stores: Stores
    holdout_fraction: float = 0.2
    time_column: str | None = None
    seed: int = 0
    _holdouts: dict[str, tuple[Any, str]] = field(default_factory=dict, repr=False)

    def holdout(self, version: ModelVersion) -> tuple[Any, str]:
        """(the held-out rows, the dataset version's ref) of the newest data ``version`` was trained on."""
        from conveyor.data.datasets import load_frame  # deferred: pandas/pyarrow
        from conveyor.pipeline.retrain import recent_holdout

        if not version.dataset:
            raise BadInputError(f"{version.ref} records no training dataset to measure it on.", field="model",
                                hint="Gates on the newest data work for models trained by `conveyor train`.")
        name = DatasetRef.parse(version.dataset).name
        if name not in self._holdouts:
            newest = self.stores.datasets.get_version(name, "latest")
            _, rows = recent_holdout(load_frame(self.stores, newest), self.holdout_fraction, self.time_column,
                                     self.seed)
            self._holdouts[name] = (rows, newest.ref)
        return self._holdouts[name]

    def score(self, version: ModelVersion, rows: Any, metric: str) -> float | None:
        from conveyor.evaluate.metrics import evaluate_model  # deferred: scikit-learn
        from conveyor.registry.models import load_model

        target = version.signature.get("target")
        if not target or target not in rows.columns:
            raise BadInputError(f"The newest data has no label column {target!r} to score {version.ref} on.",
                                field="data", hint="Ingest labelled data with the model's target column.")
        loaded = load_model(self.stores, version)
        inputs = [c["name"] for c in version.signature.get("inputs", [])]
        return evaluate_model(loaded, rows[[*inputs, target]], target, loaded.task, loaded.classes).get(metric)

    def newest_scores(self, version: ModelVersion, other: ModelVersion) -> NewestScores:
        rows, data = self.holdout(version)
        metric = version.meta.get("metric") or next(iter(version.metrics), "")
        return NewestScores(metric, self.score(version, rows, metric), self.score(other, rows, metric), len(rows),
                            data)

    def latency_ms(self, version: ModelVersion) -> tuple[float, int, str]:
        import numpy as np

        from conveyor.registry.models import load_model

        rows, data = self.holdout(version)
        loaded = load_model(self.stores, version)
        inputs = [c["name"] for c in version.signature.get("inputs", [])]
        sample = rows[inputs].head(LATENCY_ROWS)
        if sample.empty:
            raise BadInputError(f"{data} holds no rows to time {version.ref} on.", field="data",
                                hint="Ingest data before promoting into an environment with a latency budget.")
        loaded.predict(sample.iloc[:1])  # warm-up: first-call costs are not the model's latency
        timings = []
        for i in range(len(sample)):
            started = time.perf_counter()
            loaded.predict(sample.iloc[i:i + 1])
            timings.append((time.perf_counter() - started) * 1000)
        return float(np.percentile(timings, 95)), len(timings), data
