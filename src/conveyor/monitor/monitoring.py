"""Monitor a model version: drift of new data — a dataset version or a window of logged predictions —
against the profile of the data the model was trained on, plus live accuracy where labels came back."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from conveyor.core.entities import ModelVersion
from conveyor.core.errors import BadInputError, first_line
from conveyor.core.refs import DatasetRef
from conveyor.evaluate.metrics import evaluate_model
from conveyor.monitor.drift import DriftReport, detect_drift
from conveyor.registry.models import load_model
from conveyor.store import Stores


@dataclass
class MonitorReport:
    model: str
    reference: str
    current: str
    drift: DriftReport
    performance: dict[str, Any] = field(default_factory=dict)
    reference_profile: dict[str, Any] = field(default_factory=dict, repr=False)
    current_frame: pd.DataFrame | None = field(default=None, repr=False)  # kept for the HTML report
    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "reference": self.reference, "current": self.current,
                **self.drift.to_dict(), "performance": self.performance}


def reference_profile(stores: Stores, model: ModelVersion) -> tuple[str, dict[str, Any]]:
    if not model.dataset:
        raise BadInputError(f"Model {model.ref} records no training dataset, so there is no reference to compare.",
                            field="model", hint="Import it with --data NAME@VERSION to record one.")
    ref = DatasetRef.parse(model.dataset)
    version = stores.metadata.get_dataset_version(ref.name, ref.version)
    return version.ref, version.profile


def window_frame(stores: Stores, model: ModelVersion, window: int) -> tuple[pd.DataFrame, list]:
    """The inputs of the last ``window`` predictions this model version made, and their records."""
    if window < 1:
        raise BadInputError(f"Window must be at least 1, got {window}.", field="window")
    records = stores.metadata.list_predictions(model.name, limit=window, model_version=model.ref)
    if not records:
        raise BadInputError(f"No logged predictions for model {model.ref} yet.", field="window",
                            hint="Serve the model and send requests, or compare a dataset with --current.")
    return pd.DataFrame([r.inputs for r in records]), records


def live_performance(model: ModelVersion, records: list) -> dict[str, Any]:
    labelled = [r for r in records if r.label is not None]
    if not labelled:
        return {"labelled": 0}
    predicted = np.asarray([r.outputs.get("prediction") for r in labelled], dtype=object)
    truth = np.asarray([r.label for r in labelled], dtype=object)
    if model.signature.get("task") == "classification":
        hits = np.asarray([str(p) == str(t) for p, t in zip(predicted, truth, strict=True)])
        accuracy = float(hits.mean())
        half_width = 1.96 * float(np.sqrt(accuracy * (1 - accuracy) / len(hits)))
        return {"labelled": len(hits), "accuracy": accuracy, "accuracy_ci95": [accuracy - half_width,
                                                                                accuracy + half_width]}
    errors = predicted.astype(float) - truth.astype(float)
    return {"labelled": len(errors), "rmse": float(np.sqrt(np.mean(errors**2))), "mae": float(np.mean(abs(errors)))}


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
                  records: list | None = None) -> MonitorReport:
    reference, profile = reference_profile(stores, model)
    columns = [c["name"] for c in model.signature.get("inputs", []) if c["name"] in profile.get("columns", {})]
    report = detect_drift(profile, current, columns=columns or None)
    if records is not None:
        performance = live_performance(model, records)
    else:
        performance = labelled_performance(stores, model, current)
    return MonitorReport(model.ref, reference, current_label, report, performance, profile, current)
