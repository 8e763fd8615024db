"""Monitor a model version: drift of new data (a dataset version, or a window of logged predictions by count or
time) against reference statistics stored once per model version, prediction drift, multivariate drift, data
quality, and live performance from feedback labels with confidence intervals and concept-drift detection."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from conveyor.core.entities import ModelVersion, PredictionRecord, Sample, now
from conveyor.core.errors import BadInputError, first_line
from conveyor.core.refs import DatasetRef
from conveyor.data.datasets import load_frame
from conveyor.evaluate.metrics import evaluate_model
from conveyor.monitor.checks import data_quality, prediction_drift
from conveyor.monitor.multivariate import domain_classifier
from conveyor.monitor.performance import live_performance
from conveyor.monitor.reference import PREDICTION, SAMPLE_ROWS, build_reference
from conveyor.registry.models import load_model
from conveyor.stats import ColumnDrift, DriftPolicy, DriftReport, compare
from conveyor.store import Stores

# the reference's predictions are of the rows its sample keeps (the same draw): 2,000 rows place a histogram's
# bins to within a few percent, and 5,000 cost 1.2 s of a 10 s training budget on a 30-class model
PREDICTION_SAMPLE = SAMPLE_ROWS


@dataclass
class MonitorReport:
    model: str
    reference: str
    current: str
    drift: DriftReport
    performance: dict[str, Any] = field(default_factory=dict)
    reference_profile: dict[str, Any] = field(default_factory=dict, repr=False)
    current_frame: pd.DataFrame | None = field(default=None, repr=False)  # kept for the HTML report
    prediction: ColumnDrift | None = None
    multivariate: dict[str, Any] | None = None
    quality: dict[str, Any] = field(default_factory=dict)
    at: float = field(default_factory=now)

    def to_dict(self) -> dict[str, Any]:
        prediction = self.prediction.to_dict() if self.prediction is not None else None
        return {"model": self.model, "reference": self.reference, "current": self.current,
                **self.drift.to_dict(), "prediction_drift": prediction, "multivariate": self.multivariate,
                "quality": self.quality, "performance": self.performance}

    def samples(self) -> list[Sample]:
        """This check as time-series points: drift scores, quality and live metrics."""
        points = [Sample(self.model, "drift.share", self.drift.share_drifted, self.at)]
        points += [Sample(self.model, f"drift.{c.column}", c.score, self.at) for c in self.drift.columns]
        if self.prediction is not None:
            points.append(Sample(self.model, "drift.prediction", self.prediction.score, self.at))
        if self.multivariate and self.multivariate.get("auc") is not None:
            points.append(Sample(self.model, "drift.multivariate_auc", self.multivariate["auc"], self.at))
        for key in ("missing_rate_max", "out_of_range_max", "unseen_max"):
            if key in self.quality:
                points.append(Sample(self.model, f"quality.{key}", self.quality[key], self.at))
        for key, value in self.performance.items():
            if isinstance(value, int | float) and not isinstance(value, bool) and key != "labelled":
                points.append(Sample(self.model, f"live.{key}", float(value), self.at))
            elif key.endswith("_ci95") and isinstance(value, list | tuple) and len(value) == 2:
                metric = key[: -len("_ci95")]  # the interval's bounds, so a chart can draw the band over time
                points += [Sample(self.model, f"live.{metric}_low", float(value[0]), self.at),
                           Sample(self.model, f"live.{metric}_high", float(value[1]), self.at)]
        return points


def reference_stats(stores: Stores, model: ModelVersion, *, frame: pd.DataFrame | None = None,
                    predict: Callable[[pd.DataFrame], Any] | None = None) -> dict[str, Any]:
    """The model version's reference statistics: read when stored, else computed from its training data once.
    ``frame`` (the rows of its training dataset version) and ``predict`` (the fitted model's own predict) spare
    reading them back from the stores, as training does right after registering the version: inside its budget."""
    stored = stores.monitoring.get_reference_stats(model.ref)
    if stored is not None:
        return stored
    if not model.dataset:
        raise BadInputError(f"Model {model.ref} records no training dataset, so there is no reference to compare.",
                            field="model", hint="Import it with --data NAME@VERSION to record one.")
    ref = DatasetRef.parse(model.dataset)
    version = stores.datasets.get_version(ref.name, ref.version)
    if frame is None:
        frame = load_frame(stores, version)
    inputs = [c["name"] for c in model.signature.get("inputs", []) if c["name"] in frame.columns]
    predictions = None
    try:
        task = model.signature.get("task")
        if predict is None:
            loaded = load_model(stores, model)
            predict, task = loaded.predict, loaded.task
        sample = frame[inputs].sample(n=min(PREDICTION_SAMPLE, len(frame)), random_state=0)
        raw = np.asarray(predict(sample))
        predictions = (pd.Series(raw, dtype=float) if task != "classification"
                       else pd.Series([str(v) for v in raw], dtype=object))
    except (ValueError, TypeError, KeyError):  # a model that cannot score its own data: no prediction drift
        predictions = None
    stats = build_reference(frame, inputs or list(frame.columns), dataset=version.ref, predictions=predictions)
    return stores.monitoring.put_reference_stats(model.ref, stats)


def window_frame(stores: Stores, model: ModelVersion, window: int | None = None,
                 since: float | None = None) -> tuple[pd.DataFrame, list[PredictionRecord]]:
    """The inputs of this model version's logged predictions: the last ``window`` ones and/or those made in the
    last ``since`` seconds; and their records (newest first)."""
    if window is not None and window < 1:
        raise BadInputError(f"Window must be at least 1, got {window}.", field="window")
    if since is not None and since <= 0:
        raise BadInputError(f"The time window must be positive, got {since}.", field="since")
    records = stores.predictions.recent(model.name, limit=None if since else window,
                                               model_version=model.ref)
    if since is not None:
        cutoff = now() - since
        records = [r for r in records if r.at >= cutoff][:window]
    if not records:
        raise BadInputError(f"No logged predictions for model {model.ref} in this window yet.", field="window",
                            hint="Serve the model and send requests, or compare a dataset with --current.")
    return pd.DataFrame([r.inputs for r in records]), records


def labelled_performance(stores: Stores, model: ModelVersion, current: pd.DataFrame) -> dict[str, Any]:
    """When new data carries the target, how the model scores on it: the decay that drift only hints at."""
    target = model.signature.get("target")
    inputs = [c["name"] for c in model.signature.get("inputs", [])]
    if not target or target not in current.columns or any(c not in current.columns for c in inputs):
        return {}
    labelled = current[current[target].notna()]
    if labelled.empty:
        return {"labelled": 0}
    loaded = load_model(stores, model)
    try:
        metrics = evaluate_model(loaded, labelled[[*inputs, target]], target, loaded.task, loaded.classes)
    except (ValueError, TypeError) as exc:  # labels the model cannot be scored against, e.g. unseen classes
        return {"labelled": len(labelled), "error": first_line(exc)}
    return {"labelled": len(labelled), **metrics}


def monitor_frame(stores: Stores, model: ModelVersion, current: pd.DataFrame, current_label: str,
                  records: list[PredictionRecord] | None = None, *, multivariate: bool = False,
                  policy: DriftPolicy = DriftPolicy()) -> MonitorReport:
    """Drift (judged by ``policy``), prediction drift, data quality,
    performance and, when asked, multivariate drift of ``current`` against the model version's reference."""
    stats = reference_stats(stores, model)
    columns = [c["name"] for c in model.signature.get("inputs", []) if c["name"] in stats["columns"]]
    columns = columns or [c for c in stats["columns"] if c != PREDICTION]
    report = compare(stats, current, columns, policy=policy)
    prediction = None
    if records is not None:
        outputs = [r.outputs.get("prediction") for r in records if isinstance(r.outputs, dict)]
        values = pd.Series([v for v in outputs if v is not None])
        if model.signature.get("task") == "classification":
            values = values.astype(str).astype(object)
        prediction = prediction_drift(stats, values, policy=policy)
        performance = live_performance(model.signature.get("task", "regression"), records)
    else:
        performance = labelled_performance(stores, model, current)
    mv = None
    if multivariate:
        mv = domain_classifier(stats, current, columns, sample_rows=SAMPLE_ROWS)
    quality = data_quality(stats, current, columns)
    return MonitorReport(model.ref, stats.get("dataset", ""), current_label, report, performance, stats, current,
                         prediction, mv, quality)
