"""Batch scoring, file to file: the input rows plus `prediction` and, for classifiers, `proba_<class>` columns."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from conveyor.core.errors import BadInputError
from conveyor.data.readers import read_file
from conveyor.registry.loaded import LoadedModel
from conveyor.registry.models import load_model
from conveyor.serve.conform import conform
from conveyor.serve.predictor import Predictor
from conveyor.store import Stores

WRITERS = {".csv", ".parquet", ".pq"}


def score_frame(model: LoadedModel, frame: pd.DataFrame) -> pd.DataFrame:
    """Checked and cast against the signature exactly as the server does, so a file and a request that hold the
    same rows get the same answers (and the same error messages)."""
    features = conform(frame, model.version.signature.get("inputs", []), max_rows=max(len(frame), 1)).frame
    predictions, proba = Predictor(model).predict_frame(features, field="INPUT")
    out = frame.copy()
    out["prediction"] = predictions
    if proba is not None:
        for index, cls in enumerate(model.classes):
            out[f"proba_{cls}"] = proba[:, index]
    return out


def score_file(stores: Stores, ref: str, input_path: Path, output_path: Path) -> dict[str, Any]:
    output_path = Path(output_path)
    suffix = output_path.suffix.lower()
    if suffix not in WRITERS:
        raise BadInputError(f"Cannot write {output_path.name}: unknown extension {suffix!r}.", field="OUTPUT",
                            hint="Use .csv or .parquet.")
    if not output_path.parent.is_dir():
        raise BadInputError(f"Cannot write {output_path}: folder {output_path.parent} does not exist.",
                            field="OUTPUT", hint="Create the folder first or choose another path.")
    model = load_model(stores, ref)
    scored = score_frame(model, read_file(input_path))
    tmp = output_path.with_name(f".{output_path.name}.tmp")
    if suffix == ".csv":
        scored.to_csv(tmp, index=False)
    else:
        scored.to_parquet(tmp, index=False)
    tmp.replace(output_path)  # a crash never leaves a half-written output under the real name
    return {"model_version": model.version.ref, "rows": len(scored), "output": str(output_path)}
