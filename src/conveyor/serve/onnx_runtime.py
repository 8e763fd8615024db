"""``conveyor serve --runtime onnx``: score through onnxruntime instead of the model's own library.

The version is exported with :func:`conveyor.registry.onnx_export.export_onnx` when it is loaded, checked against
the original on rows of its training dataset (the ``dataset`` it was registered with; up to ``CHECK_ROWS``), and
refused, so the server does not start, when it does not convert or does not agree. Requests then go through
:class:`OnnxPredictor`, which has :class:`conveyor.serve.predictor.Predictor`'s interface, so every endpoint, the
prediction log, micro-batching and hot reload work unchanged. Scoring is the edge runner's own code
(:class:`conveyor.registry.edge_runner.OnnxModel`), so a bundle from ``conveyor deploy edge`` answers the same.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from conveyor.core.errors import BadInputError, ConveyorError, first_line
from conveyor.data.datasets import load_frame, resolve
from conveyor.registry.loaded import LoadedModel
from conveyor.registry.onnx_export import DEFAULT_TOLERANCE, OnnxExport, export_onnx, frame_columns
from conveyor.store import Stores

RUNTIMES = ("sklearn", "native", "onnx")  # sklearn: the model's library, trees compiled where they check out
CHECK_ROWS = 500


def check_runtime(runtime: str) -> str:
    if runtime not in RUNTIMES:
        raise BadInputError(f"Unknown serving runtime {runtime!r}.", field="runtime",
                            hint=f"Use one of {', '.join(RUNTIMES)}.")
    return runtime


def check_rows(stores: Stores, model: LoadedModel, rows: int = CHECK_ROWS) -> pd.DataFrame:
    """Rows of the version's training dataset in its input columns: what the export is checked on."""
    version = model.version
    names = [c["name"] for c in version.signature.get("inputs", [])]
    if not version.dataset:
        raise BadInputError(f"{version.ref} names no training dataset, so its ONNX export cannot be checked.",
                            field="runtime", hint="Register it from `conveyor train` (which records the dataset), "
                                                  "or serve with --runtime sklearn.")
    try:
        frame = load_frame(stores, resolve(stores, version.dataset))
    except ConveyorError as exc:
        raise BadInputError(f"Cannot read {version.dataset}, the rows that check {version.ref}'s ONNX export: "
                            f"{exc}", field="runtime", hint="Serve with --runtime sklearn.") from None
    missing = [n for n in names if n not in frame.columns]
    if missing:
        raise BadInputError(f"{version.dataset} lacks the input column(s) {', '.join(missing)} of {version.ref}.",
                            field="runtime", hint="Serve with --runtime sklearn.")
    return frame[names].head(rows).reset_index(drop=True)


class OnnxPredictor:
    """Predictor's interface over an ONNX export: ``predict_frame`` -> (predictions, probabilities or None)."""

    takes_matrix = False
    native = False
    serving_runtime = "onnx"

    def __init__(self, model: LoadedModel, export: OnnxExport) -> None:
        self.model = model
        self.export = export
        self.runtime = export.runtime()
        self.classifier = model.task == "classification"
        labels = list(model.classes)
        same = labels and (all(isinstance(c, int) and not isinstance(c, bool) for c in labels)
                           or all(isinstance(c, str) for c in labels))
        self.classes = np.asarray(labels) if same else np.asarray(labels, dtype=object)
        self.names = [c["name"] for c in model.version.signature.get("inputs", [])]

    def predict_frame(self, frame: pd.DataFrame, field: str = "inputs") -> tuple[Any, Any]:
        try:
            raw = self.runtime.run(frame_columns(frame[self.names]))
        except (ValueError, TypeError, KeyError) as exc:
            raise BadInputError(f"The model could not score this input: {first_line(exc)}", field=field) from None
        if not self.classifier:
            return raw.reshape(-1), None
        if raw.ndim == 1 or raw.shape[1] == 1:
            raw = np.column_stack([1 - raw.reshape(-1), raw.reshape(-1)])
        return self.classes[raw.argmax(axis=1)], raw

    def predict_matrix(self, matrix: np.ndarray) -> tuple[Any, Any]:
        return self.predict_frame(pd.DataFrame(matrix, columns=self.names))

    def contributions(self, matrix: np.ndarray) -> np.ndarray | None:
        return None

    def features(self, frame: pd.DataFrame) -> tuple[np.ndarray, list[str]] | None:
        return None


def onnx_predictor(stores: Stores, model: LoadedModel, *, tolerance: float = DEFAULT_TOLERANCE,
                   check: pd.DataFrame | None = None) -> OnnxPredictor:
    """The ONNX predictor of a loaded version, exported (once) and checked on ``check`` or its training rows."""
    rows = check if check is not None else check_rows(stores, model)
    return OnnxPredictor(model, export_onnx(stores, model, rows, tolerance=tolerance))
